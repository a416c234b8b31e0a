// Evaluation metrics, computed in double precision. Samples whose truth is NaN (missing
// target) are skipped. Metrics that are undefined for the input (e.g. AUROC with one class)
// are NaN rather than a made-up number.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace gridfold {

// Metric name -> value, e.g. {"r2": 0.98, "rmse": 0.31}.
using MetricValues = std::map<std::string, double>;

// r2, rmse, mae, pearson, spearman (average ranks for ties), n.
MetricValues regression_metrics(std::span<const double> truth, std::span<const double> prediction);

// truth 0/1, score = predicted probability of class 1. accuracy, f1 and mcc at `threshold`;
// auroc (ties count one half), auprc (average precision), n.
MetricValues binary_metrics(std::span<const double> truth, std::span<const double> score, double threshold = 0.5);

// truth and prediction are class indices. accuracy, macro_f1, mcc (Gorodkin's K-class), n.
MetricValues multiclass_metrics(std::span<const double> truth, std::span<const double> prediction, std::size_t classes);

// Boundary detection along a sequence: a predicted positive within `tolerance` positions of
// an unmatched true positive counts as a hit (one-to-one matching). precision, recall, f1, n
// (positions). Precision is NaN with no predicted positive, recall with no true positive, f1
// only when there are neither.
MetricValues positional_f1(std::span<const std::uint8_t> truth, std::span<const std::uint8_t> predicted,
                           std::size_t tolerance);

// The one-to-one matching behind positional_f1: the positions of the true and the predicted
// positives (ascending), and which of them were matched.
struct BoundaryMatching {
  std::vector<std::size_t> truth, predicted;
  std::vector<bool> truth_matched, predicted_matched;
};
BoundaryMatching match_boundaries(std::span<const std::uint8_t> truth, std::span<const std::uint8_t> predicted,
                                  std::size_t tolerance);
// The same matching given the positive positions themselves, each list ascending.
BoundaryMatching match_positions(std::vector<std::size_t> truth, std::vector<std::size_t> predicted,
                                 std::size_t tolerance);

// The metric each task type is ranked by by default, and whether larger is better.
bool larger_is_better(const std::string& metric);

}  // namespace gridfold
