// Predicting new samples with a model file: every member network's outputs in prediction
// units (regression: original units; binary: probability; multiclass: one probability per
// class), averaged over the members.
#pragma once

#include <vector>

#include "common/dataset.hpp"
#include "common/model_file.hpp"

namespace gridfold::worker {

// [sample][output] in the layout of output_widths(model) (common/prediction_table.hpp).
// Throws DataError naming the sample when a sequence is longer than the model's encoding,
// SpecError when the weights do not fit the network the spec describes.
std::vector<float> predict_samples(const ModelFile& model, const Dataset& samples, int batch_size);

}  // namespace gridfold::worker
