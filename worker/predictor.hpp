// Predicting new samples with a model file: every member network's outputs in prediction
// units (regression: original units; binary: probability; multiclass: one probability per
// class), averaged over the members.
#pragma once

#include <cstddef>
#include <filesystem>
#include <vector>

#include "common/dataset.hpp"
#include "common/model_file.hpp"

namespace gridfold::worker {

// [sample][output] in the layout of output_widths(model) (common/prediction_table.hpp).
// Throws DataError naming the sample when a sequence is longer than the model's encoding,
// SpecError when the weights do not fit the network the spec describes.
std::vector<float> predict_samples(const ModelFile& model, const Dataset& samples, int batch_size);

// Writes network `member` of `model` as a TorchScript module (Network::save_torchscript) whose
// archive carries gridfold.json: the encoding it reads and how its raw outputs map to
// predictions (docs/model-file.md#torchscript-export). Throws SpecError for a member index
// out of range and for families TorchScript cannot hold.
void export_torchscript(const ModelFile& model, std::size_t member, const std::filesystem::path& out);

}  // namespace gridfold::worker
