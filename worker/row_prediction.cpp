#include "worker/row_prediction.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <vector>

#include "worker/models.hpp"
#include "worker/sequence_windows.hpp"

namespace gridfold::worker {
namespace {

// Rows (or tiles) per forward pass: at most 1024, and at most 8 Ki positions, so that a
// pass's activations stay small per layer (2 MiB at 64 channels) however long the sequences
// and however large the set scored: below the size glibc maps and unmaps per allocation
// (worker/torch_runtime.hpp), and near the cache. A narrow per-position network is bound by
// memory traffic, not arithmetic: its passes of 13 windows of 5.5 kb (64 Ki positions) ran
// 4.6 times slower per window than passes of one (docs/benchmarks.md).
constexpr std::int64_t kEvaluationRows = 1024;
constexpr std::int64_t kEvaluationPositions = std::int64_t{1} << 13;

std::int64_t chunk_for(std::int64_t positions_per_row) {
  return std::clamp<std::int64_t>(kEvaluationPositions / std::max<std::int64_t>(positions_per_row, 1), 1,
                                  kEvaluationRows);
}

}  // namespace

at::Tensor predict_rows(Network& network, const at::Tensor& inputs, const at::Tensor& lengths, const at::Tensor& rows,
                        std::int64_t window) {
  torch::NoGradGuard no_grad;
  network.set_training(false);
  torch::Tensor outputs;
  if (window > 0) {
    outputs = predict_tiled(network, inputs, lengths, rows, window, chunk_for(window));
  } else {
    std::vector<torch::Tensor> chunks;
    const std::int64_t n = rows.size(0);
    const std::int64_t chunk = chunk_for(inputs.dim() > 2 ? inputs.size(2) : 1);
    for (std::int64_t start = 0; start < n; start += chunk) {
      const torch::Tensor index = rows.narrow(0, start, std::min(chunk, n - start));
      chunks.push_back(network.forward(inputs.index_select(0, index), lengths.index_select(0, index)));
    }
    if (!chunks.empty()) outputs = chunks.size() == 1 ? chunks.front() : torch::cat(chunks, 0);
  }
  network.set_training(true);
  return outputs;
}

}  // namespace gridfold::worker
