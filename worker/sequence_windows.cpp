#include "worker/sequence_windows.hpp"

#include <torch/torch.h>

#include <algorithm>

#include "worker/models.hpp"

namespace gridfold::worker {

std::int64_t window_length(int crop_length, std::int64_t padded_length) {
  return crop_length > 0 && crop_length < padded_length ? crop_length : 0;
}

at::Tensor draw_window_starts(const at::Tensor& lengths, std::int64_t window, std::mt19937_64& rng) {
  const torch::Tensor owned = lengths.to(torch::kLong).contiguous();
  const std::int64_t count = owned.numel();
  torch::Tensor starts = torch::empty({count}, torch::kLong);
  const auto* length = owned.data_ptr<std::int64_t>();
  auto* start = starts.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < count; ++i) {
    const std::int64_t choices = length[i] - window + 1;
    // Modulo draws, not std::uniform_int_distribution, whose algorithm differs between
    // standard libraries: a task crops identically on every cluster.
    start[i] = choices > 1 ? static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(choices)) : 0;
  }
  return starts;
}

at::Tensor gather_windows(const at::Tensor& source, const at::Tensor& rows, const at::Tensor& starts,
                          std::int64_t window) {
  const std::int64_t count = rows.size(0);
  const torch::TensorOptions index = torch::TensorOptions(torch::kLong).device(source.device());
  const torch::Tensor positions = starts.view({count, 1, 1}) + torch::arange(window, index).view({1, 1, window});
  const torch::Tensor channels = torch::arange(source.size(1), index).view({1, -1, 1});
  return source.index({rows.view({count, 1, 1}), channels, positions});
}

std::vector<std::int64_t> tile_starts(std::int64_t length, std::int64_t window) {
  std::vector<std::int64_t> starts;
  for (std::int64_t start = 0; start + window < length; start += window) starts.push_back(start);
  starts.push_back(std::max<std::int64_t>(length - window, 0));
  return starts;
}

at::Tensor predict_tiled(Network& network, const at::Tensor& inputs, const at::Tensor& lengths, const at::Tensor& rows,
                         std::int64_t window, std::int64_t chunk_tiles) {
  const std::int64_t row_count = rows.size(0);
  const torch::Tensor row_lengths = lengths.index_select(0, rows).cpu().contiguous();
  const auto* length = row_lengths.data_ptr<std::int64_t>();
  const torch::Tensor owned_rows = rows.cpu().contiguous();
  const auto* row = owned_rows.data_ptr<std::int64_t>();
  std::vector<std::int64_t> tile_row, tile_owner, tile_start;
  std::vector<float> tiles_per_row(static_cast<std::size_t>(row_count));
  for (std::int64_t r = 0; r < row_count; ++r) {
    const std::vector<std::int64_t> starts = tile_starts(length[r], window);
    tiles_per_row[static_cast<std::size_t>(r)] = static_cast<float>(starts.size());
    for (const std::int64_t start : starts) {
      tile_row.push_back(row[r]);
      tile_owner.push_back(r);
      tile_start.push_back(start);
    }
  }

  const auto tiles = static_cast<std::int64_t>(tile_row.size());
  if (tiles == 0) return torch::Tensor();
  const torch::TensorOptions index = torch::TensorOptions(torch::kLong).device(inputs.device());
  const torch::Tensor all_rows = torch::tensor(at::ArrayRef<std::int64_t>(tile_row), index);
  const torch::Tensor all_owners = torch::tensor(at::ArrayRef<std::int64_t>(tile_owner), index);
  const torch::Tensor all_starts = torch::tensor(at::ArrayRef<std::int64_t>(tile_start), index);
  torch::Tensor sums;
  for (std::int64_t first = 0; first < tiles; first += chunk_tiles) {
    const std::int64_t count = std::min(chunk_tiles, tiles - first);
    const torch::Tensor chunk_rows = all_rows.narrow(0, first, count);
    const torch::Tensor outputs =
        network.forward(gather_windows(inputs, chunk_rows, all_starts.narrow(0, first, count), window),
                        lengths.index_select(0, chunk_rows).clamp_max(window));
    if (!sums.defined()) sums = torch::zeros({row_count, outputs.size(1)}, outputs.options());
    sums.index_add_(0, all_owners.narrow(0, first, count), outputs);
  }
  const torch::Tensor counts = torch::tensor(at::ArrayRef<float>(tiles_per_row), sums.options());
  return sums.div_(counts.unsqueeze(1));
}

}  // namespace gridfold::worker
