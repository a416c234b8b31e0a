#!/usr/bin/python3
"""The Python side of bench/train_throughput: the worker's training loop, step for step, in
PyTorch (Debian's python3-torch, the same Torch release as the worker's LibTorch).

Same data (one-hot [N][4][L], targets standardised on the fitting rows), same network (conv
blocks with batch norm and ReLU, the padding zeroed after each block, sum pooling over the
valid positions, dense layers, one output per target), same masked MSE, same optimiser,
batch size, epochs and thread count; batches are row selections of the pre-encoded tensor,
as in the worker. --layout conv1d (the default) writes the network the idiomatic way
(Conv1d, masked_fill, Linear); --layout channels-last writes it the way the worker runs it.
--model transformer runs the transformer family instead (overlapping k-mer tokens, learned
position embeddings, torch.nn.TransformerEncoder with its defaults: post-norm, ReLU, the
padding masked out of attention, mean pooling over the valid tokens, dense layers): the
idiomatic PyTorch model, tokenised once up front (the worker tokenises each batch inside
forward).
Prints one line: samples/s over the training steps (validation excluded).
"""
import argparse
import csv
import math
import time

import numpy as np
import torch
from torch import nn


def load(path, targets):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    length = max(len(r["sequence"]) for r in rows)
    x = np.zeros((len(rows), 4, length), dtype=np.float32)
    lengths = np.zeros(len(rows), dtype=np.int64)
    y = np.full((len(rows), len(targets)), np.nan, dtype=np.float32)
    for i, r in enumerate(rows):
        s = r["sequence"]
        lengths[i] = len(s)
        for p, letter in enumerate(s):
            x[i, "ACGT".index(letter), p] = 1.0
        for t, name in enumerate(targets):
            if r[name] != "":
                y[i, t] = float(r[name])
    return torch.from_numpy(x), torch.from_numpy(lengths), torch.from_numpy(y)


class ConvNetwork(nn.Module):
    def __init__(self, channels, length, filters, kernel, dense, outputs):
        super().__init__()
        blocks, inputs = [], channels
        for width in filters:
            blocks.append(nn.Sequential(nn.Conv1d(inputs, width, kernel, padding="same", bias=False),
                                        nn.BatchNorm1d(width), nn.ReLU()))
            inputs = width
        self.blocks = nn.ModuleList(blocks)
        layers = []
        for width in dense:
            layers += [nn.Linear(inputs, width), nn.ReLU()]
            inputs = width
        self.dense = nn.Sequential(*layers)
        self.head = nn.Linear(inputs, outputs)
        self.positions = torch.arange(length)

    def forward(self, x, lengths):
        padding = self.positions.unsqueeze(0).ge(lengths.unsqueeze(1)).unsqueeze(1)
        for block in self.blocks:
            x = block(x).masked_fill(padding, 0.0)
        return self.head(self.dense(x.sum(2)))


