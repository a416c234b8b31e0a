#include "common/boundary_calls.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>

#include "common/metrics.hpp"
#include "common/position_labels.hpp"

namespace gridfold {
namespace {

// Candidates below this never become calls worth choosing: a model that gives a true
// boundary less than 1 in 1000 has not found it.
constexpr float kLowestCandidate = 0.001f;
constexpr std::size_t kMostThresholdsTried = 256;

struct Peak {
  std::size_t row, position;
  float probability;
};

}  // namespace

std::vector<std::size_t> call_peaks(std::span<const float> probability, double threshold, std::size_t tolerance) {
  std::vector<std::size_t> candidates;
  for (std::size_t i = 0; i < probability.size(); ++i) {
    if (probability[i] >= threshold) candidates.push_back(i);
  }
  std::stable_sort(candidates.begin(), candidates.end(),
                   [&](std::size_t a, std::size_t b) { return probability[a] > probability[b]; });
  std::vector<bool> suppressed(probability.size(), false);
  std::vector<std::size_t> peaks;
  for (std::size_t i : candidates) {
    if (suppressed[i]) continue;
    peaks.push_back(i);
    const std::size_t first = i > tolerance ? i - tolerance : 0;
    const std::size_t last = std::min(probability.size() - 1, i + tolerance);
    std::fill(suppressed.begin() + static_cast<std::ptrdiff_t>(first),
              suppressed.begin() + static_cast<std::ptrdiff_t>(last) + 1, true);
  }
  std::sort(peaks.begin(), peaks.end());
  return peaks;
}

void call_boundaries(std::span<const float> probability, std::size_t classes, std::span<const double> thresholds,
                     std::size_t tolerance, std::span<std::uint8_t> out) {
  const std::size_t length = out.size();
  if (probability.size() != classes * length || thresholds.size() != classes) {
    throw std::invalid_argument("call_boundaries: probability, thresholds and out disagree in size");
  }
  std::fill(out.begin(), out.end(), std::uint8_t{0});
  for (std::size_t c = 1; c < classes; ++c) {
    const auto row = probability.subspan(c * length, length);
    for (std::size_t p : call_peaks(row, thresholds[c], tolerance)) {
      const std::uint8_t held = out[p];
      if (held == 0 || row[p] > probability[held * length + p]) out[p] = static_cast<std::uint8_t>(c);
    }
  }
}

ThresholdChoice choose_threshold(const ClassEvidence& evidence, std::uint8_t boundary_class, std::size_t tolerance) {
  if (evidence.probability.size() != evidence.truth.size()) {
    throw std::invalid_argument("choose_threshold: probability and truth rows differ in number");
  }
  std::vector<std::vector<std::size_t>> truth(evidence.truth.size());
  std::vector<Peak> peaks;
  std::size_t true_boundaries = 0;
  for (std::size_t r = 0; r < evidence.truth.size(); ++r) {
    const auto labels = evidence.truth[r];
    const auto probability = evidence.probability[r];
    if (probability.size() != labels.size()) throw std::invalid_argument("choose_threshold: row lengths differ");
    for (std::size_t p = 0; p < labels.size(); ++p) {
      if (labels[p] == boundary_class) truth[r].push_back(p);
    }
    true_boundaries += truth[r].size();
    // Peaks at unscored positions are dropped after the suppression, as when scoring.
    for (std::size_t p : call_peaks(probability, kLowestCandidate, tolerance)) {
      if (labels[p] != kNoLabel) peaks.push_back({r, p, probability[p]});
    }
  }
  ThresholdChoice best;
  if (true_boundaries == 0) {
    best.f1 = std::numeric_limits<double>::quiet_NaN();
    return best;
  }
  std::vector<float> levels;
  for (const Peak& peak : peaks) levels.push_back(peak.probability);
  std::sort(levels.begin(), levels.end(), std::greater<>());
  levels.erase(std::unique(levels.begin(), levels.end()), levels.end());
  if (levels.size() > kMostThresholdsTried) {
    std::vector<float> quantiles;
    for (std::size_t i = 0; i < kMostThresholdsTried; ++i) {
      quantiles.push_back(levels[i * (levels.size() - 1) / (kMostThresholdsTried - 1)]);
    }
    levels = std::move(quantiles);
  }
  std::vector<std::vector<std::size_t>> calls(truth.size());
  for (const float level : levels) {  // descending: at equal F1 the first (higher) one stays
    for (auto& row : calls) row.clear();
    std::size_t called = 0;
    for (const Peak& peak : peaks) {
      if (peak.probability < level) continue;
      calls[peak.row].push_back(peak.position);  // ascending within a row: peaks are in order
      ++called;
    }
    std::size_t matched = 0;
    for (std::size_t r = 0; r < truth.size(); ++r) {
      if (calls[r].empty() || truth[r].empty()) continue;
      const BoundaryMatching m = match_positions(truth[r], calls[r], tolerance);
      matched += static_cast<std::size_t>(std::count(m.truth_matched.begin(), m.truth_matched.end(), true));
    }
    const double f1 = 2.0 * static_cast<double>(matched) / static_cast<double>(called + true_boundaries);
    if (f1 > best.f1) best = {static_cast<double>(level), f1};
  }
  return best;
}

}  // namespace gridfold
