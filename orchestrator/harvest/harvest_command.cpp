#include "orchestrator/harvest/harvest_command.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "common/planned_experiment.hpp"
#include "common/archive_catalog.hpp"
#include "common/experiment_layout.hpp"
#include "common/fold_result.hpp"
#include "common/fold_scores.hpp"
#include "common/plan.hpp"
#include "common/race_standing.hpp"
#include "common/result_fingerprint.hpp"
#include "orchestrator/harvest/result_scores.hpp"
#include "orchestrator/harvest/result_store.hpp"

namespace gridfold {
namespace {

// Results are found by name (pack, status and resubmission rely on it), so a file whose
// content belongs to another task would be counted twice or in the wrong place.
void check_name(const ExperimentLayout& layout, const std::string& name, const FoldScores& s) {
  const std::string expected =
      layout.result(s.config_id, s.outer_fold, s.inner_fold).lexically_relative(layout.root()).generic_string();
  if (name != expected) {
    throw HarvestError(
        fmt::format("{} holds the result of config {} outer fold {} inner fold {}, which belongs at {}; "
                    "move it back",
                    name, s.config_id, s.outer_fold, s.inner_fold, expected));
  }
}

void check_metric(const std::vector<ScoredFold>& folds, const std::string& target, const std::string& metric) {
  std::set<std::string> available;
  for (const ScoredFold& f : folds) {
    const auto t = f.metrics.find(target);
    if (t == f.metrics.end()) continue;
    if (t->second.count(metric)) return;
    for (const auto& [name, value] : t->second) available.insert(name);
  }
  throw HarvestError(fmt::format("no result of target '{}' has the metric '{}'; choose --metric from: {}", target,
                                 metric, fmt::join(available, ", ")));
}

// Which predictions of a result go into which selection of the prediction table.
struct PredictionUse {
  std::string selection;
  std::string target;
  std::optional<std::uint32_t> config;
};

// Result name -> the uses of its predictions.
using PredictionUses = std::unordered_map<std::string, std::vector<PredictionUse>>;

void add_predictions(PredictionTable& table, PositionProfiles& profiles, const FoldResult& result,
                     const PredictionUse& use) {
  for (const PositionLabels& labels : result.positions) {
    if (labels.target == use.target) profiles.add(use.selection, use.config, labels);
  }
  const auto& names = result.target_names;
  const auto column = std::find(names.begin(), names.end(), use.target);
  if (column == names.end()) return;
  table.add(use.selection, use.target, use.config, result.outer_fold, result.sample_index, result.truth,
            result.prediction, static_cast<std::size_t>(column - names.begin()), names.size(), result.train_similarity);
}

std::string result_name(const ExperimentLayout& layout, const std::string& config_id, int outer_fold) {
  return layout.result(config_id, outer_fold, -1).lexically_relative(layout.root()).generic_string();
}

// Pass 1: the scores of every result, in several processes when there are many. Reading only
// scores keeps this pass fast; the few results whose predictions are reported are read in full
// afterwards. Counts what was read into `r`; results whose fingerprint is not the one the plan
// expects are counted as stale and left out.
std::vector<ScoredFold> score_results(const ExperimentLayout& layout, const ExperimentPlan& plan,
                                      const ResultStore& store, HarvestReport& r) {
  constexpr std::size_t kResultsPerProcess = 5000;  // below this, starting processes costs more than it saves
  const std::size_t results = store.loose_count() + store.archived_count();
  const auto processes =
      static_cast<unsigned>(std::clamp<std::size_t>(results / kResultsPerProcess, 1, available_cpus()));
  std::unordered_map<std::string, std::uint32_t> config_of_id;
  for (std::uint32_t c = 0; c < plan.configs.size(); ++c) config_of_id.emplace(plan.configs[c].id, c);

  const std::vector<std::string> expected = expected_digests(plan);

  std::vector<ScoredFold> folds;
  for (NamedScores& named : read_result_scores(store, processes)) {
    FoldScores& s = named.scores;
    check_name(layout, named.name, s);
    const auto config = config_of_id.find(s.config_id);
    if (config == config_of_id.end()) {
      ++r.unplanned;
      continue;
    }
    const bool planned_fold = s.outer_fold >= 0 && static_cast<std::size_t>(s.outer_fold) < plan.folds.outer_count() &&
                              s.inner_fold >= -1 && s.inner_fold < plan.folds.inner_count;
    if (!planned_fold || s.fingerprint != expected[task_index(plan, config->second, s.outer_fold, s.inner_fold)]) {
      ++r.stale;
      continue;
    }
    ++(s.inner_fold == -1 ? r.outer_results : r.inner_results);
    ++r.devices[s.device.empty() ? "unrecorded" : s.device];
    for (const auto& [rule, count] : s.firings) {
      DiagnosticTally& tally = r.diagnostics[{config->second, rule}];
      tally.firings += static_cast<std::size_t>(count);
      ++tally.tasks_flagged;
      if (s.stopped_by == rule) ++tally.tasks_stopped;
    }
    folds.push_back({config->second, s.outer_fold, s.inner_fold, std::move(s.metrics)});
  }
  // A fixed order fixes every floating-point sum: loose and archived results give identical output.
  std::sort(folds.begin(), folds.end(), [](const ScoredFold& a, const ScoredFold& b) {
    return std::tie(a.config, a.outer_fold, a.inner_fold) < std::tie(b.config, b.outer_fold, b.inner_fold);
  });
  return folds;
}

// n_test / n_train of the outer folds, for the corrected resampled t-test.
double outer_test_train_ratio(const ExperimentPlan& plan) {
  if (plan.folds.outer_count() == 0) return 0;
  const Task first{0, 0, -1};
  const auto train = static_cast<double>(train_rows(plan, first).size());
  return train > 0 ? static_cast<double>(test_rows(plan, first).size()) / train : 0;
}

// Racing over the outer folds: the round before which each config was eliminated, if it was.
// Races on inner folds eliminate per outer fold, so no config is eliminated as a whole there.
std::vector<std::optional<std::size_t>> eliminated_rounds(const std::vector<RaceRecord>& records, std::size_t configs) {
  std::vector<std::optional<std::size_t>> rounds(configs);
  for (const RaceRecord& record : records) {
    if (record.outer_fold >= 0) continue;
    for (const RaceElimination& e : record.decision.eliminated) rounds.at(e.config) = record.round;
  }
  return rounds;
}

// Ranks the configs for one target and selects by nested cross-validation; records in `uses`
// the outer results whose predictions the selections report.
HarvestTarget evaluate_target(const TargetSpec& target, const std::string& metric_option,
                              const std::vector<ScoredFold>& folds, const ExperimentPlan& plan,
                              const ExperimentLayout& layout, const std::vector<std::optional<std::size_t>>& eliminated,
                              const std::vector<std::vector<bool>>& inner_eliminated, PredictionUses& uses) {
  const std::string metric = metric_option.empty() ? default_ranking_metric(target.task) : metric_option;
  check_metric(folds, target.name, metric);
  HarvestTarget t{target.name, target.task,      rank_configs(folds, plan.configs.size(), target.name, metric),
                  {},          target.tolerance, target.classes};
  rank_survivors_first(t.ranking, eliminated);
  compare_to_best(t.ranking, folds, outer_test_train_ratio(plan), 0.95);
  const auto& best = t.ranking.rows.front();
  if (best.metrics.count(metric) && !std::isnan(best.metrics.at(metric).mean)) {
    for (int f = 0; f < static_cast<int>(plan.folds.outer_count()); ++f) {
      uses[result_name(layout, plan.configs[best.config].id, f)].push_back({"best", target.name, best.config});
    }
  }
  if (plan.folds.inner_count > 0) {
    t.nested = select_nested(folds, plan.configs.size(), plan.folds.outer_count(),
                             static_cast<std::size_t>(plan.folds.inner_count), target.name, metric, inner_eliminated);
    for (const auto& fold : t.nested->folds) {
      if (!fold.chosen) continue;
      uses[result_name(layout, plan.configs[*fold.chosen].id, fold.outer_fold)].push_back(
          {"nested", target.name, std::nullopt});
    }
  }
  return t;
}

// Pass 2: reads the results in `uses` in full and tabulates their predictions, per sample and,
// for per_position targets, along the window.
void read_predictions(const ResultStore& store, const PredictionUses& uses, HarvestReport& r) {
  PredictionTable table;
  PositionProfiles profiles;
  std::unordered_set<std::string> names;
  for (const auto& [name, list] : uses) names.insert(name);
  store.read(names, [&](const std::string& name, std::span<const std::byte> bytes) {
    const FoldResult result = read_fold_result_image(bytes.data(), bytes.size(), name);
    for (const PredictionUse& u : uses.at(name)) add_predictions(table, profiles, result, u);
  });
  r.predictions = table.rows();
  r.positions = profiles.rows();
}

std::string format_stats(const std::string& metric, const Stats& s) {
  return fmt::format("{} {:.4g} ± {:.2g} (min {:.4g}, max {:.4g}) over {} outer folds", metric, s.mean, s.sd, s.min,
                     s.max, s.count);
}

}  // namespace

std::vector<TargetSpec> targets_of_configs(const SpecDocument& doc, const ExperimentPlan& plan) {
  std::vector<TargetSpec> targets;
  for (const auto& config : plan.configs) {
    for (const TargetSpec& target : doc.resolve(config.params).data.targets) {
      const bool known =
          std::any_of(targets.begin(), targets.end(), [&](const TargetSpec& t) { return t.name == target.name; });
      if (!known) targets.push_back(target);
    }
  }
  return targets;
}

HarvestSummary harvest_experiment(const HarvestOptions& o) {
  const auto started = std::chrono::steady_clock::now();
  const PlannedExperiment experiment(o.experiment);
  const auto& [layout, plan, doc] = experiment;
  const ResultStore store(layout, experiment.archive_dir(), experiment.plan.experiment_id);

  HarvestSummary summary;
  HarvestReport& r = summary.report;
  r.experiment = plan.name;
  r.param_paths = plan.param_paths;
  r.configs = plan.configs;
  r.outer_folds = plan.folds.outer_count();
  r.inner_folds = static_cast<std::size_t>(plan.folds.inner_count);
  r.loose = store.loose_count();
  r.archived = store.archived_count();
  r.superseded = store.superseded_count();

  const std::vector<ScoredFold> folds = score_results(layout, plan, store, r);
  if (folds.empty()) {
    throw HarvestError(fmt::format("{} has no fold results of its plan yet (neither under results/ nor in archives){}",
                                   layout.root().string(),
                                   r.stale ? fmt::format("; {} results are stale (made from another spec, data or "
                                                         "gridfold version): run the tasks again",
                                                         r.stale)
                                           : ""));
  }
  std::vector<std::vector<bool>> inner_eliminated;  // racing on inner folds: by outer fold, by config
  if (is_race(plan)) {
    std::vector<bool> done(plan.tasks.size(), false);
    for (const ScoredFold& f : folds) done[task_index(plan, f.config, f.outer_fold, f.inner_fold)] = true;
    const RaceStanding standing =
        race_standing(layout, plan, doc.base(), experiment.archive_dir(), done, RaceUpdate::read_only);
    for (const auto& race : standing.races) {
      r.race.insert(r.race.end(), race.records.begin(), race.records.end());
      if (race.outer_fold >= 0) inner_eliminated.push_back(race.eliminated);
    }
    r.eliminated_tasks = standing.eliminated_tasks;
  }
  const std::vector<std::optional<std::size_t>> eliminated = eliminated_rounds(r.race, plan.configs.size());
  PredictionUses uses;
  const std::vector<TargetSpec> targets = targets_of_configs(doc, plan);
  for (const auto& target : targets) {
    r.targets.push_back(evaluate_target(target, o.metric, folds, plan, layout, eliminated, inner_eliminated, uses));
  }
  if (o.all_predictions) {
    for (const ScoredFold& f : folds) {
      if (f.inner_fold != -1) continue;
      for (const auto& target : targets) {
        if (!f.metrics.contains(target.name)) continue;
        uses[result_name(layout, plan.configs[f.config].id, f.outer_fold)].push_back({"config", target.name, f.config});
      }
    }
  }
  read_predictions(store, uses, r);

  summary.out_dir = o.out.empty() ? layout.root() / "harvest" : o.out;
  summary.files = write_report(r, summary.out_dir);
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return summary;
}

std::string render_text(const HarvestSummary& summary) {
  const HarvestReport& r = summary.report;
  std::string out =
      fmt::format("results     {} ({} outer, {} inner) from {} loose files and {} archived\n",
                  r.outer_results + r.inner_results, r.outer_results, r.inner_results, r.loose, r.archived);
  if (r.unplanned > 0) out += fmt::format("ignored     {} results of configs no longer in the plan\n", r.unplanned);
  std::vector<std::string> devices;
  for (const auto& [device, count] : r.devices) devices.push_back(fmt::format("{} {}", device, count));
  if (!devices.empty()) out += fmt::format("devices     {}\n", fmt::join(devices, ", "));
  if (r.stale > 0) {
    out += fmt::format(
        "stale       {} results made from another spec, data, fold or gridfold version, left out "
        "(rerun their tasks)\n",
        r.stale);
  }
  for (const HarvestTarget& t : r.targets) {
    out += fmt::format("target      {} ({}), ranked by {} ({} is better){}\n", t.name, to_string(t.task),
                       t.ranking.metric, t.ranking.larger_is_better ? "larger" : "smaller",
                       t.task == TaskType::per_position ? fmt::format(", boundaries within {} positions", t.tolerance)
                                                        : "");
    const auto& best = t.ranking.rows.front();
    const auto stats = best.metrics.find(t.ranking.metric);
    if (stats == best.metrics.end() || std::isnan(stats->second.mean)) {
      out += "  best      none: no config has a defined score yet\n";
    } else {
      std::vector<std::string> params;
      for (const auto& [path, value] : r.configs[best.config].params) params.push_back(path + "=" + value.yaml);
      out += fmt::format("  best      config {} ({}) {}\n            {}\n", best.config, r.configs[best.config].id,
                         fmt::join(params, " "), format_stats(t.ranking.metric, stats->second));
    }
    const auto tied = std::count_if(t.ranking.rows.begin(), t.ranking.rows.end(),
                                    [](const auto& row) { return row.indistinguishable; });
    out += fmt::format(
        "  tied      {} of {} configs are indistinguishable from the best (95% corrected "
        "paired interval of the difference reaches 0)\n",
        tied, t.ranking.rows.size());
    if (t.nested) {
      out += fmt::format("  nested    {} (the estimate of choosing by inner folds)\n",
                         format_stats(t.ranking.metric, t.nested->estimate));
      if (const std::string warning = incomplete_inner_warning(*t.nested); !warning.empty()) {
        out += fmt::format("  warning   {}\n", warning);
      }
    }
  }
  if (!r.diagnostics.empty()) {
    std::map<std::string, std::pair<std::set<std::size_t>, std::size_t>> by_rule;  // rule -> configs, tasks stopped
    for (const auto& [key, tally] : r.diagnostics) {
      by_rule[key.second].first.insert(key.first);
      by_rule[key.second].second += tally.tasks_stopped;
    }
    std::vector<std::string> rules;
    for (const auto& [rule, seen] : by_rule) {
      rules.push_back(fmt::format("{} in {} configs ({} tasks stopped)", rule, seen.first.size(), seen.second));
    }
    out += fmt::format("diagnostics {}; see diagnostics.csv\n", fmt::join(rules, ", "));
  }
  if (!r.race.empty()) {
    std::size_t eliminated = 0;
    for (const RaceRecord& record : r.race) eliminated += record.decision.eliminated.size();
    out += fmt::format("race        {} decisions eliminated {} configs (of {} races), sparing {} tasks; see race.csv\n",
                       r.race.size(), eliminated, r.race.back().outer_fold < 0 ? 1 : r.outer_folds, r.eliminated_tasks);
  }
  std::vector<std::string> files;
  for (const auto& f : summary.files) files.push_back(f.filename().string());
  out += fmt::format("written     {}: {}\ntime        {:.2f} s\n", summary.out_dir.string(), fmt::join(files, " "),
                     summary.seconds);
  return out;
}

std::string render_json(const HarvestSummary& summary) {
  nlohmann::json j = nlohmann::json::parse(report_json(summary.report));
  j["out_dir"] = summary.out_dir.string();
  std::vector<std::string> files;
  for (const auto& f : summary.files) files.push_back(f.string());
  j["files"] = files;
  j["seconds"] = summary.seconds;
  return j.dump(2) + "\n";
}

}  // namespace gridfold
