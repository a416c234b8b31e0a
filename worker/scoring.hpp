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

// Per target of `data`: a per_position target's decision thresholds (common/boundary_calls.hpp),
// one per class with entry 0 NaN, each chosen to maximise its class's boundary F1 on `rows`
// (the validation split) from `outputs` (as predict_rows returns them for those rows); empty
// for the other targets. Every threshold is kDefaultBoundaryThreshold without rows.
std::vector<std::vector<double>> choose_thresholds(const EncodedData& data, std::span<const std::uint32_t> rows,
                                                   const at::Tensor& outputs);

// Scores `outputs` ([rows][outputs], or [rows][outputs][positions], as predict_rows returns
// them for `rows` of `data`). Regression predictions are mapped back to original units with
// `standardizer` (none: they already are); binary outputs become probabilities, multiclass
// outputs class indices; per_position targets predict the boundary calls of `thresholds`
// (as choose_thresholds returns them; a missing entry is kDefaultBoundaryThreshold) at every
// position, background elsewhere. Metrics use only rows (or positions) whose truth is known.
TestScores score_rows(const EncodedData& data, const std::optional<Standardizer>& standardizer,
                      std::span<const std::uint32_t> rows, const at::Tensor& outputs,
                      const std::vector<std::vector<double>>& thresholds = {});

// A per_position head's outputs ([rows][width][positions]) as class probabilities
// [rows][classes][positions], float, contiguous: softmax over the classes, or for a width-1
// head the background and class 1 from its sigmoid.
at::Tensor class_probabilities(const at::Tensor& head_outputs);

// The decision rule over `probabilities` (as class_probabilities returns them, on the CPU):
// [rows][positions] uint8 class indices.
at::Tensor call_classes(const at::Tensor& probabilities, const std::vector<double>& thresholds, std::size_t tolerance);

}  // namespace gridfold::worker
