#include "common/race.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/paired_stats.hpp"

namespace gridfold {
namespace {

double score(const std::vector<std::vector<double>>& scores, std::uint32_t config, std::size_t fold) {
  if (config >= scores.size() || fold >= scores[config].size()) return std::nan("");
  return scores[config][fold];
}

}  // namespace

RaceDecision decide_round(std::span<const std::uint32_t> survivors, const std::vector<std::vector<double>>& scores,
                          std::size_t folds, const RaceSettings& settings) {
  RaceDecision decision;
  decision.folds = folds;
  decision.survivors.assign(survivors.begin(), survivors.end());
  std::sort(decision.survivors.begin(), decision.survivors.end());
  if (folds < settings.min_folds || decision.survivors.size() < 2) return decision;

  std::vector<std::uint32_t> scored;
  std::vector<RaceElimination> unscored;
  for (std::uint32_t c : decision.survivors) {
    std::size_t usable = 0;
    for (std::size_t f = 0; f < folds; ++f) usable += std::isnan(score(scores, c, f)) ? 0 : 1;
    if (usable >= settings.min_folds) {
      scored.push_back(c);
    } else {
      unscored.push_back({c, RaceElimination::Reason::unscored, usable, std::nan(""), 0.0});
    }
  }
  if (scored.empty()) return decision;  // nobody to compare against: keep everyone
  decision.eliminated = std::move(unscored);

  std::vector<std::size_t> shared;
  for (std::size_t f = 0; f < folds; ++f) {
    if (std::all_of(scored.begin(), scored.end(), [&](std::uint32_t c) { return !std::isnan(score(scores, c, f)); })) {
      shared.push_back(f);
    }
  }
  decision.shared_folds = shared.size();
  const double sign = settings.larger_is_better ? 1.0 : -1.0;
  auto mean_of = [&](std::uint32_t c) {
    double sum = 0;
    for (std::size_t f : shared) sum += sign * score(scores, c, f);
    return shared.empty() ? 0.0 : sum / static_cast<double>(shared.size());
  };
  std::uint32_t leader = scored.front();
  double best = mean_of(leader);
  for (std::uint32_t c : scored) {
    const double m = mean_of(c);
    if (m > best) best = m, leader = c;
  }
  decision.leader = leader;

  if (shared.size() >= settings.min_folds) {
    std::vector<RaceElimination> tests;
    for (std::uint32_t c : scored) {
      if (c == leader) continue;
      std::vector<double> diffs;
      for (std::size_t f : shared) diffs.push_back(sign * (score(scores, leader, f) - score(scores, c, f)));
      const PairedDifference d = corrected_paired_difference(diffs, settings.test_train_ratio, 0.95);
      tests.push_back({c, RaceElimination::Reason::worse, d.folds, d.mean, d.p_greater});
    }
    // Holm: the k-th smallest p-value (0-based) is compared with alpha / (m - k), stopping at
    // the first that is not below it.
    std::stable_sort(tests.begin(), tests.end(), [](const auto& a, const auto& b) { return a.p_value < b.p_value; });
    const std::size_t m = tests.size();
    for (std::size_t k = 0; k < m; ++k) {
      if (!(tests[k].p_value <= settings.alpha / static_cast<double>(m - k))) break;
      decision.eliminated.push_back(tests[k]);
    }
  }
  std::sort(decision.eliminated.begin(), decision.eliminated.end(),
            [](const auto& a, const auto& b) { return a.config < b.config; });
  std::erase_if(decision.survivors, [&](std::uint32_t c) {
    return std::any_of(decision.eliminated.begin(), decision.eliminated.end(),
                       [c](const RaceElimination& e) { return e.config == c; });
  });
  return decision;
}

std::string to_string(RaceElimination::Reason reason) {
  return reason == RaceElimination::Reason::worse ? "worse" : "unscored";
}

}  // namespace gridfold
