// A finished model: everything `gridfold predict` needs to use a trained configuration on
// new sequences, in one HDF5 file (layout in docs/model-file.md). Plain values: the worker
// turns the weights into tensors and back, everyone else reads them without Torch.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "common/spec.hpp"

namespace gridfold {

namespace h5 {
class Node;
}

struct NamedTensor {
  std::string name;  // the network's name for it ("trunk.0.weight")
  std::vector<std::int64_t> shape;
  std::vector<float> values;  // row-major
};

// One trained network: its parameters and buffers, and the standardisation of the
// regression targets it learned (fitted on its own training rows).
struct ModelWeights {
  std::vector<NamedTensor> tensors;
  // Per target, in the model's target order; empty when targets were not standardised.
  // Non-regression targets have mean 0 and scale 1.
  std::vector<double> target_mean, target_scale;
  // Per target, in the model's target order: a per_position target's decision thresholds,
  // one per class (entry 0 NaN; common/boundary_calls.hpp), chosen on this network's
  // validation split; empty for the other targets. Empty when no target is per_position.
  std::vector<std::vector<double>> thresholds;
};

struct ModelTarget {
  std::string name;
  TaskType task = TaskType::regression;
  std::vector<std::string> classes;  // multiclass: the label of each class index
};

struct ModelFile {
  std::string experiment;
  std::string config_id;
  FinalModelStrategy strategy = FinalModelStrategy::refit;
  // The experiment's spec text and the grid values of the config: resolved, they rebuild
  // the network. Relative paths in the spec (a torchscript file) resolve against spec_dir.
  std::string spec_text;
  std::filesystem::path spec_dir;
  std::vector<std::pair<std::string, std::string>> params;  // dotted path, YAML value
  // The encoding the network reads.
  Alphabet alphabet = Alphabet::dna;
  std::string sequence_column;               // empty for feature inputs
  std::string id_column;                     // names samples when the input table has it
  std::vector<std::string> feature_columns;  // empty for sequence inputs
  std::int64_t sequence_length = 0;          // the padded length the network was built for
  std::vector<ModelTarget> targets;
  // One network (refit) or one per outer fold (ensemble).
  std::vector<ModelWeights> members;
};

inline constexpr std::int64_t kModelFileSchemaVersion = 1;

// Writes atomically (temporary name, close, fsync, rename); throws h5::WriteError when HDF5
// cannot write or close the file.
void write_model_file(const std::filesystem::path& final_path, const ModelFile& model);
// Throws h5::Error naming the file when it is not a complete model file of this version.
ModelFile read_model_file(const std::filesystem::path& file);

// One network's weights under `group`, as model files and fold results (output.save_models)
// keep them.
void write_model_weights(const h5::Node& group, const ModelWeights& weights);
ModelWeights read_model_weights(const h5::Node& group);

}  // namespace gridfold
