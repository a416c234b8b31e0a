#include "worker/scoring.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <limits>

#include "common/boundary_tally.hpp"
#include "worker/encoded_data.hpp"
#include "worker/models.hpp"

namespace gridfold::worker {
namespace {

// The true and predicted class at every position of the test rows (labels and values
// [row][position], NaN where the truth is unknown), for the fold result: harvest scores
// boundaries along the window from them. Width-1 heads predict class 1 from probability 0.5.
PositionLabels position_labels(const EncodedData& data, std::size_t t, const torch::Tensor& row_index,
                               const torch::Tensor& labels, const torch::Tensor& values) {
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
  const torch::Tensor unknown = labels.isnan();
  const torch::Tensor classes = head.width == 1 ? values.ge(0.5) : values;
  const torch::Tensor truth = labels.masked_fill(unknown, kNoLabel).to(torch::kUInt8).contiguous();
  const torch::Tensor prediction = classes.to(torch::kUInt8).masked_fill(unknown, kNoLabel).contiguous();
  const torch::Tensor lengths = data.lengths().index_select(0, row_index).to(torch::kInt).contiguous();
  out.truth.assign(truth.data_ptr<std::uint8_t>(), truth.data_ptr<std::uint8_t>() + truth.numel());
  out.prediction.assign(prediction.data_ptr<std::uint8_t>(), prediction.data_ptr<std::uint8_t>() + prediction.numel());
  out.lengths.assign(lengths.data_ptr<std::int32_t>(), lengths.data_ptr<std::int32_t>() + lengths.numel());
  return out;
}

}  // namespace

TestScores score_rows(const EncodedData& data, const std::optional<Standardizer>& standardizer,
                      std::span<const std::uint32_t> rows, const at::Tensor& outputs) {
  TestScores out;
  const auto& heads = data.heads();
  const std::size_t targets = heads.size();
  const std::size_t n = rows.size();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  out.truth.assign(n * targets, nan);
  out.prediction.assign(n * targets, nan);
  if (n == 0) return out;

  const torch::Tensor row_index = torch::tensor(std::vector<std::int64_t>(rows.begin(), rows.end()), torch::kLong);
  std::int64_t offset = 0;
  for (std::size_t t = 0; t < targets; ++t) {
    const OutputHead& head = heads[t];
    const torch::Tensor block = outputs.narrow(1, offset, head.width);
    offset += head.width;
    std::vector<double> truth, predicted;
    if (head.task == TaskType::per_position) {
      const torch::Tensor labels = data.targets().index_select(0, row_index).select(1, static_cast<std::int64_t>(t));
      const torch::Tensor present = labels.isnan().logical_not();
      const torch::Tensor values =
          head.width == 1 ? torch::sigmoid(block.squeeze(1)) : block.argmax(1).to(torch::kFloat);
      const torch::Tensor truth_t = labels.masked_select(present).to(torch::kDouble).contiguous();
      const torch::Tensor pred_t = values.masked_select(present).to(torch::kDouble).contiguous();
      truth.assign(truth_t.data_ptr<double>(), truth_t.data_ptr<double>() + truth_t.numel());
      predicted.assign(pred_t.data_ptr<double>(), pred_t.data_ptr<double>() + pred_t.numel());
      out.metrics[head.target] = head.width == 1
                                     ? binary_metrics(truth, predicted)
                                     : multiclass_metrics(truth, predicted, static_cast<std::size_t>(head.width));
      out.positions.push_back(position_labels(data, t, row_index, labels, values));
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
