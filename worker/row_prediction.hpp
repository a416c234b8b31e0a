// A network's outputs for rows of encoded data, as validation and the test scores need them:
// in evaluation mode, without autograd, a bounded chunk at a time, and for a network trained
// on crops, averaged over tiles of the crop length that cover each whole sequence.
#pragma once

#include <cstdint>

namespace at {
class Tensor;
}

namespace gridfold::worker {

class Network;

// [rows][outputs] for `rows` ([R] int64 row indices into `inputs` and `lengths`, which
// EncodedData describes); undefined when there are no rows. All three are on the network's
// device, and so is the result. window 0: whole sequences; window > 0: the mean over tiles
// of that length (predict_tiled). Either way 1024 rows or tiles at a time, fewer for long
// ones: at most 8 Ki positions per forward pass. Leaves the network in training mode.
at::Tensor predict_rows(Network& network, const at::Tensor& inputs, const at::Tensor& lengths, const at::Tensor& rows,
                        std::int64_t window);

}  // namespace gridfold::worker
