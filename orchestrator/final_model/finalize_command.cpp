#include "orchestrator/final_model/finalize_command.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "common/planned_experiment.hpp"
#include "common/archive_catalog.hpp"
#include "common/dataset.hpp"
#include "common/experiment_layout.hpp"
#include "common/fold_result.hpp"
#include "common/model_description.hpp"
#include "common/model_file.hpp"
#include "common/plan.hpp"
#include "orchestrator/harvest/result_scores.hpp"
#include "orchestrator/harvest/result_store.hpp"

namespace gridfold {
namespace {

const TargetSpec& ranking_target(const ExperimentSpec& spec, const std::string& name) {
  if (name.empty()) return spec.data.targets.front();
  for (const auto& t : spec.data.targets) {
    if (t.name == name) return t;
  }
  std::vector<std::string> names;
  for (const auto& t : spec.data.targets) names.push_back(t.name);
  throw FinalizeError(
      fmt::format("--target {} is not a target of the experiment; choose from: {}", name, fmt::join(names, ", ")));
}

std::uint32_t config_index(const ExperimentPlan& plan, const std::string& id) {
  for (std::uint32_t c = 0; c < plan.configs.size(); ++c) {
    if (plan.configs[c].id == id) return c;
  }
  throw FinalizeError(fmt::format("config {} is not in the plan of '{}'; gridfold harvest lists its {} configs", id,
                                  plan.name, plan.configs.size()));
}

// The ranking harvest makes for one target: configs by the mean of `metric` over their
// outer folds.
ConfigRanking rank(const ExperimentPlan& plan, const ResultStore& store, const std::string& target,
                   const std::string& metric) {
  std::unordered_map<std::string, std::uint32_t> config_of_id;
  for (std::uint32_t c = 0; c < plan.configs.size(); ++c) config_of_id.emplace(plan.configs[c].id, c);
  std::vector<ScoredFold> folds;
  // As harvest: below a few thousand results per process, starting processes costs more than it saves.
  constexpr std::size_t kResultsPerProcess = 5000;
  const auto processes =
      static_cast<unsigned>(std::clamp<std::size_t>((store.loose_count() + store.archived_count()) / kResultsPerProcess,
                                                    1, available_cpus()));
  for (NamedScores& named : read_result_scores(store, processes)) {
    const auto config = config_of_id.find(named.scores.config_id);
    if (config == config_of_id.end()) continue;
    folds.push_back(
        {config->second, named.scores.outer_fold, named.scores.inner_fold, std::move(named.scores.metrics)});
  }
  std::sort(folds.begin(), folds.end(), [](const ScoredFold& a, const ScoredFold& b) {
    return std::tie(a.config, a.outer_fold, a.inner_fold) < std::tie(b.config, b.outer_fold, b.inner_fold);
  });
  if (folds.empty()) {
    throw FinalizeError(
        fmt::format("experiment '{}' has no fold results to rank its configs by; run it first, or "
                    "name the config with --config",
                    plan.name));
  }
  ConfigRanking ranking = rank_configs(folds, plan.configs.size(), target, metric);
  const auto& best = ranking.rows.front();
  if (!best.metrics.count(metric) || std::isnan(best.metrics.at(metric).mean)) {
    std::set<std::string> available;
    for (const auto& row : ranking.rows) {
      for (const auto& [name, stats] : row.metrics) available.insert(name);
    }
    throw FinalizeError(fmt::format("no outer-fold result of target '{}' has the metric '{}'; choose --metric from: {}",
                                    target, metric, fmt::join(available, ", ")));
  }
  return ranking;
}

// The saved networks of the config's outer folds, in fold order.
std::vector<ModelWeights> fold_networks(const ExperimentLayout& layout, const ExperimentPlan& plan,
                                        const ResultStore& store, const std::string& config_id) {
  std::map<std::string, int> fold_of_name;
  for (int f = 0; f < static_cast<int>(plan.folds.outer_count()); ++f) {
    fold_of_name[layout.result(config_id, f, -1).lexically_relative(layout.root()).generic_string()] = f;
  }
  std::unordered_set<std::string> names;
  for (const auto& [name, fold] : fold_of_name) names.insert(name);
  std::map<int, ModelWeights> networks;
  store.read(names, [&](const std::string& name, std::span<const std::byte> bytes) {
    FoldResult result = read_fold_result_image(bytes.data(), bytes.size(), name);
    if (!result.weights) {
      throw FinalizeError(
          fmt::format("{} holds no trained network: the ensemble strategy needs output.save_models: "
                      "true when the folds are trained (or use final_model.strategy refit)",
                      name));
    }
    networks[fold_of_name.at(name)] = std::move(*result.weights);
  });
  std::vector<ModelWeights> out;
  for (const auto& [name, fold] : fold_of_name) {
    if (!networks.count(fold)) {
      throw FinalizeError(
          fmt::format("config {} has no result for outer fold {} ({}); an ensemble needs every outer "
                      "fold (gridfold status shows what is missing)",
                      config_id, fold, name));
    }
  }
  for (auto& [fold, weights] : networks) out.push_back(std::move(weights));
  return out;
}

void refit(const FinalizeOptions& o, const std::string& config_id, const std::filesystem::path& out) {
  run_worker({"refit", "--experiment", o.experiment.string(), "--config", config_id, "--out", out.string(), "--threads",
              std::to_string(worker_threads(o.threads))},
             fmt::format("refit of config {}", config_id));
}

}  // namespace

FinalizeSummary finalize_experiment(const FinalizeOptions& o) {
  const PlannedExperiment experiment(o.experiment);
  const auto& [layout, plan, document] = experiment;
  const ExperimentSpec& spec = experiment.spec();
  const ResultStore store(layout, experiment.archive_dir(), experiment.plan.experiment_id);

  FinalizeSummary s;
  s.strategy = o.strategy.value_or(spec.final_model.strategy);
  const TargetSpec& target = ranking_target(spec, o.target.empty() ? spec.final_model.target : o.target);
  s.target = target.name;
  s.metric = !o.metric.empty()                  ? o.metric
             : !spec.final_model.metric.empty() ? spec.final_model.metric
                                                : default_ranking_metric(target.task);
  s.out = o.out.empty() ? layout.root() / "model.h5" : o.out;

  std::uint32_t config = 0;
  if (o.config.empty()) {
    const ConfigRanking ranking = rank(plan, store, s.target, s.metric);
    config = ranking.rows.front().config;
    s.score = ranking.rows.front().metrics.at(s.metric);
  } else {
    config = config_index(plan, o.config);
  }
  s.config_id = plan.configs[config].id;

  if (s.strategy == FinalModelStrategy::refit) {
    refit(o, s.config_id, s.out);
    s.members = 1;
    return s;
  }
  const ExperimentSpec resolved = document.resolve(plan.configs[config].params);
  ModelFile model = describe_model(plan, plan.configs[config], document.text(), resolved, load_dataset(resolved.data),
                                   FinalModelStrategy::ensemble);
  model.members = fold_networks(layout, plan, store, s.config_id);
  s.members = model.members.size();
  write_model_file(s.out, model);
  return s;
}

std::string render_text(const FinalizeSummary& s) {
  const std::string score = s.score.count > 0 ? fmt::format(" ({} {} {:.4g} over {} outer folds)", s.target, s.metric,
                                                            s.score.mean, s.score.count)
                                              : "";
  return fmt::format("final model: config {}{}, {} of {} network{} -> {}\n", s.config_id, score, to_string(s.strategy),
                     s.members, s.members == 1 ? "" : "s", s.out.string());
}

}  // namespace gridfold
