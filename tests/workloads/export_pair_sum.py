"""Exports a small TorchScript model for tests/workloads/test-torchscript.

The worker's contract (docs/spec.md, TorchScript models): forward(inputs, lengths) with
one-hot inputs [N][4][L] and int64 lengths [N] returns [N][targets]. This one sums a learnt
score of every adjacent base pair over the valid positions, as nearest-neighbour duplex
thermodynamics do. torch.jit.script reads the class's source, so it lives in a file.
"""
import sys

import torch


class PairSum(torch.nn.Module):
    def __init__(self, channels: int, outputs: int):
        super().__init__()
        self.conv = torch.nn.Conv1d(channels, 32, kernel_size=2)
        self.head = torch.nn.Linear(32, outputs)

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.conv(inputs))
        positions = torch.arange(h.size(2), device=h.device).unsqueeze(0)
        valid = (positions < (lengths - 1).unsqueeze(1)).unsqueeze(1).to(h.dtype)
        return self.head((h * valid).sum(2))


if __name__ == "__main__":
    torch.manual_seed(0)
    torch.jit.script(PairSum(4, 1)).save(sys.argv[1])
