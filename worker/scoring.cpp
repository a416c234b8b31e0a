#include "worker/scoring.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <limits>

#include "common/boundary_calls.hpp"
#include "common/boundary_tally.hpp"
#include "worker/encoded_data.hpp"
#include "worker/models.hpp"

namespace gridfold::worker {
namespace {

// The true and predicted class at every position of the test rows (labels [row][position],
// NaN where the truth is unknown; classes the decision rule's calls), for the fold result:
// harvest scores boundaries along the window from them.
PositionLabels position_labels(const EncodedData& data, std::size_t t, const torch::Tensor& row_index,
                               const torch::Tensor& labels, const torch::Tensor& classes,
                               std::vector<double> thresholds) {
  const OutputHead& head = data.heads()[t];
  const TargetSpec& target = data.spec().targets[t];
  PositionLabels out;
  out.target = head.target;
  out.tolerance = target.tolerance;
  out.classes = target.classes;
  if (out.classes.empty()) {
    for (int c = 0; c < std::max(head.width, 2); ++c) out.classes.push_back(std::to_string(c));
  }
  out.width = static_cast<std::size_t>(labels.size(1));
  out.thresholds = std::move(thresholds);
  const torch::Tensor unknown = labels.isnan();
  const torch::Tensor truth = labels.masked_fill(unknown, kNoLabel).to(torch::kUInt8).contiguous();
  const torch::Tensor prediction = classes.to(torch::kUInt8).masked_fill(unknown, kNoLabel).contiguous();
  const torch::Tensor lengths = data.lengths().index_select(0, row_index).to(torch::kInt).contiguous();
  out.truth.assign(truth.data_ptr<std::uint8_t>(), truth.data_ptr<std::uint8_t>() + truth.numel());
  out.prediction.assign(prediction.data_ptr<std::uint8_t>(), prediction.data_ptr<std::uint8_t>() + prediction.numel());
  out.lengths.assign(lengths.data_ptr<std::int32_t>(), lengths.data_ptr<std::int32_t>() + lengths.numel());
  return out;
}

torch::Tensor row_tensor(std::span<const std::uint32_t> rows) {
  return torch::tensor(std::vector<std::int64_t>(rows.begin(), rows.end()), torch::kLong);
}

// Thresholds of a head of `classes` classes: the given ones, or the default for each class.
std::vector<double> thresholds_or_default(const std::vector<std::vector<double>>& thresholds, std::size_t t,
                                          std::size_t classes) {
  if (t < thresholds.size() && thresholds[t].size() == classes) return thresholds[t];
  std::vector<double> out(classes, kDefaultBoundaryThreshold);
  out[0] = std::numeric_limits<double>::quiet_NaN();
  return out;
}

}  // namespace

at::Tensor class_probabilities(const at::Tensor& head_outputs) {
  const torch::Tensor x = head_outputs.to(torch::kFloat);
  if (x.size(1) == 1) {
    const torch::Tensor p = torch::sigmoid(x);
    return torch::cat({1 - p, p}, 1).contiguous();
  }
  return torch::softmax(x, 1).contiguous();
}

at::Tensor call_classes(const at::Tensor& probabilities, const std::vector<double>& thresholds, std::size_t tolerance) {
  const std::int64_t rows = probabilities.size(0), classes = probabilities.size(1), length = probabilities.size(2);
  torch::Tensor out = torch::zeros({rows, length}, torch::kUInt8);
  const float* p = probabilities.data_ptr<float>();
  std::uint8_t* o = out.data_ptr<std::uint8_t>();
  for (std::int64_t r = 0; r < rows; ++r) {
    call_boundaries({p + r * classes * length, static_cast<std::size_t>(classes * length)},
                    static_cast<std::size_t>(classes), thresholds, tolerance,
                    {o + r * length, static_cast<std::size_t>(length)});
  }
  return out;
}

std::vector<std::vector<double>> choose_thresholds(const EncodedData& data, std::span<const std::uint32_t> rows,
                                                   const at::Tensor& outputs) {
  const auto& heads = data.heads();
  std::vector<std::vector<double>> out(heads.size());
  if (rows.empty()) return out;
  const torch::Tensor row_index = row_tensor(rows);
  std::int64_t offset = 0;
  for (std::size_t t = 0; t < heads.size(); ++t) {
    const OutputHead& head = heads[t];
    const torch::Tensor block = outputs.narrow(1, offset, head.width);
    offset += head.width;
    if (head.task != TaskType::per_position) continue;
    const torch::Tensor probabilities = class_probabilities(block);
    const torch::Tensor labels = data.targets().index_select(0, row_index).select(1, static_cast<std::int64_t>(t));
    const torch::Tensor truth = labels.masked_fill(labels.isnan(), kNoLabel).to(torch::kUInt8).contiguous();
    const std::int64_t classes = probabilities.size(1), length = probabilities.size(2);
    const float* p = probabilities.data_ptr<float>();
    const std::uint8_t* y = truth.data_ptr<std::uint8_t>();
    out[t].assign(static_cast<std::size_t>(classes), std::numeric_limits<double>::quiet_NaN());
    for (std::int64_t c = 1; c < classes; ++c) {
      ClassEvidence evidence;
      for (std::size_t r = 0; r < rows.size(); ++r) {
        const auto row = static_cast<std::int64_t>(r);
        evidence.probability.emplace_back(p + (row * classes + c) * length, static_cast<std::size_t>(length));
        evidence.truth.emplace_back(y + row * length, static_cast<std::size_t>(length));
      }
      out[t][static_cast<std::size_t>(c)] = choose_threshold(evidence, static_cast<std::uint8_t>(c),
                                                             static_cast<std::size_t>(data.spec().targets[t].tolerance))
                                                .threshold;
    }
  }
  return out;
}

TestScores score_rows(const EncodedData& data, const std::optional<Standardizer>& standardizer,
                      std::span<const std::uint32_t> rows, const at::Tensor& outputs,
                      const std::vector<std::vector<double>>& thresholds) {
  TestScores out;
  const auto& heads = data.heads();
  const std::size_t targets = heads.size();
  const std::size_t n = rows.size();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  out.truth.assign(n * targets, nan);
  out.prediction.assign(n * targets, nan);
  if (n == 0) return out;

  const torch::Tensor row_index = row_tensor(rows);
  std::int64_t offset = 0;
  for (std::size_t t = 0; t < targets; ++t) {
    const OutputHead& head = heads[t];
    const torch::Tensor block = outputs.narrow(1, offset, head.width);
    offset += head.width;
    std::vector<double> truth, predicted;
    if (head.task == TaskType::per_position) {
      const torch::Tensor labels = data.targets().index_select(0, row_index).select(1, static_cast<std::int64_t>(t));
      const torch::Tensor present = labels.isnan().logical_not();
      const torch::Tensor probabilities = class_probabilities(block);
      std::vector<double> cuts = thresholds_or_default(thresholds, t, static_cast<std::size_t>(probabilities.size(1)));
      const torch::Tensor classes =
          call_classes(probabilities, cuts, static_cast<std::size_t>(data.spec().targets[t].tolerance));
      const torch::Tensor truth_t = labels.masked_select(present).to(torch::kDouble).contiguous();
      // Binary metrics rank positions by probability (AUROC); multiclass ones take the calls.
      const torch::Tensor scored = head.width == 1 ? probabilities.select(1, 1) : classes;
      const torch::Tensor pred_t = scored.masked_select(present).to(torch::kDouble).contiguous();
      truth.assign(truth_t.data_ptr<double>(), truth_t.data_ptr<double>() + truth_t.numel());
      predicted.assign(pred_t.data_ptr<double>(), pred_t.data_ptr<double>() + pred_t.numel());
      out.metrics[head.target] = head.width == 1
                                     ? binary_metrics(truth, predicted)
                                     : multiclass_metrics(truth, predicted, static_cast<std::size_t>(head.width));
      out.positions.push_back(position_labels(data, t, row_index, labels, classes, std::move(cuts)));
      for (const auto& [name, value] : boundary_metrics(out.positions.back())) out.metrics[head.target][name] = value;
      continue;
    }
    torch::Tensor values;
    if (head.task == TaskType::binary) {
      values = torch::sigmoid(block.squeeze(1));
    } else if (head.task == TaskType::multiclass) {
      values = block.argmax(1).to(torch::kFloat);
    } else {
      values = block.squeeze(1);
    }
    values = values.contiguous();
    const float* v = values.data_ptr<float>();
    const auto& column = data.dataset().targets[t];
    truth.resize(n);
    predicted.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      const float prediction =
          head.task == TaskType::regression && standardizer ? standardizer->inverse(t, v[i]) : v[i];
      out.truth[i * targets + t] = column[rows[i]];
      out.prediction[i * targets + t] = prediction;
      truth[i] = column[rows[i]];
      predicted[i] = prediction;
    }
    switch (head.task) {
      case TaskType::regression:
        out.metrics[head.target] = regression_metrics(truth, predicted);
        break;
      case TaskType::binary:
        out.metrics[head.target] = binary_metrics(truth, predicted);
        break;
      case TaskType::multiclass:
        out.metrics[head.target] = multiclass_metrics(truth, predicted, static_cast<std::size_t>(head.width));
        break;
      case TaskType::per_position:
        break;
    }
  }
  return out;
}

}  // namespace gridfold::worker
