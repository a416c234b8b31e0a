// The transformer family: an encoder over overlapping k-mer tokens, built as a TorchScript
// module so that the network that trains is the network `gridfold export` saves.
//
// Tokens come from the one-hot inputs inside forward(), so crops, reverse complements and
// balanced sampling, which all work on one-hot rows, need nothing of their own: token t is
// the k-mer at positions t .. t+k-1 (DNABERT's overlapping k-mers; k = 1: single letters or
// amino acids); a k-mer with an ambiguous letter (N) is the unknown token. Learned position
// embeddings; post-norm encoder layers as torch.nn.TransformerEncoderLayer (ReLU, dropout);
// padded tokens are masked out of attention and pooling. Pooling: mean of the tokens
// (default), cls (a [CLS] token put first), max, sum, or none: per-position outputs, each
// position the mean of the tokens that cover it.
#pragma once

#include "common/spec.hpp"
#include "worker/models.hpp"

namespace torch::jit {
struct Module;
}

namespace gridfold::worker {

// The module's forward(inputs [N][C][L], lengths [N]) returns [N][output_width], or
// [N][output_width][L] with per_position. Parameters are initialised from Torch's default
// generator as torch.nn.TransformerEncoderLayer initialises its own. Throws SpecError for
// feature inputs and for a k-mer vocabulary over 65,536 tokens (protein k > 3).
torch::jit::Module transformer_module(const ModelSpec& spec, const InputShape& input, int output_width,
                                      bool per_position);

}  // namespace gridfold::worker