class ChannelsLastNetwork(nn.Module):
    """The worker's own formulation of the same network (--layout channels-last): 1-D
    convolutions as (1, K) 2-D ones on channels-last tensors, the padding zeroed by a 0/1
    multiply, dense layers as 1x1 convolutions. Same parameters, same arithmetic."""

    def __init__(self, channels, length, filters, kernel, dense, outputs):
        super().__init__()
        blocks, inputs = [], channels
        for width in filters:
            blocks.append(nn.Sequential(nn.Conv2d(inputs, width, (1, kernel), padding=(0, kernel // 2), bias=False),
                                        nn.BatchNorm2d(width), nn.ReLU()))
            inputs = width
        self.blocks = nn.ModuleList(blocks)
        layers = []
        for width in dense:
            layers += [nn.Conv2d(inputs, width, 1), nn.ReLU()]
            inputs = width
        self.dense = nn.Sequential(*layers)
        self.head = nn.Conv2d(inputs, outputs, 1)
        self.positions = torch.arange(length)

    def forward(self, x, lengths):
        keep = self.positions.unsqueeze(0).lt(lengths.unsqueeze(1)).to(x.dtype).view(-1, 1, 1, x.size(2))
        x = x.unsqueeze(2).contiguous(memory_format=torch.channels_last)
        for i, block in enumerate(self.blocks):
            x = block(x)
            last = i + 1 == len(self.blocks)
            x = x * (keep.expand_as(x).contiguous(memory_format=torch.channels_last) if last else keep)
        return self.head(self.dense(x.sum((2, 3), keepdim=True))).flatten(1)


class TransformerNetwork(nn.Module):
    """The worker's transformer (worker/transformer.cpp) written with torch.nn modules."""

    def __init__(self, kmer, length, layers, heads, d_model, ff, dropout, dense, outputs):
        super().__init__()
        self.token_embedding = nn.Embedding(4 ** kmer + 3, d_model)
        nn.init.normal_(self.token_embedding.weight, 0.0, 0.02)
        self.position_embedding = nn.Parameter(torch.randn(max(length - kmer + 1, 1), d_model) * 0.02)
        layer = nn.TransformerEncoderLayer(d_model, heads, ff, dropout, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        head, inputs = [], d_model
        for width in dense:
            head += [nn.Linear(inputs, width), nn.ReLU(), nn.Dropout(dropout)]
            inputs = width
        self.dense = nn.Sequential(*head)
        self.head = nn.Linear(inputs, outputs)

    def forward(self, tokens, valid):
        x = self.token_embedding(tokens) + self.position_embedding[: tokens.size(1)]
        x = self.encoder(nn.functional.dropout(x, self.encoder.layers[0].dropout.p, self.training),
                         src_key_padding_mask=valid.logical_not())
        w = valid.unsqueeze(2).to(x.dtype)
        return self.head(self.dense((x * w).sum(1) / w.sum(1)))


def kmer_tokens(x, lengths, kmer):
    """The worker's tokens: 3 + the base-4 number of each k-mer's letters, 0 past the end."""
    letters = x.argmax(1)
    count = max(x.shape[2] - kmer + 1, 1)
    ids = torch.zeros((x.shape[0], count), dtype=torch.long)
    for j in range(kmer):
        ids = ids * 4 + letters[:, j:j + count]
    valid = torch.arange(count).unsqueeze(0) < (lengths - kmer + 1).clamp_min(1).unsqueeze(1)
    return (ids + 3).masked_fill(valid.logical_not(), 0), valid


def masked_mse(prediction, target):
    missing = target.isnan()
    error = (prediction - target).masked_fill(missing, 0.0)
    return error.square().sum(0) / missing.logical_not().sum(0).clamp_min(1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--targets", default="dG,dH,dS,Tm")
    parser.add_argument("--filters", default="64,64,64")
    parser.add_argument("--kernel", type=int, default=3)
    parser.add_argument("--dense", default="64")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.002)
    parser.add_argument("--weight-decay", type=float, default=0.0001)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--layout", choices=["conv1d", "channels-last"], default="conv1d",
                        help="conv1d: the idiomatic PyTorch network; channels-last: the worker's formulation")
    parser.add_argument("--model", choices=["cnn", "transformer"], default="cnn")
    parser.add_argument("--kmer", type=int, default=3)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--d-model", type=int, default=64)
    parser.add_argument("--ff", type=int, default=256)
    parser.add_argument("--dropout", type=float, default=0.1, help="transformer only")
    args = parser.parse_args()

    torch.set_num_interop_threads(1)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    targets = args.targets.split(",")
    inputs, lengths, y = load(args.data, targets)
    x_length = inputs.shape[2]

    # The worker's fold: 80 % training rows, a tenth of them held out for validation.
    rng = np.random.default_rng(args.seed)
    rows = rng.permutation(len(y))[: int(len(y) * 0.8)]
    validation_count = round(0.1 * len(rows))
    fit, validation = np.sort(rows[validation_count:]), np.sort(rows[:validation_count])
    mean = np.nanmean(y[fit].numpy(), axis=0)
    scale = np.nanstd(y[fit].numpy(), axis=0, ddof=1)
    y = (y - torch.from_numpy(mean)) / torch.from_numpy(scale)

    dense = [int(d) for d in args.dense.split(",") if d]
    if args.model == "transformer":
        inputs, lengths = kmer_tokens(inputs, lengths, args.kmer)
        network = TransformerNetwork(args.kmer, x_length, args.layers, args.heads, args.d_model, args.ff,
                                     args.dropout, dense, len(targets))
    else:
        network_type = ConvNetwork if args.layout == "conv1d" else ChannelsLastNetwork
        network = network_type(inputs.shape[1], inputs.shape[2], [int(f) for f in args.filters.split(",")],
                               args.kernel, dense, len(targets))
    optimizer = torch.optim.Adam(network.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    weights = torch.ones(len(targets))
    batch = args.batch_size
    batch_inputs = torch.empty((batch,) + tuple(inputs.shape[1:]), dtype=inputs.dtype)
    batch_lengths = torch.empty((batch,) + tuple(lengths.shape[1:]), dtype=lengths.dtype)
    batch_targets = torch.empty((batch, y.shape[1]))
    validation_index = torch.from_numpy(validation)

    step_seconds, samples = 0.0, 0
    order = fit.astype(np.int64)
    network.train()
    for epoch in range(args.epochs):
        rng.shuffle(order)
        order_tensor = torch.from_numpy(order)
        for start in range(0, len(order), batch):
            began = time.perf_counter()
            index = order_tensor[start:start + batch]
            if len(index) == batch:
                xb = torch.index_select(inputs, 0, index, out=batch_inputs)
                lb = torch.index_select(lengths, 0, index, out=batch_lengths)
                yb = torch.index_select(y, 0, index, out=batch_targets)
            else:
                xb, lb, yb = inputs.index_select(0, index), lengths.index_select(0, index), y.index_select(0, index)
            optimizer.zero_grad()
            loss = masked_mse(network(xb, lb), yb).dot(weights)
            value = loss.item()
            if not math.isfinite(value):
                raise RuntimeError(f"training loss became {value} at epoch {epoch + 1}")
            loss.backward()
            optimizer.step()
            step_seconds += time.perf_counter() - began
            samples += len(index)
        network.eval()
        with torch.no_grad():
            masked_mse(network(inputs.index_select(0, validation_index), lengths.index_select(0, validation_index)),
                       y.index_select(0, validation_index)).dot(weights).item()
        network.train()
    print(f"{samples / step_seconds:.1f} samples/s ({samples} samples in {step_seconds:.2f} s of training steps)")


if __name__ == "__main__":
    main()
