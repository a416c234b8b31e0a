#include "worker/encoded_data.hpp"

#include <fmt/format.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <mutex>

#include "common/encoding.hpp"

namespace gridfold::worker {
namespace {

int head_width(const TargetSpec& target) {
  switch (target.task) {
    case TaskType::regression:
    case TaskType::binary:
      return 1;
    case TaskType::multiclass:
      if (target.classes.size() < 2) {
        throw DataError(
            fmt::format("multiclass target '{}' lists {} classes; list at least two under "
                        "data.targets[].classes",
                        target.name, target.classes.size()));
      }
      return static_cast<int>(target.classes.size());
    case TaskType::per_position:
      return target.classes.size() > 2 ? static_cast<int>(target.classes.size()) : 1;
  }
  return 1;
}

// The label strings of per-position target `t`; Dataset keeps them either for every target
// (empty for the others) or for the per-position targets only, in target order.
const std::vector<std::string>& position_labels_of(const Dataset& data, const DataSpec& spec, std::size_t t) {
  if (data.position_labels.size() == spec.targets.size()) return data.position_labels[t];
  std::size_t rank = 0;
  for (std::size_t i = 0; i < t; ++i) rank += spec.targets[i].task == TaskType::per_position;
  if (rank >= data.position_labels.size()) {
    throw DataError(fmt::format("per-position target '{}' has no label strings in the data", spec.targets[t].name));
  }
  return data.position_labels[rank];
}

torch::Tensor tensor_from(EncodedBatch& batch) {
  return torch::from_blob(batch.values.data(),
                          {static_cast<std::int64_t>(batch.count), static_cast<std::int64_t>(batch.channels),
                           static_cast<std::int64_t>(batch.length)},
                          torch::kFloat);
}

}  // namespace

struct EncodedData::Impl {
  Dataset dataset;
  DataSpec spec;
  InputShape shape;
  std::vector<OutputHead> heads;
  bool per_position = false;
  // Owns the memory that `inputs` views, so the one-hot block is never copied.
  EncodedBatch encoded, reverse_encoded;
  std::vector<float> features;
  torch::Tensor inputs, lengths, targets, reverse_inputs;
  std::once_flag reverse_once;
};

EncodedData::EncodedData(Dataset dataset, const DataSpec& spec) : impl_(std::make_unique<Impl>()) {
  Impl& d = *impl_;
  d.dataset = std::move(dataset);
  d.spec = spec;
  const Dataset& data = d.dataset;
  const auto n = static_cast<std::int64_t>(data.size());
  if (n == 0) throw DataError(fmt::format("{} holds no samples", spec.path.string()));

  if (!data.sequences.empty()) {
    d.encoded = encode_sequences(data.sequences, spec.alphabet);
    d.inputs = tensor_from(d.encoded);
    d.lengths = torch::from_blob(d.encoded.lengths.data(), {n}, torch::kInt).to(torch::kLong);
    d.shape.channels = static_cast<int>(d.encoded.channels);
    d.shape.length = static_cast<int>(d.encoded.length);
  } else if (data.feature_count > 0) {
    d.features = data.features;
    d.inputs = torch::from_blob(d.features.data(), {n, static_cast<std::int64_t>(data.feature_count)}, torch::kFloat);
    d.lengths = torch::ones({n}, torch::kLong);
    d.shape.features = static_cast<int>(data.feature_count);
  } else {
    throw DataError(
        fmt::format("{} has neither sequences nor feature columns to train on; set "
                    "data.sequence_column or data.feature_columns",
                    spec.path.string()));
  }

  const auto targets = static_cast<std::int64_t>(spec.targets.size());
  for (const auto& target : spec.targets) {
    d.heads.push_back({target.name, target.task, head_width(target)});
    d.per_position = d.per_position || target.task == TaskType::per_position;
  }
  const float missing = std::numeric_limits<float>::quiet_NaN();
  if (d.per_position) {
    const std::int64_t length = d.shape.length;
    d.targets = torch::full({n, targets, length}, missing, torch::kFloat);
    auto values = d.targets.accessor<float, 3>();
    for (std::int64_t t = 0; t < targets; ++t) {
      if (spec.targets[t].task != TaskType::per_position) continue;
      const auto& labels = position_labels_of(data, spec, static_cast<std::size_t>(t));
      for (std::int64_t i = 0; i < n; ++i) {
        const std::string& label = labels[static_cast<std::size_t>(i)];
        const auto positions = std::min<std::int64_t>(static_cast<std::int64_t>(label.size()), length);
        for (std::int64_t p = 0; p < positions; ++p) {
          const char c = label[static_cast<std::size_t>(p)];
          if (c >= '0' && c <= '9') values[i][t][p] = static_cast<float>(c - '0');
        }
      }
    }
  } else {
    d.targets = torch::empty({n, targets}, torch::kFloat);
    auto values = d.targets.accessor<float, 2>();
    for (std::int64_t t = 0; t < targets; ++t) {
      const auto& column = data.targets.at(static_cast<std::size_t>(t));
      for (std::int64_t i = 0; i < n; ++i) values[i][t] = column[static_cast<std::size_t>(i)];
    }
  }
  for (std::int64_t t = 0; t < targets; ++t) {
    const int width = d.heads[static_cast<std::size_t>(t)].width;
    const bool binary_positions = width == 1 && spec.targets[t].task == TaskType::per_position;
    if (width < 2 && !binary_positions) continue;
    const torch::Tensor column = d.targets.select(1, t);
    const torch::Tensor present = column.masked_select(column.isnan().logical_not());
    if (present.numel() == 0) continue;
    if (binary_positions && present.max().item<float>() > 1) {
      throw DataError(
          fmt::format("per_position target '{}' has label digit {}, but without data.targets[].classes "
                      "its labels are 0/1; name its classes (e.g. classes: [other, start, end])",
                      spec.targets[t].name, present.max().item<float>()));
    }
    if (!binary_positions && (present.min().item<float>() < 0 || present.max().item<float>() >= width)) {
      throw DataError(fmt::format("target '{}' has class indices outside 0..{} (it lists {} classes)",
                                  spec.targets[t].name, width - 1, width));
    }
  }
}

EncodedData::EncodedData(EncodedData&&) noexcept = default;
EncodedData& EncodedData::operator=(EncodedData&&) noexcept = default;
EncodedData::~EncodedData() = default;

const Dataset& EncodedData::dataset() const {
  return impl_->dataset;
}
const DataSpec& EncodedData::spec() const {
  return impl_->spec;
}
std::size_t EncodedData::size() const {
  return impl_->dataset.size();
}
const InputShape& EncodedData::input_shape() const {
  return impl_->shape;
}
const std::vector<OutputHead>& EncodedData::heads() const {
  return impl_->heads;
}
bool EncodedData::per_position() const {
  return impl_->per_position;
}
const torch::Tensor& EncodedData::inputs() const {
  return impl_->inputs;
}
const torch::Tensor& EncodedData::lengths() const {
  return impl_->lengths;
}
const torch::Tensor& EncodedData::targets() const {
  return impl_->targets;
}

const torch::Tensor& EncodedData::reverse_complement_inputs() const {
  Impl& d = *impl_;
  if (d.dataset.sequences.empty()) {
    throw DataError("training.reverse_complement needs sequence data; this data has feature columns");
  }
  std::call_once(d.reverse_once, [&d] {
    std::vector<std::string> reversed;
    reversed.reserve(d.dataset.sequences.size());
    for (const auto& s : d.dataset.sequences) reversed.push_back(reverse_complement(s, d.spec.alphabet));
    d.reverse_encoded = encode_sequences(reversed, d.spec.alphabet, d.encoded.length);
    d.reverse_inputs = tensor_from(d.reverse_encoded);
  });
  return d.reverse_inputs;
}

}  // namespace gridfold::worker
