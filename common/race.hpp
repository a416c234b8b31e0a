// Racing (search.strategy: race, docs/spec.md): configs are scored on the race folds in
// rounds, and after each round the configs significantly worse than the leader are eliminated,
// so their remaining folds never train.
//
// The rule compares each survivor with the leader, paired over the folds all survivors share,
// by the corrected resampled t-test (common/paired_stats.hpp), one-sided, with Holm's
// step-down correction over the survivors' comparisons. It is the statistic harvest reports for
// every config (the difference to the best and its interval), so a config the race drops is one
// harvest would have called distinguishable on the same folds. Friedman-rank racing (F-race)
// was not chosen: ranks throw away how much worse a config is, and a rank test needs many
// configs per fold before it can tell any apart.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace gridfold {

struct RaceSettings {
  double alpha = 0.05;             // family-wise error of one round's eliminations (Holm)
  std::size_t min_folds = 5;       // no config is eliminated on fewer shared folds
  double test_train_ratio = 0.25;  // n_test / n_train of a race fold (Nadeau-Bengio correction)
  bool larger_is_better = true;    // of the race metric
};

struct RaceElimination {
  enum class Reason { worse, unscored };
  std::uint32_t config = 0;
  Reason reason = Reason::worse;
  std::size_t folds = 0;       // worse: shared folds of the test; unscored: its usable scores
  double mean_difference = 0;  // leader minus config, signed so that positive = leader better
  double p_value = 1;          // one-sided, before Holm's correction
};

struct RaceDecision {
  std::size_t folds = 0;                 // race folds decided on: 0 .. folds-1
  std::size_t shared_folds = 0;          // of those, where every scored survivor has a score
  std::optional<std::uint32_t> leader;   // best mean over the shared folds
  std::vector<std::uint32_t> survivors;  // after the decision, ascending
  std::vector<RaceElimination> eliminated;
};

// One elimination round. scores[c][f] is config c's race metric on race fold f (NaN or absent:
// no usable score, a failed task or an undefined metric); only folds 0 .. folds-1 count.
// - Before `min_folds` folds nothing is eliminated.
// - A survivor with fewer than min_folds usable scores among them is eliminated as unscored
//   (it failed or diverged on the rest) unless no survivor has min_folds.
// - The others are compared with the leader over the folds they all share; none is eliminated
//   on fewer than min_folds shared folds. The leader (ties: the lower index) always survives.
// A pure function: every rank that decides a round from the same scores decides the same.
RaceDecision decide_round(std::span<const std::uint32_t> survivors, const std::vector<std::vector<double>>& scores,
                          std::size_t folds, const RaceSettings& settings);

std::string to_string(RaceElimination::Reason reason);

}  // namespace gridfold
