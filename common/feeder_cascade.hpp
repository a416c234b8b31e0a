// The trade-off of a feeder cascade (`gridfold predict --filter-model`): a window-level
// binary model (does this window hold a boundary?) passes the windows whose probability
// reaches a threshold to the per-position boundary model, and the others get no calls. It
// saves the boundary model's work on windows without boundaries, and loses the boundaries of
// the windows it holds back. When the input holds the truth, this says how much: the feeder's
// window-level recall and precision, over a range of thresholds so users can pick one, and
// the boundary model's F1 at tolerance with and without the filter. Plain arithmetic on
// probabilities and class digits, no networks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/errors.hpp"
#include "common/metrics.hpp"
#include "common/model_file.hpp"
#include "common/position_labels.hpp"

namespace gridfold {

// The two models cannot form a cascade: the filter is not a model of one binary target, the
// main model has no per_position target, or they read different inputs.
class FilterModelError : public BadInputError {
 public:
  using BadInputError::BadInputError;
};

// Throws FilterModelError naming both files and what would be valid.
void check_cascade(const ModelFile& filter, const std::string& filter_file, const ModelFile& model,
                   const std::string& model_file);

// The feeder at one threshold. Rows whose truth is unknown count in `rows` and `passed` only.
struct FeederPoint {
  double threshold = 0.5;
  std::size_t rows = 0, passed = 0;  // all rows; rows whose probability is >= threshold
  std::size_t positives = 0;         // rows whose truth is 1 (a boundary window)
  std::size_t passed_known = 0;      // passed rows whose truth is known
  std::size_t passed_positives = 0;  // passed rows whose truth is 1
  // passed_positives / positives, passed_positives / passed_known, passed / rows; NaN when
  // the denominator is 0.
  double recall() const;
  double precision() const;
  double share_passed() const;
};

// `probability` and `truth` are per row; truth 1 a boundary window, 0 none, NaN unknown.
// Throws std::invalid_argument when their sizes differ.
FeederPoint feeder_point(std::span<const float> probability, std::span<const float> truth, double threshold);

// Per row: 1 when its labels (class digits, anything else unlabelled) hold a boundary class,
// 0 when they hold labelled positions and none is a boundary, NaN without labelled positions.
std::vector<float> boundary_windows(const std::vector<std::string>& labels);

// True labels (class digits; other characters, such as flank dots, are kNoLabel) and predicted
// class digits per row, as PositionLabels for boundary_metrics. Throws std::invalid_argument
// when the rows differ in number.
PositionLabels position_labels_of(const std::string& target, const std::vector<std::string>& classes,
                                  std::int64_t tolerance, const std::vector<std::string>& truth,
                                  const std::vector<std::string>& prediction);

struct CascadeBoundaries {
  std::uint64_t truth = 0;  // true boundaries (every boundary class)
  std::uint64_t lost = 0;   // of them in rows the filter held back
  // precision, recall and f1 at tolerance (boundary_metrics) of the boundary model's calls on
  // every row, and of the cascade's (held-back rows predict no boundary)
  MetricValues without_filter, with_filter;
};

// `alone` holds the truth and the boundary model's calls on every row; `passed` per row.
// Throws std::invalid_argument when `passed` is not one entry per row.
CascadeBoundaries cascade_boundaries(const PositionLabels& alone, std::span<const std::uint8_t> passed);

// The thresholds of the trade-off table: 0.1, 0.2, ..., 0.9.
std::vector<double> feeder_sweep_thresholds();

struct CascadeSummary {
  std::string filter_target;                    // the feeder's binary target
  std::string target;                           // the boundary model's per_position target
  std::string window_truth;                     // the column the window truth came from; empty without it
  FeederPoint chosen;                           // at the threshold used
  std::vector<FeederPoint> sweep;               // at feeder_sweep_thresholds(); empty without window truth
  std::optional<CascadeBoundaries> boundaries;  // when the input holds the boundary labels
};

// A few lines for the terminal: rows passed of total, and with the truth the trade-off.
std::string render_cascade_text(const CascadeSummary& summary);
// The same as a JSON object (docs/cli.md, predict).
std::string cascade_json(const CascadeSummary& summary);

}  // namespace gridfold
