#include "orchestrator/harvest/harvest_statistics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <tuple>

#include <fmt/format.h>

namespace gridfold {

namespace {

// The value of target/metric in a fold, NaN when the fold lacks it.
double score_of(const ScoredFold& f, const std::string& target, const std::string& metric) {
  const auto t = f.metrics.find(target);
  if (t == f.metrics.end()) return Stats::kNaN;
  const auto m = t->second.find(metric);
  return m == t->second.end() ? Stats::kNaN : m->second;
}

// Whether a beats b under the ranking direction; NaN never beats anything.
bool better(double a, double b, bool larger_is_better) {
  if (std::isnan(a)) return false;
  if (std::isnan(b)) return true;
  return larger_is_better ? a > b : a < b;
}

}  // namespace

Stats summarize(std::span<const double> values) {
  Stats s;
  double sum = 0;
  for (const double v : values) {
    if (std::isnan(v)) continue;
    if (s.count == 0) s.min = s.max = v;
    s.min = std::min(s.min, v);
    s.max = std::max(s.max, v);
    sum += v;
    ++s.count;
  }
  if (s.count == 0) return s;
  s.mean = sum / static_cast<double>(s.count);
  if (s.count < 2) return s;
  double squares = 0;
  for (const double v : values) {
    if (!std::isnan(v)) squares += (v - s.mean) * (v - s.mean);
  }
  s.sd = std::sqrt(squares / static_cast<double>(s.count - 1));
  return s;
}

ConfigRanking rank_configs(std::span<const ScoredFold> folds, std::size_t config_count, const std::string& target,
                           const std::string& metric) {
  ConfigRanking ranking{target, metric, larger_is_better(metric), {}};
  std::vector<std::map<std::string, std::vector<double>>> values(config_count);
  std::vector<std::size_t> outer_results(config_count, 0);
  for (const ScoredFold& f : folds) {
    if (f.inner_fold != -1 || f.config >= config_count) continue;
    ++outer_results[f.config];
    const auto t = f.metrics.find(target);
    if (t == f.metrics.end()) continue;
    for (const auto& [name, value] : t->second) values[f.config][name].push_back(value);
  }
  for (std::uint32_t c = 0; c < config_count; ++c) {
    // A config whose results lack the target does not train it (a grid over data.targets);
    // one without results yet stays listed, unranked at the bottom.
    if (outer_results[c] > 0 && values[c].empty()) continue;
    ConfigRanking::Row row{c, 0, outer_results[c], {}};
    for (const auto& [name, v] : values[c]) row.metrics[name] = summarize(v);
    ranking.rows.push_back(std::move(row));
  }
  const auto mean_of = [&](const ConfigRanking::Row& r) {
    const auto m = r.metrics.find(metric);
    return m == r.metrics.end() ? Stats::kNaN : m->second.mean;
  };
  std::stable_sort(ranking.rows.begin(), ranking.rows.end(), [&](const auto& a, const auto& b) {
    return better(mean_of(a), mean_of(b), ranking.larger_is_better);
  });
  for (std::size_t i = 0; i < ranking.rows.size(); ++i) ranking.rows[i].rank = i + 1;
  return ranking;
}

void compare_to_best(ConfigRanking& ranking, std::span<const ScoredFold> folds, double test_train_ratio,
                     double confidence) {
  if (ranking.rows.empty()) return;
  std::map<std::uint32_t, std::map<int, double>> outer;  // config -> outer fold -> score
  for (const ScoredFold& f : folds) {
    if (f.inner_fold == -1) outer[f.config][f.outer_fold] = score_of(f, ranking.target, ranking.metric);
  }
  const double sign = ranking.larger_is_better ? 1.0 : -1.0;
  const auto& best = outer[ranking.rows.front().config];
  for (auto& row : ranking.rows) {
    std::vector<double> diffs;
    for (const auto& [fold, v] : outer[row.config]) {
      const auto b = best.find(fold);
      if (b != best.end()) diffs.push_back(sign * (b->second - v));
    }
    row.to_best = corrected_paired_difference(diffs, test_train_ratio, confidence);
    row.indistinguishable = !(row.to_best.low > 0);
  }
}

void rank_survivors_first(ConfigRanking& ranking, const std::vector<std::optional<std::size_t>>& eliminated_round) {
  for (auto& row : ranking.rows) {
    if (row.config < eliminated_round.size()) row.eliminated = eliminated_round[row.config];
  }
  std::stable_partition(ranking.rows.begin(), ranking.rows.end(), [](const auto& row) { return !row.eliminated; });
  for (std::size_t i = 0; i < ranking.rows.size(); ++i) ranking.rows[i].rank = i + 1;
}

NestedSelection select_nested(std::span<const ScoredFold> folds, std::size_t config_count, std::size_t outer_count,
                              std::size_t inner_count, const std::string& target, const std::string& metric,
                              const std::vector<std::vector<bool>>& eliminated) {
  NestedSelection nested{target, metric, larger_is_better(metric), inner_count, {}, {}};
  // inner[outer][config]: inner scores; results[outer][config]: inner results carrying the
  // target (a NaN score is a result too); outer_score[outer][config]: the outer test score.
  std::vector<std::vector<std::vector<double>>> inner(outer_count, std::vector<std::vector<double>>(config_count));
  std::vector<std::vector<std::size_t>> results(outer_count, std::vector<std::size_t>(config_count, 0));
  std::vector<std::vector<double>> outer_score(outer_count, std::vector<double>(config_count, Stats::kNaN));
  for (const ScoredFold& f : folds) {
    if (f.config >= config_count || f.outer_fold < 0 || static_cast<std::size_t>(f.outer_fold) >= outer_count) continue;
    const double v = score_of(f, target, metric);
    if (f.inner_fold == -1) {
      outer_score[f.outer_fold][f.config] = v;
    } else if (f.inner_fold >= 0 && static_cast<std::size_t>(f.inner_fold) < inner_count &&
               f.metrics.contains(target)) {
      ++results[f.outer_fold][f.config];
      if (!std::isnan(v)) inner[f.outer_fold][f.config].push_back(v);
    }
  }
  std::vector<double> chosen_scores;
  for (std::size_t o = 0; o < outer_count; ++o) {
    NestedSelection::Fold fold;
    fold.outer_fold = static_cast<int>(o);
    for (std::uint32_t c = 0; c < config_count; ++c) {
      if (results[o][c] == 0) continue;
      if (o < eliminated.size() && c < eliminated[o].size() && eliminated[o][c]) continue;
      if (results[o][c] < inner_count) {
        ++fold.partial_configs;
        continue;
      }
      ++fold.complete_configs;
      const Stats s = summarize(inner[o][c]);
      if (s.count == 0) continue;
      if (!fold.chosen || better(s.mean, fold.inner_mean, nested.larger_is_better)) {
        fold.chosen = c;
        fold.inner_mean = s.mean;
        fold.inner_results = results[o][c];
      }
    }
    if (fold.chosen) fold.outer_score = outer_score[o][*fold.chosen];
    chosen_scores.push_back(fold.outer_score);
    nested.folds.push_back(fold);
  }
  nested.estimate = summarize(chosen_scores);
  return nested;
}

namespace {

// "0, 2, 5" or, for many, the first ones and how many more.
std::string fold_list(const std::vector<int>& folds) {
  constexpr std::size_t kShown = 10;
  std::string out;
  for (std::size_t i = 0; i < std::min(folds.size(), kShown); ++i) out += (i ? ", " : "") + std::to_string(folds[i]);
  if (folds.size() > kShown) out += fmt::format(" and {} more", folds.size() - kShown);
  return out;
}

}  // namespace

std::string incomplete_inner_warning(const NestedSelection& nested) {
  std::vector<int> incomplete, partial;
  for (const auto& fold : nested.folds) {
    if (!fold.inner_complete()) {
      incomplete.push_back(fold.outer_fold);
    } else if (fold.partial_configs > 0) {
      partial.push_back(fold.outer_fold);
    }
  }
  std::vector<std::string> parts;
  if (!incomplete.empty()) {
    parts.push_back(
        fmt::format("outer fold{} {} ({} of {}) ha{} no config with all {} inner results, so no config "
                    "is chosen there and the estimate leaves {} out",
                    incomplete.size() == 1 ? "" : "s", fold_list(incomplete), incomplete.size(), nested.folds.size(),
                    incomplete.size() == 1 ? "s" : "ve", nested.inner_folds, incomplete.size() == 1 ? "it" : "them"));
  }
  if (!partial.empty()) {
    parts.push_back(
        fmt::format("in outer fold{} {} configs with only some of their {} inner results were left out "
                    "of the choice, which may change when they finish",
                    partial.size() == 1 ? "" : "s", fold_list(partial), nested.inner_folds));
  }
  if (parts.empty()) return "";
  return fmt::format("nested selection ({}): {}; run the missing inner tasks and harvest again", nested.target,
                     fmt::join(parts, "; "));
}

void PredictionTable::add(const std::string& selection, const std::string& target, std::optional<std::uint32_t> config,
                          int outer_fold, std::span<const std::uint32_t> samples, std::span<const float> truth,
                          std::span<const float> prediction, std::size_t target_column, std::size_t target_count,
                          std::span<const float> similarity) {
  auto& entries = groups_[Key{selection, target, config}];
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const std::size_t cell = i * target_count + target_column;
    if (std::isnan(prediction[cell])) continue;
    const float near = similarity.empty() ? std::numeric_limits<float>::quiet_NaN() : similarity[i];
    entries.push_back({samples[i], outer_fold, truth[cell], prediction[cell], near});
  }
}

std::vector<PredictionTable::Row> PredictionTable::rows() const {
  std::vector<Row> rows;
  std::vector<double> values, similarities;
  for (const auto& [key, unsorted] : groups_) {
    // Sorting fixes the summation order, so loose and archived copies give identical sums.
    std::vector<Entry> entries = unsorted;
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
      return std::tie(a.sample, a.outer_fold) < std::tie(b.sample, b.outer_fold);
    });
    for (std::size_t first = 0; first < entries.size();) {
      std::size_t last = first;
      values.clear();
      similarities.clear();
      double truth = Stats::kNaN;
      for (; last < entries.size() && entries[last].sample == entries[first].sample; ++last) {
        values.push_back(entries[last].prediction);
        if (!std::isnan(entries[last].similarity)) similarities.push_back(entries[last].similarity);
        if (std::isnan(truth)) truth = entries[last].truth;
      }
      const Stats s = summarize(values);
      rows.push_back({key.selection, key.target, key.config, entries[first].sample, truth, s.mean, s.sd, s.count,
                      similarities.empty() ? Stats::kNaN : summarize(similarities).mean});
      first = last;
    }
  }
  return rows;
}

}  // namespace gridfold
