// Scoring a trained network's outputs on a fold's test rows: the truth and predictions in
// original units, every target's metrics, and for per_position targets the true and
// predicted class at every position (scored for boundaries too).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/encoding.hpp"
#include "common/metrics.hpp"
#include "common/position_labels.hpp"

namespace at {
class Tensor;
}

namespace gridfold::worker {

class EncodedData;

// A fold's test scores, laid out as in TrainingOutcome.
struct TestScores {
  std::map<std::string, MetricValues> metrics;  // target -> metric
  // [row][target] in original units: regression values, binary probabilities, multiclass
  // class indices; NaN for per-position targets (their classes are in `positions`).
  std::vector<float> truth, prediction;
  std::vector<PositionLabels> positions;  // one per per_position target, in target order
};

// Scores `outputs` ([rows][outputs], or [rows][outputs][positions], as predict_rows returns
// them for `rows` of `data`). Regression predictions are mapped back to original units with
// `standardizer` (none: they already are); binary outputs become probabilities, multiclass
// outputs class indices; width-1 per_position heads predict class 1 from probability 0.5.
// Metrics use only rows (or positions) whose truth is known.
TestScores score_rows(const EncodedData& data, const std::optional<Standardizer>& standardizer,
                      std::span<const std::uint32_t> rows, const at::Tensor& outputs);

}  // namespace gridfold::worker
