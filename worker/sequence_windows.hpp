// Fixed-length windows of one-hot sequences ([N][C][L], zero past each true length): the
// random crops that training draws (training.crop_length) and the tiles that evaluation
// averages over, so that a network trained on windows of one length only ever sees windows
// of that length.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace at {
class Tensor;
}

namespace gridfold::worker {

class Network;

// The window length for `crop_length` on sequences padded to `padded_length`; 0 (no
// cropping) when crop_length is 0 or not shorter than the padding.
std::int64_t window_length(int crop_length, std::int64_t padded_length);

// One start per entry of `lengths` ([B] int64, true lengths), uniform over the starts that
// keep the window inside the sequence; 0 when the sequence is not longer than the window
// (its window is then the whole sequence and padding). Draws from `rng` in entry order.
at::Tensor draw_window_starts(const at::Tensor& lengths, std::int64_t window, std::mt19937_64& rng);

// [B][C][window]: entry i is source[rows[i]][:, starts[i] .. starts[i] + window). `rows` and
// `starts` are on the device of `source`, which the result is on too.
at::Tensor gather_windows(const at::Tensor& source, const at::Tensor& rows, const at::Tensor& starts,
                          std::int64_t window);

// Tile starts covering a sequence of `length`: 0, window, 2 window, ..., the last one moved
// back to end at the sequence's end (one tile at 0 when it is not longer than the window).
std::vector<std::int64_t> tile_starts(std::int64_t length, std::int64_t window);

// [R][outputs]: for each of `rows`, the mean of the network's outputs over the row's tiles.
// The network runs on at most `chunk_tiles` tiles at a time, so memory stays bounded however
// long the sequences are. `inputs`, `lengths` and `rows` are on the network's device (the
// tiles are planned on the CPU), and so is the result. The caller sets evaluation mode and
// disables autograd.
at::Tensor predict_tiled(Network& network, const at::Tensor& inputs, const at::Tensor& lengths, const at::Tensor& rows,
                         std::int64_t window, std::int64_t chunk_tiles);

}  // namespace gridfold::worker
