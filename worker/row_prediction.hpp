// A network's outputs for rows of encoded data, as validation and the test scores need them:
// in evaluation mode, without autograd, a bounded chunk at a time, and for a network trained
// on crops, averaged over tiles of the crop length that cover each whole sequence.
#pragma once

#include <cstdint>

namespace at {
class Tensor;
}

namespace gridfold::worker {

class EncodedData;
class Network;

// [rows][outputs] for `rows` ([R] int64 row indices into `data`); undefined when there are
// no rows. window 0: whole sequences, 1024 rows at a time; window > 0: the mean over tiles
// of that length (predict_tiled), 1024 tiles at a time. Leaves the network in training mode.
at::Tensor predict_rows(Network& network, const EncodedData& data, const at::Tensor& rows, std::int64_t window);

}  // namespace gridfold::worker
