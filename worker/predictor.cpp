#include "worker/predictor.hpp"

#include <fmt/format.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "common/boundary_calls.hpp"
#include "common/encoding.hpp"
#include "common/prediction_table.hpp"
#include "common/spec.hpp"
#include "worker/models.hpp"
#include "worker/network_weights.hpp"
#include "worker/scoring.hpp"
#include "worker/sequence_windows.hpp"

namespace gridfold::worker {

ExperimentSpec model_spec(const ModelFile& model) {
  const SpecDocument document =
      SpecDocument::parse(model.spec_text, fmt::format("spec of the model of experiment {}", model.experiment),
                          model.spec_dir);
  ParamAssignment overrides;
  for (const auto& [path, value] : model.params) overrides[path] = ParamValue{value, {}};
  return document.resolve(overrides);
}

namespace {

struct Inputs {
  InputShape shape;
  torch::Tensor values, lengths;
};

Inputs encode_samples(const ModelFile& model, const Dataset& samples) {
  Inputs in;
  const auto n = static_cast<std::int64_t>(samples.size());
  if (model.sequence_column.empty()) {
    if (samples.feature_count != model.feature_columns.size()) {
      throw DataError(fmt::format("the input has {} feature columns, the model reads {}", samples.feature_count,
                                  model.feature_columns.size()));
    }
    in.shape.features = static_cast<int>(samples.feature_count);
    in.values =
        torch::from_blob(const_cast<float*>(samples.features.data()), {n, in.shape.features}, torch::kFloat).clone();
    in.lengths = torch::ones({n}, torch::kLong);
    return in;
  }
  for (std::size_t i = 0; i < samples.sequences.size(); ++i) {
    if (static_cast<std::int64_t>(samples.sequences[i].size()) > model.sequence_length) {
      throw DataError(
          fmt::format("sequence '{}' is {} long; the model was trained on sequences of at most {}, "
                      "the length its network was built for",
                      samples.ids[i], samples.sequences[i].size(), model.sequence_length));
    }
  }
  EncodedBatch batch =
      encode_sequences(samples.sequences, model.alphabet, static_cast<std::size_t>(model.sequence_length));
  in.shape.channels = static_cast<int>(batch.channels);
  in.shape.length = static_cast<int>(batch.length);
  in.values = torch::from_blob(batch.values.data(), {n, in.shape.channels, in.shape.length}, torch::kFloat).clone();
  in.lengths = torch::from_blob(batch.lengths.data(), {n}, torch::kInt).to(torch::kLong);
  return in;
}

// One member's outputs mapped to prediction units.
// A network trained on crops of `window` positions sees tiles of that length, averaged,
// as in the trainer's evaluation; window 0: whole sequences.
torch::Tensor member_predictions(Network& network, const ModelWeights& weights, const ModelFile& model,
                                 const Inputs& in, std::int64_t window, int batch_size) {
  load_weights(network, weights);
  network.set_training(false);
  torch::NoGradGuard no_grad;
  const std::int64_t n = in.values.size(0);
  torch::Tensor raw;
  if (window > 0) {
    raw = predict_tiled(network, in.values, in.lengths, torch::arange(n, torch::kLong), window, batch_size);
  } else {
    std::vector<torch::Tensor> chunks;
    for (std::int64_t start = 0; start < n; start += batch_size) {
      const std::int64_t count = std::min<std::int64_t>(batch_size, n - start);
      chunks.push_back(network.forward(in.values.narrow(0, start, count), in.lengths.narrow(0, start, count)));
    }
    raw = torch::cat(chunks, 0);
  }
  const std::optional<Standardizer> standardizer = standardizer_of(weights);
  std::vector<torch::Tensor> columns;
  std::int64_t offset = 0;
  for (std::size_t t = 0; t < model.targets.size(); ++t) {
    const ModelTarget& target = model.targets[t];
    const std::int64_t width =
        target.task == TaskType::multiclass ? static_cast<std::int64_t>(target.classes.size()) : 1;
    torch::Tensor block = raw.narrow(1, offset, width);
    offset += width;
    switch (target.task) {
      case TaskType::regression:
        if (standardizer) block = block * standardizer->scale.at(t) + standardizer->mean.at(t);
        break;
      case TaskType::binary:
        block = torch::sigmoid(block);
        break;
      case TaskType::multiclass:
        block = torch::softmax(block, 1);
        break;
      case TaskType::per_position:
        throw SpecError(
            fmt::format("target '{}' is per_position, which gridfold predict does not handle", target.name));
    }
    columns.push_back(block.to(torch::kDouble));
  }
  return torch::cat(columns, 1);
}

// As the trainer's heads: one output per class for multiclass targets and per_position targets
// of more than two classes, else one.
int head_width(const ModelTarget& t) {
  const bool per_class = t.task == TaskType::multiclass || (t.task == TaskType::per_position && t.classes.size() > 2);
  return per_class ? static_cast<int>(t.classes.size()) : 1;
}

// The network a model file's spec describes for inputs of `shape`; with crops it reads
// windows of the crop length.
struct ModelNetwork {
  std::shared_ptr<Network> network;
  std::int64_t window = 0;  // 0: whole sequences
};

ModelNetwork model_network(const ModelFile& model, InputShape shape) {
  const ExperimentSpec spec = model_spec(model);
  std::vector<OutputHead> heads;
  for (const auto& t : model.targets) heads.push_back({t.name, t.task, head_width(t)});
  ModelNetwork built;
  built.window = shape.is_sequence() ? window_length(spec.training.crop_length, shape.length) : 0;
  if (built.window > 0) shape.length = static_cast<int>(built.window);
  built.network = build_network(spec.model, shape, heads);
  return built;
}

}  // namespace

std::vector<float> predict_samples(const ModelFile& model, const Dataset& samples, int batch_size) {
  if (batch_size < 1) throw SpecError(fmt::format("--batch-size is {}; it must be >= 1", batch_size));
  const Inputs in = encode_samples(model, samples);
  const ModelNetwork built = model_network(model, in.shape);
  torch::Tensor sum;
  for (const ModelWeights& member : model.members) {
    const torch::Tensor p = member_predictions(*built.network, member, model, in, built.window, batch_size);
    sum = sum.defined() ? sum + p : p;
  }
  const torch::Tensor mean = (sum / static_cast<double>(model.members.size())).to(torch::kFloat).contiguous();
  return std::vector<float>(mean.data_ptr<float>(), mean.data_ptr<float>() + mean.numel());
}

std::vector<std::vector<std::string>> predict_position_classes(const ModelFile& model, const Dataset& samples,
                                                               int batch_size) {
  if (batch_size < 1) throw SpecError(fmt::format("--batch-size is {}; it must be >= 1", batch_size));
  const ExperimentSpec spec = model_spec(model);
  if (model.sequence_column.empty()) throw SpecError("a per_position model reads sequences, not feature columns");
  InputShape shape;
  shape.channels = alphabet_channels(model.alphabet);
  shape.length = static_cast<int>(model.sequence_length);
  std::vector<ModelNetwork> networks;
  for (const ModelWeights& member : model.members) {
    networks.push_back(model_network(model, shape));
    if (networks.back().window > 0) {
      throw SpecError(
          fmt::format("the model of experiment {} was trained on crops of {} positions (training.crop_length); "
                      "gridfold predict labels whole sequences of per_position targets only",
                      model.experiment, networks.back().window));
    }
    load_weights(*networks.back().network, member);
    networks.back().network->set_training(false);
  }
  // Per target: where its head's outputs start, its mean thresholds, its tolerance.
  struct PositionTarget {
    std::int64_t offset, width;
    std::vector<double> thresholds;
    std::size_t tolerance;
  };
  std::vector<PositionTarget> targets;
  std::int64_t offset = 0;
  for (std::size_t t = 0; t < model.targets.size(); ++t) {
    const int width = head_width(model.targets[t]);
    offset += width;
    if (model.targets[t].task != TaskType::per_position) continue;
    const std::size_t classes = width == 1 ? 2 : static_cast<std::size_t>(width);
    std::vector<double> mean(classes, 0.0);
    mean[0] = std::numeric_limits<double>::quiet_NaN();
    for (const ModelWeights& member : model.members) {
      for (std::size_t c = 1; c < classes; ++c) {
        const bool held =
            t < member.thresholds.size() && c < member.thresholds[t].size() && !std::isnan(member.thresholds[t][c]);
        mean[c] +=
            (held ? member.thresholds[t][c] : kDefaultBoundaryThreshold) / static_cast<double>(model.members.size());
      }
    }
    targets.push_back(
        {offset - width, width, std::move(mean), static_cast<std::size_t>(spec.data.targets.at(t).tolerance)});
  }

  std::vector<std::vector<std::string>> out(targets.size(), std::vector<std::string>(samples.size()));
  torch::NoGradGuard no_grad;
  for (std::size_t first = 0; first < samples.size(); first += static_cast<std::size_t>(batch_size)) {
    std::vector<std::size_t> rows;
    for (std::size_t r = first; r < std::min(samples.size(), first + static_cast<std::size_t>(batch_size)); ++r) {
      rows.push_back(r);
    }
    const Inputs in = encode_samples(model, select_samples(samples, rows));
    std::vector<torch::Tensor> sums(targets.size());
    for (const ModelNetwork& built : networks) {
      const torch::Tensor raw = built.network->forward(in.values, in.lengths);
      for (std::size_t k = 0; k < targets.size(); ++k) {
        const torch::Tensor p = class_probabilities(raw.narrow(1, targets[k].offset, targets[k].width));
        sums[k] = sums[k].defined() ? sums[k] + p : p;
      }
    }
    for (std::size_t k = 0; k < targets.size(); ++k) {
      const torch::Tensor mean = (sums[k] / static_cast<double>(networks.size())).contiguous();
      const torch::Tensor classes = call_classes(mean, targets[k].thresholds, targets[k].tolerance).contiguous();
      const std::uint8_t* c = classes.data_ptr<std::uint8_t>();
      const std::int64_t length = classes.size(1);
      for (std::size_t i = 0; i < rows.size(); ++i) {
        std::string& digits = out[k][rows[i]];
        digits.resize(samples.sequences[rows[i]].size());
        for (std::size_t p = 0; p < digits.size(); ++p) {
          digits[p] = static_cast<char>('0' + c[static_cast<std::int64_t>(i) * length + static_cast<std::int64_t>(p)]);
        }
      }
    }
  }
  return out;
}

void export_torchscript(const ModelFile& model, std::size_t member, const std::filesystem::path& out) {
  if (member >= model.members.size()) {
    throw SpecError(fmt::format("--member {} is out of range: the model holds {} network{} (0 to {})", member,
                                model.members.size(), model.members.size() == 1 ? "" : "s", model.members.size() - 1));
  }
  InputShape shape;
  if (model.sequence_column.empty()) {
    shape.features = static_cast<int>(model.feature_columns.size());
  } else {
    shape.channels = alphabet_channels(model.alphabet);
    shape.length = static_cast<int>(model.sequence_length);
  }
  const ModelNetwork built = model_network(model, shape);
  const ModelWeights& weights = model.members[member];
  load_weights(*built.network, weights);

  nlohmann::json targets = nlohmann::json::array();
  for (std::size_t t = 0; t < model.targets.size(); ++t) {
    const ModelTarget& target = model.targets[t];
    nlohmann::json entry{{"name", target.name}, {"task", to_string(target.task)}};
    if (!target.classes.empty()) entry["classes"] = target.classes;
    if (target.task == TaskType::regression && !weights.target_mean.empty()) {
      entry["mean"] = weights.target_mean.at(t);
      entry["scale"] = weights.target_scale.at(t);
    }
    targets.push_back(std::move(entry));
  }
  const nlohmann::json metadata{{"format", "gridfold-torchscript"},
                                {"version", 1},
                                {"experiment", model.experiment},
                                {"config_id", model.config_id},
                                {"strategy", to_string(model.strategy)},
                                {"member", member},
                                {"alphabet", to_string(model.alphabet)},
                                {"channels", shape.channels},
                                {"sequence_length", built.window > 0 ? built.window : shape.length},
                                {"feature_columns", model.feature_columns},
                                {"targets", targets}};
  built.network->save_torchscript(out, metadata.dump(2));
}

}  // namespace gridfold::worker
