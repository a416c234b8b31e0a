// Predicting new samples with a model file: every member network's outputs in prediction
// units (regression: original units; binary: probability; multiclass: one probability per
// class), averaged over the members.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "common/dataset.hpp"
#include "common/model_file.hpp"

namespace gridfold::worker {

// The model's spec resolved with its config's grid values.
ExperimentSpec model_spec(const ModelFile& model);

// [sample][output] in the layout of output_widths(model) (common/prediction_table.hpp).
// Throws DataError naming the sample when a sequence is longer than the model's encoding,
// SpecError when the weights do not fit the network the spec describes.
std::vector<float> predict_samples(const ModelFile& model, const Dataset& samples, int batch_size);

// Per per_position target of `model`, in target order, [sample]: the class digit ('0' the
// background) of every position of the sample's sequence, by the decision rule of
// common/boundary_calls.hpp with the target's tolerance: over the members' mean class
// probabilities, with the members' mean threshold per class (a member without thresholds
// counts kDefaultBoundaryThreshold). The networks run on `batch_size` samples at a time,
// encoded per batch, so memory holds one batch's [sample][class][position] probabilities,
// not the whole input's. Throws DataError naming a sample longer than the model's encoding,
// SpecError for a model trained on crops (training.crop_length), whose tiles would each
// label only part of a sequence.
std::vector<std::vector<std::string>> predict_position_classes(const ModelFile& model, const Dataset& samples,
                                                               int batch_size);

// Writes network `member` of `model` as a TorchScript module (Network::save_torchscript) whose
// archive carries gridfold.json: the encoding it reads and how its raw outputs map to
// predictions (docs/model-file.md#torchscript-export). Throws SpecError for a member index
// out of range and for families TorchScript cannot hold.
void export_torchscript(const ModelFile& model, std::size_t member, const std::filesystem::path& out);

}  // namespace gridfold::worker
