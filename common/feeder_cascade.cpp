#include "common/feeder_cascade.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "common/boundary_tally.hpp"

namespace gridfold {
namespace {

double ratio(std::size_t numerator, std::size_t denominator) {
  return denominator == 0 ? std::numeric_limits<double>::quiet_NaN()
                          : static_cast<double>(numerator) / static_cast<double>(denominator);
}

bool is_class_digit(char c) {
  return c >= '0' && c <= '9';
}

// NaN as JSON null.
nlohmann::json number(double value) {
  return std::isnan(value) ? nlohmann::json(nullptr) : nlohmann::json(value);
}

std::string percent(double value) {
  return std::isnan(value) ? "n/a" : fmt::format("{:.1f}%", 100.0 * value);
}
std::string score(double value) {
  return std::isnan(value) ? "n/a" : fmt::format("{:.3f}", value);
}

nlohmann::json point_json(const FeederPoint& p) {
  return {{"threshold", p.threshold},
          {"rows", p.rows},
          {"passed", p.passed},
          {"positives", p.positives},
          {"passed_positives", p.passed_positives},
          {"passed_known", p.passed_known},
          {"recall", number(p.recall())},
          {"precision", number(p.precision())},
          {"share_passed", number(p.share_passed())}};
}

nlohmann::json scores_json(const MetricValues& scores) {
  nlohmann::json out = nlohmann::json::object();
  for (const char* name : {"f1", "precision", "recall"}) out[name] = number(scores.at(name));
  return out;
}

}  // namespace

void check_cascade(const ModelFile& filter, const std::string& filter_file, const ModelFile& model,
                   const std::string& model_file) {
  if (filter.targets.size() != 1 || filter.targets.front().task != TaskType::binary) {
    std::vector<std::string> held;
    for (const auto& t : filter.targets) held.push_back(fmt::format("{} ({})", t.name, to_string(t.task)));
    throw FilterModelError(
        fmt::format("--filter-model {} predicts {}; a filter model has one binary target (such as has_boundary "
                    "from gridfold prepare gtf-windows --all-windows)",
                    filter_file, fmt::join(held, ", ")));
  }
  if (std::none_of(model.targets.begin(), model.targets.end(),
                   [](const ModelTarget& t) { return t.task == TaskType::per_position; })) {
    throw FilterModelError(
        fmt::
            format("--model {} has no per_position target; --filter-model chooses the rows a per-position model labels",
                   model_file));
  }
  if (filter.sequence_column.empty() || filter.alphabet != model.alphabet) {
    throw FilterModelError(fmt::format(
        "--filter-model {} reads {}, --model {} reads {} sequences; both models must read the same sequences",
        filter_file,
        filter.sequence_column.empty() ? fmt::format("the feature columns {}", fmt::join(filter.feature_columns, ", "))
                                       : to_string(filter.alphabet) + " sequences",
        model_file, to_string(model.alphabet)));
  }
}

double FeederPoint::recall() const {
  return ratio(passed_positives, positives);
}
double FeederPoint::precision() const {
  return ratio(passed_positives, passed_known);
}
double FeederPoint::share_passed() const {
  return ratio(passed, rows);
}

FeederPoint feeder_point(std::span<const float> probability, std::span<const float> truth, double threshold) {
  if (probability.size() != truth.size()) {
    throw std::invalid_argument(
        fmt::format("feeder_point: {} probabilities for {} truth values", probability.size(), truth.size()));
  }
  FeederPoint p;
  p.threshold = threshold;
  p.rows = probability.size();
  for (std::size_t i = 0; i < probability.size(); ++i) {
    const bool passed = probability[i] >= threshold;
    const bool known = !std::isnan(truth[i]);
    const bool positive = known && truth[i] > 0.5f;
    p.passed += passed;
    p.positives += positive;
    p.passed_known += passed && known;
    p.passed_positives += passed && positive;
  }
  return p;
}

std::vector<float> boundary_windows(const std::vector<std::string>& labels) {
  std::vector<float> out;
  out.reserve(labels.size());
  for (const std::string& row : labels) {
    bool labelled = false, boundary = false;
    for (const char c : row) {
      if (!is_class_digit(c)) continue;
      labelled = true;
      boundary = boundary || c != '0';
    }
    out.push_back(labelled ? (boundary ? 1.0f : 0.0f) : std::numeric_limits<float>::quiet_NaN());
  }
  return out;
}

PositionLabels position_labels_of(const std::string& target, const std::vector<std::string>& classes,
                                  std::int64_t tolerance, const std::vector<std::string>& truth,
                                  const std::vector<std::string>& prediction) {
  if (truth.size() != prediction.size()) {
    throw std::invalid_argument(
        fmt::format("labels of '{}': {} true rows and {} predicted rows", target, truth.size(), prediction.size()));
  }
  PositionLabels out;
  out.target = target;
  out.classes = classes;
  out.tolerance = tolerance;
  for (std::size_t r = 0; r < truth.size(); ++r)
    out.width = std::max({out.width, truth[r].size(), prediction[r].size()});
  char highest = '1';
  out.truth.assign(truth.size() * out.width, kNoLabel);
  out.prediction.assign(truth.size() * out.width, kNoLabel);
  for (std::size_t r = 0; r < truth.size(); ++r) {
    out.lengths.push_back(static_cast<std::uint32_t>(std::max(truth[r].size(), prediction[r].size())));
    for (std::size_t p = 0; p < truth[r].size(); ++p) {
      const char c = truth[r][p];
      if (is_class_digit(c)) out.truth[r * out.width + p] = static_cast<std::uint8_t>(c - '0');
      if (is_class_digit(c)) highest = std::max(highest, c);
    }
    for (std::size_t p = 0; p < prediction[r].size(); ++p) {
      const char c = prediction[r][p];
      if (is_class_digit(c)) out.prediction[r * out.width + p] = static_cast<std::uint8_t>(c - '0');
      if (is_class_digit(c)) highest = std::max(highest, c);
    }
  }
  // A target without class names: as many classes as its digits reach (at least 0 and 1).
  if (out.classes.empty()) {
    for (char c = '0'; c <= highest; ++c) out.classes.emplace_back(1, c);
  }
  return out;
}

CascadeBoundaries cascade_boundaries(const PositionLabels& alone, std::span<const std::uint8_t> passed) {
  if (passed.size() != alone.rows()) {
    throw std::invalid_argument(
        fmt::format("cascade_boundaries: {} passed flags for {} rows", passed.size(), alone.rows()));
  }
  CascadeBoundaries out;
  PositionLabels filtered = alone;
  for (std::size_t r = 0; r < alone.rows(); ++r) {
    const std::size_t first = r * alone.width;
    for (std::size_t p = 0; p < alone.width; ++p) {
      const std::uint8_t t = alone.truth[first + p];
      const bool boundary = t != kNoLabel && t != 0;
      out.truth += boundary;
      if (passed[r]) continue;
      out.lost += boundary;
      if (filtered.prediction[first + p] != kNoLabel) filtered.prediction[first + p] = 0;
    }
  }
  out.without_filter = boundary_metrics(alone);
  out.with_filter = boundary_metrics(filtered);
  return out;
}

std::vector<double> feeder_sweep_thresholds() {
  std::vector<double> out;
  for (int i = 1; i <= 9; ++i) out.push_back(i / 10.0);
  return out;
}

std::string render_cascade_text(const CascadeSummary& s) {
  const FeederPoint& c = s.chosen;
  std::string text = fmt::format("filter {} >= {}: {} of {} rows passed to the {} model ({})\n", s.filter_target,
                                 c.threshold, c.passed, c.rows, s.target, percent(c.share_passed()));
  if (!s.window_truth.empty()) {
    text += fmt::format(
        "feeder (truth: {}): recall {} ({} of {} boundary windows passed), precision {} ({} of {} passed "
        "windows hold a boundary)\n",
        s.window_truth, percent(c.recall()), c.passed_positives, c.positives, percent(c.precision()),
        c.passed_positives, c.passed_known);
  }
  if (s.boundaries) {
    const CascadeBoundaries& b = *s.boundaries;
    text += fmt::format("boundaries lost in filtered-out rows: {} of {}\n", b.lost, b.truth);
    for (const auto& [name, scores] :
         {std::pair{"without the filter", b.without_filter}, std::pair{"with the filter   ", b.with_filter}}) {
      text += fmt::format("{} model {}: F1 {} precision {} recall {}\n", s.target, name, score(scores.at("f1")),
                          score(scores.at("precision")), score(scores.at("recall")));
    }
  }
  if (!s.sweep.empty()) {
    text += "threshold  recall  precision  passed\n";
    for (const FeederPoint& p : s.sweep) {
      text += fmt::format("{:>9.1f}  {:>6}  {:>9}  {:>6}\n", p.threshold, percent(p.recall()), percent(p.precision()),
                          percent(p.share_passed()));
    }
  }
  return text;
}

std::string cascade_json(const CascadeSummary& s) {
  nlohmann::json out{{"filter_target", s.filter_target},
                     {"target", s.target},
                     {"threshold", s.chosen.threshold},
                     {"rows", s.chosen.rows},
                     {"passed", s.chosen.passed}};
  if (!s.window_truth.empty()) {
    out["window_truth"] = s.window_truth;
    out["feeder"] = point_json(s.chosen);
    out["sweep"] = nlohmann::json::array();
    for (const FeederPoint& p : s.sweep) out["sweep"].push_back(point_json(p));
  }
  if (s.boundaries) {
    out["boundaries"] = {{"truth", s.boundaries->truth},
                         {"lost", s.boundaries->lost},
                         {"without_filter", scores_json(s.boundaries->without_filter)},
                         {"with_filter", scores_json(s.boundaries->with_filter)}};
  }
  return out.dump(2) + "\n";
}

}  // namespace gridfold
