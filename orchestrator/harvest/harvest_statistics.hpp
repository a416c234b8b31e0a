// What `gridfold harvest` computes from fold scores and test-set predictions, whatever they
// were stored in (the output files are described in docs/harvest.md).
//
// Standard deviations are sample standard deviations (ddof = 1, as pandas' std()): NaN for
// fewer than two values. NaN values (undefined metrics) are left out of every statistic.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/metrics.hpp"
#include "common/paired_stats.hpp"
#include "common/search_spec.hpp"  // default_ranking_metric
#include "common/spec.hpp"

namespace gridfold {

struct Stats {
  static constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  double mean = kNaN, sd = kNaN, min = kNaN, max = kNaN;  // sd: sample standard deviation
  std::size_t count = 0;                                  // values that were not NaN
};

Stats summarize(std::span<const double> values);

// The test-set metrics of one fold result; config indexes the plan's configs.
struct ScoredFold {
  std::uint32_t config = 0;
  int outer_fold = 0;
  int inner_fold = -1;
  std::map<std::string, MetricValues> metrics;  // target -> metric -> value
};

// The configs of one target ranked by the mean of `metric` over their outer folds
// (inner_fold == -1). Configs without an outer result, or whose mean is NaN, rank last; ties
// go to the lower config index.
struct ConfigRanking {
  struct Row {
    std::uint32_t config = 0;
    std::size_t rank = 0;  // 1 = best
    std::size_t outer_results = 0;
    std::map<std::string, Stats> metrics;  // every metric the target's results carry
    // compare_to_best: the best config's score minus this one's (signed so that positive means
    // the best is better) over the outer folds both have, with its corrected interval.
    PairedDifference to_best;
    bool indistinguishable = false;         // from the best: the interval reaches 0 (the best itself too)
    std::optional<std::size_t> eliminated;  // racing: the round before which a race eliminated it
  };
  std::string target, metric;
  bool larger_is_better = true;
  std::vector<Row> rows;  // in rank order, one per config
};

ConfigRanking rank_configs(std::span<const ScoredFold> folds, std::size_t config_count, const std::string& target,
                           const std::string& metric);

// Fills every row's to_best and indistinguishable: paired over the outer folds the row and the
// best row (rows.front()) both have, by the corrected resampled t-test (Nadeau and Bengio 2003,
// common/paired_stats.hpp) with n_test/n_train = test_train_ratio and a `confidence` interval.
// A config is indistinguishable from the best unless the interval's lower end is above 0; one
// sharing fewer than two folds with the best has no interval and counts as indistinguishable
// (nothing tells it apart). The intervals are not corrected for the number of configs.
void compare_to_best(ConfigRanking& ranking, std::span<const ScoredFold> folds, double test_train_ratio,
                     double confidence);

// Racing: the configs a race eliminated (eliminated_round[c] set) rank below every survivor,
// whatever their means: a mean over the few folds before elimination is not comparable with a
// survivor's over all folds. The order within each group is kept; ranks are renumbered.
void rank_survivors_first(ConfigRanking& ranking, const std::vector<std::optional<std::size_t>>& eliminated_round);

// Nested cross-validation: in each outer fold, the config with the best mean inner score
// (over that outer fold's inner results) is chosen, and its outer test score is recorded.
// Their mean is an estimate of the whole procedure's performance that the selection itself
// has not seen, unlike the best config's mean outer score.
//
// Only configs with a result (of the target) for every inner fold of the outer fold are
// candidates: a config scored on 1 of 3 inner folds would otherwise win on a lucky fold. An
// outer fold where no config is complete chooses nothing and is flagged (inner_complete false).
struct NestedSelection {
  struct Fold {
    int outer_fold = 0;
    std::optional<std::uint32_t> chosen;  // none when no complete config has an inner score
    double inner_mean = Stats::kNaN;
    std::size_t inner_results = 0;     // the chosen config's inner results (all inner folds)
    std::size_t complete_configs = 0;  // configs with every inner result: the candidates
    std::size_t partial_configs = 0;   // configs with some but not all inner results: left out
    double outer_score = Stats::kNaN;  // NaN when the chosen config has no outer result
    // Whether any config had all its inner results; false flags a fold whose inner tasks are
    // unfinished, and which adds nothing to the estimate.
    bool inner_complete() const { return complete_configs > 0; }
  };
  std::string target, metric;
  bool larger_is_better = true;
  std::size_t inner_folds = 0;  // inner folds per outer fold: what a complete config has
  std::vector<Fold> folds;      // one per outer fold
  Stats estimate;               // over the outer scores
};

// `inner_count` is the plan's inner folds per outer fold. Results outside the plan's configs
// and folds are ignored. `eliminated[o][c]` (racing on inner folds, empty otherwise) marks the
// configs the race of outer fold o eliminated: never candidates there, and not counted as
// partial, since their missing inner tasks will never run.
NestedSelection select_nested(std::span<const ScoredFold> folds, std::size_t config_count, std::size_t outer_count,
                              std::size_t inner_count, const std::string& target, const std::string& metric,
                              const std::vector<std::vector<bool>>& eliminated = {});

// What a reader of the nested estimate must know about unfinished inner tasks, in one line:
// the outer folds that chose nothing for want of a complete config (and so are left out of the
// estimate), and those whose choice left out partial configs (and may change when they finish).
// Empty when every config of every outer fold had all its inner results.
std::string incomplete_inner_warning(const NestedSelection& nested);

// Per-sample predictions gathered over the outer results of one selection ("best", "nested"
// or "config"): mean, standard deviation and count across the resamples in which the sample
// was in the test set, next to its true value. The rows do not depend on the order in which
// results were added.
class PredictionTable {
 public:
  // One outer result's predictions for one target: column `target_column` of the
  // [sample][target] matrices `truth` and `prediction`. NaN predictions are skipped.
  // `similarity`: each sample's highest similarity to the result's training part, or empty.
  void add(const std::string& selection, const std::string& target, std::optional<std::uint32_t> config, int outer_fold,
           std::span<const std::uint32_t> samples, std::span<const float> truth, std::span<const float> prediction,
           std::size_t target_column, std::size_t target_count, std::span<const float> similarity = {});

  struct Row {
    std::string selection, target;
    std::optional<std::uint32_t> config;  // none for "nested", whose config varies by fold
    std::uint32_t sample = 0;
    double truth = Stats::kNaN;
    double mean = Stats::kNaN, sd = Stats::kNaN;
    std::size_t count = 0;
    double train_similarity = Stats::kNaN;  // mean over the resamples that tested the sample; NaN if unknown
  };
  // Sorted by selection, target, config and sample.
  std::vector<Row> rows() const;

 private:
  struct Entry {
    std::uint32_t sample;
    std::int32_t outer_fold;
    float truth, prediction, similarity;
  };
  struct Key {
    std::string selection, target;
    std::optional<std::uint32_t> config;
    auto operator<=>(const Key&) const = default;
  };
  std::map<Key, std::vector<Entry>> groups_;
};

}  // namespace gridfold
