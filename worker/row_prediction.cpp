#include "worker/row_prediction.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <vector>

#include "worker/models.hpp"
#include "worker/sequence_windows.hpp"

namespace gridfold::worker {
namespace {

// Rows (or tiles) per forward pass: memory stays bounded however large the set scored is.
constexpr std::int64_t kEvaluationChunk = 1024;

}  // namespace

at::Tensor predict_rows(Network& network, const at::Tensor& inputs, const at::Tensor& lengths, const at::Tensor& rows,
                        std::int64_t window) {
  torch::NoGradGuard no_grad;
  network.set_training(false);
  torch::Tensor outputs;
  if (window > 0) {
    outputs = predict_tiled(network, inputs, lengths, rows, window, kEvaluationChunk);
  } else {
    std::vector<torch::Tensor> chunks;
    const std::int64_t n = rows.size(0);
    for (std::int64_t start = 0; start < n; start += kEvaluationChunk) {
      const torch::Tensor index = rows.narrow(0, start, std::min(kEvaluationChunk, n - start));
      chunks.push_back(network.forward(inputs.index_select(0, index), lengths.index_select(0, index)));
    }
    if (!chunks.empty()) outputs = chunks.size() == 1 ? chunks.front() : torch::cat(chunks, 0);
  }
  network.set_training(true);
  return outputs;
}

}  // namespace gridfold::worker
