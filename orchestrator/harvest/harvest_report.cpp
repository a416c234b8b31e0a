#include "orchestrator/harvest/harvest_report.hpp"

#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "common/atomic_file.hpp"
#include "common/csv_text.hpp"
#include "common/hdf5.hpp"

namespace gridfold {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Shortest round-trip decimal; an empty field for NaN, which pandas reads as NaN.
std::string csv_number(double v) {
  return std::isnan(v) ? "" : fmt::format("{}", v);
}

std::string csv_line(const std::vector<std::string>& fields) {
  std::string line;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i) line += ',';
    line += fields[i];
  }
  return line + '\n';
}

std::string param_value(const Config& c, const std::string& path) {
  const auto it = c.params.find(path);
  return it == c.params.end() ? "" : it->second.yaml;
}

// Every metric name any target's results carry, in name order.
std::vector<std::string> metric_names(const HarvestReport& r) {
  std::set<std::string> names;
  for (const HarvestTarget& t : r.targets) {
    for (const auto& row : t.ranking.rows) {
      for (const auto& [name, stats] : row.metrics) names.insert(name);
    }
  }
  return {names.begin(), names.end()};
}

std::string configs_csv(const HarvestReport& r) {
  const std::vector<std::string> metrics = metric_names(r);
  std::vector<std::string> header{"target", "rank", "config_index", "config_id"};
  for (const auto& p : r.param_paths) header.push_back(csv_field(p));
  header.push_back("outer_results");
  for (const auto& m : metrics) {
    for (const char* s : {"mean", "std", "min", "max", "count"}) header.push_back(csv_field(m + "_" + s));
  }
  for (const char* h :
       {"diff_to_best", "diff_low", "diff_high", "diff_folds", "indistinguishable", "eliminated_round"}) {
    header.push_back(h);
  }
  std::string out = csv_line(header);
  for (const HarvestTarget& t : r.targets) {
    for (const auto& row : t.ranking.rows) {
      const Config& c = r.configs[row.config];
      std::vector<std::string> f{csv_field(t.name), std::to_string(row.rank), std::to_string(row.config), c.id};
      for (const auto& p : r.param_paths) f.push_back(csv_field(param_value(c, p)));
      f.push_back(std::to_string(row.outer_results));
      for (const auto& m : metrics) {
        const auto it = row.metrics.find(m);
        const Stats s = it == row.metrics.end() ? Stats{} : it->second;
        for (const double v : {s.mean, s.sd, s.min, s.max}) f.push_back(csv_number(v));
        f.push_back(std::to_string(s.count));
      }
      for (const double v : {row.to_best.mean, row.to_best.low, row.to_best.high}) f.push_back(csv_number(v));
      f.push_back(std::to_string(row.to_best.folds));
      f.push_back(row.indistinguishable ? "true" : "false");
      f.push_back(row.eliminated ? std::to_string(*row.eliminated) : "");
      out += csv_line(f);
    }
  }
  return out;
}

std::string nested_csv(const HarvestReport& r) {
  std::vector<std::string> header{"target", "metric", "outer_fold", "config_index", "config_id"};
  for (const auto& p : r.param_paths) header.push_back(csv_field(p));
  for (const char* h :
       {"inner_mean", "inner_results", "inner_complete", "complete_configs", "partial_configs", "outer_score"}) {
    header.push_back(h);
  }
  std::string out = csv_line(header);
  for (const HarvestTarget& t : r.targets) {
    if (!t.nested) continue;
    for (const auto& fold : t.nested->folds) {
      std::vector<std::string> f{csv_field(t.name), csv_field(t.nested->metric), std::to_string(fold.outer_fold)};
      f.push_back(fold.chosen ? std::to_string(*fold.chosen) : "");
      f.push_back(fold.chosen ? r.configs[*fold.chosen].id : "");
      for (const auto& p : r.param_paths) {
        f.push_back(fold.chosen ? csv_field(param_value(r.configs[*fold.chosen], p)) : "");
      }
      f.push_back(csv_number(fold.inner_mean));
      f.push_back(std::to_string(fold.inner_results));
      f.push_back(fold.inner_complete() ? "true" : "false");
      f.push_back(std::to_string(fold.complete_configs));
      f.push_back(std::to_string(fold.partial_configs));
      f.push_back(csv_number(fold.outer_score));
      out += csv_line(f);
    }
  }
  return out;
}

// Training-diagnostics firings: one line per config and rule that fired in its results.
std::string diagnostics_csv(const HarvestReport& r) {
  std::string out = csv_line({"config_index", "config_id", "rule", "firings", "tasks_flagged", "tasks_stopped"});
  for (const auto& [key, tally] : r.diagnostics) {
    out += csv_line({std::to_string(key.first), r.configs[key.first].id, key.second, std::to_string(tally.firings),
                     std::to_string(tally.tasks_flagged), std::to_string(tally.tasks_stopped)});
  }
  return out;
}

// Racing's record: one line per elimination, by race and round.
std::string race_csv(const HarvestReport& r) {
  std::string out = csv_line({"race", "round", "folds", "shared_folds", "leader_id", "config_index", "config_id",
                              "reason", "config_folds", "mean_difference", "p_value"});
  for (const RaceRecord& record : r.race) {
    const std::string leader = record.decision.leader ? r.configs[*record.decision.leader].id : "";
    for (const RaceElimination& e : record.decision.eliminated) {
      out +=
          csv_line({record.outer_fold < 0 ? "outer" : std::to_string(record.outer_fold), std::to_string(record.round),
                    std::to_string(record.decision.folds), std::to_string(record.decision.shared_folds), leader,
                    std::to_string(e.config), r.configs[e.config].id, to_string(e.reason), std::to_string(e.folds),
                    csv_number(e.mean_difference), csv_number(e.p_value)});
    }
  }
  return out;
}

std::string predictions_csv(const HarvestReport& r) {
  std::string out = csv_line({"selection", "target", "config_index", "config_id", "sample", "truth", "mean", "std",
                              "count", "train_similarity"});
  for (const auto& p : r.predictions) {
    out += csv_line({p.selection, csv_field(p.target), p.config ? std::to_string(*p.config) : "",
                     p.config ? r.configs[*p.config].id : "", std::to_string(p.sample), csv_number(p.truth),
                     csv_number(p.mean), csv_number(p.sd), std::to_string(p.count), csv_number(p.train_similarity)});
  }
  return out;
}

// The columns of positions.csv after the identifying ones, and their values.
const std::vector<std::string> kPositionCounts{"positions", "truth", "predicted", "matched_truth", "matched_predicted"};
const std::vector<std::string> kPositionScores{"precision", "recall", "f1", "density"};

std::vector<std::uint64_t> position_counts(const BoundaryCounts& c) {
  return {c.positions, c.truth, c.predicted, c.matched_truth, c.matched_predicted};
}

std::string positions_csv(const HarvestReport& r) {
  std::vector<std::string> header{"selection",  "target",    "config_index", "config_id", "class",
                                  "class_name", "tolerance", "start",        "end"};
  header.insert(header.end(), kPositionCounts.begin(), kPositionCounts.end());
  header.insert(header.end(), kPositionScores.begin(), kPositionScores.end());
  std::string out = csv_line(header);
  for (const auto& p : r.positions) {
    std::vector<std::string> f{p.selection,
                               csv_field(p.target),
                               p.config ? std::to_string(*p.config) : "",
                               p.config ? r.configs[*p.config].id : "",
                               std::to_string(p.class_index),
                               csv_field(p.class_name),
                               std::to_string(p.tolerance),
                               std::to_string(p.start),
                               std::to_string(p.end)};
    for (const std::uint64_t v : position_counts(p.counts)) f.push_back(std::to_string(v));
    const MetricValues scores = boundary_scores(p.counts);
    for (const auto& name : kPositionScores) f.push_back(csv_number(scores.at(name)));
    out += csv_line(f);
  }
  return out;
}

json json_number(double v) {
  return std::isfinite(v) ? json(v) : json(nullptr);
}

json stats_json(const Stats& s) {
  return {{"mean", s.mean}, {"std", s.sd}, {"min", s.min}, {"max", s.max}, {"count", s.count}};
}

json params_json(const Config& c) {
  json params = json::object();
  for (const auto& [path, value] : c.params) params[path] = value.yaml;
  return params;
}

// The best row of a ranking, if any config has a defined mean of the ranking metric.
const ConfigRanking::Row* best_row(const ConfigRanking& ranking) {
  if (ranking.rows.empty()) return nullptr;
  const auto& row = ranking.rows.front();
  const auto it = row.metrics.find(ranking.metric);
  return it == row.metrics.end() || std::isnan(it->second.mean) ? nullptr : &row;
}

// harvest.h5 holds the tables of the CSV files column by column, one dataset per column.
void write_configs(const h5::File& f, const HarvestReport& r) {
  const std::vector<std::string> metrics = metric_names(r);
  std::vector<std::string> target, config_id;
  std::vector<std::int64_t> rank, outer_results;
  std::vector<std::uint32_t> config_index;
  std::vector<std::vector<std::string>> params(r.param_paths.size());
  std::vector<std::vector<double>> mean(metrics.size()), sd(metrics.size()), min(metrics.size()), max(metrics.size());
  std::vector<std::vector<std::int64_t>> count(metrics.size());
  std::vector<double> diff, diff_low, diff_high;
  std::vector<std::int64_t> diff_folds, indistinguishable, eliminated_round;
  for (const HarvestTarget& t : r.targets) {
    for (const auto& row : t.ranking.rows) {
      diff.push_back(row.to_best.mean);
      diff_low.push_back(row.to_best.low);
      diff_high.push_back(row.to_best.high);
      diff_folds.push_back(static_cast<std::int64_t>(row.to_best.folds));
      indistinguishable.push_back(row.indistinguishable ? 1 : 0);
      eliminated_round.push_back(row.eliminated ? static_cast<std::int64_t>(*row.eliminated) : -1);
      target.push_back(t.name);
      rank.push_back(static_cast<std::int64_t>(row.rank));
      config_index.push_back(row.config);
      config_id.push_back(r.configs[row.config].id);
      outer_results.push_back(static_cast<std::int64_t>(row.outer_results));
      for (std::size_t p = 0; p < r.param_paths.size(); ++p) {
        params[p].push_back(param_value(r.configs[row.config], r.param_paths[p]));
      }
      for (std::size_t m = 0; m < metrics.size(); ++m) {
        const auto it = row.metrics.find(metrics[m]);
        const Stats s = it == row.metrics.end() ? Stats{} : it->second;
        mean[m].push_back(s.mean);
        sd[m].push_back(s.sd);
        min[m].push_back(s.min);
        max[m].push_back(s.max);
        count[m].push_back(static_cast<std::int64_t>(s.count));
      }
    }
  }
  const h5::Node configs = f.create_group("configs");
  configs.write("target", target);
  configs.write("rank", rank);
  configs.write("config_index", config_index);
  configs.write("config_id", config_id);
  configs.write("outer_results", outer_results);
  configs.write("diff_to_best", diff);
  configs.write("diff_low", diff_low);
  configs.write("diff_high", diff_high);
  configs.write("diff_folds", diff_folds);
  configs.write("indistinguishable", indistinguishable);
  configs.write("eliminated_round", eliminated_round);
  const h5::Node param_group = configs.create_group("params");
  for (std::size_t p = 0; p < r.param_paths.size(); ++p) param_group.write(r.param_paths[p], params[p]);
  const h5::Node metric_group = configs.create_group("metrics");
  for (std::size_t m = 0; m < metrics.size(); ++m) {
    const h5::Node g = metric_group.create_group(metrics[m]);
    g.write("mean", mean[m]);
    g.write("std", sd[m]);
    g.write("min", min[m]);
    g.write("max", max[m]);
    g.write("count", count[m]);
  }
}

void write_nested(const h5::File& f, const HarvestReport& r) {
  std::vector<std::string> target, metric, config_id;
  std::vector<std::int32_t> outer_fold;
  std::vector<std::int64_t> config_index, inner_results, inner_complete, complete_configs, partial_configs;
  std::vector<double> inner_mean, outer_score;
  for (const HarvestTarget& t : r.targets) {
    if (!t.nested) continue;
    for (const auto& fold : t.nested->folds) {
      target.push_back(t.name);
      metric.push_back(t.nested->metric);
      outer_fold.push_back(fold.outer_fold);
      config_index.push_back(fold.chosen ? static_cast<std::int64_t>(*fold.chosen) : -1);
      config_id.push_back(fold.chosen ? r.configs[*fold.chosen].id : "");
      inner_mean.push_back(fold.inner_mean);
      inner_results.push_back(static_cast<std::int64_t>(fold.inner_results));
      inner_complete.push_back(fold.inner_complete() ? 1 : 0);
      complete_configs.push_back(static_cast<std::int64_t>(fold.complete_configs));
      partial_configs.push_back(static_cast<std::int64_t>(fold.partial_configs));
      outer_score.push_back(fold.outer_score);
    }
  }
  const h5::Node nested = f.create_group("nested");
  nested.write("target", target);
  nested.write("metric", metric);
  nested.write("outer_fold", outer_fold);
  nested.write("config_index", config_index);
  nested.write("config_id", config_id);
  nested.write("inner_mean", inner_mean);
  nested.write("inner_results", inner_results);
  nested.write("inner_complete", inner_complete);
  nested.write("complete_configs", complete_configs);
  nested.write("partial_configs", partial_configs);
  nested.write("outer_score", outer_score);
}

void write_predictions(const h5::File& f, const HarvestReport& r) {
  std::vector<std::string> selection, target, config_id;
  std::vector<std::int64_t> config_index, count;
  std::vector<std::uint32_t> sample;
  std::vector<double> truth, mean, sd, similarity;
  for (const auto& p : r.predictions) {
    similarity.push_back(p.train_similarity);
    selection.push_back(p.selection);
    target.push_back(p.target);
    config_index.push_back(p.config ? static_cast<std::int64_t>(*p.config) : -1);
    config_id.push_back(p.config ? r.configs[*p.config].id : "");
    sample.push_back(p.sample);
    truth.push_back(p.truth);
    mean.push_back(p.mean);
    sd.push_back(p.sd);
    count.push_back(static_cast<std::int64_t>(p.count));
  }
  const h5::Node predictions = f.create_group("predictions");
  predictions.write("selection", selection);
  predictions.write("target", target);
  predictions.write("config_index", config_index);
  predictions.write("config_id", config_id);
  predictions.write("sample", sample);
  predictions.write("truth", truth);
  predictions.write("mean", mean);
  predictions.write("std", sd);
  predictions.write("count", count);
  predictions.write("train_similarity", similarity);
}

void write_positions(const h5::File& f, const HarvestReport& r) {
  std::vector<std::string> selection, target, config_id, class_name;
  std::vector<std::int64_t> config_index, class_index, tolerance, start, end;
  std::vector<std::vector<std::int64_t>> counts(kPositionCounts.size());
  std::vector<std::vector<double>> scores(kPositionScores.size());
  for (const auto& p : r.positions) {
    selection.push_back(p.selection);
    target.push_back(p.target);
    config_index.push_back(p.config ? static_cast<std::int64_t>(*p.config) : -1);
    config_id.push_back(p.config ? r.configs[*p.config].id : "");
    class_index.push_back(static_cast<std::int64_t>(p.class_index));
    class_name.push_back(p.class_name);
    tolerance.push_back(p.tolerance);
    start.push_back(static_cast<std::int64_t>(p.start));
    end.push_back(static_cast<std::int64_t>(p.end));
    const auto values = position_counts(p.counts);
    for (std::size_t i = 0; i < values.size(); ++i) counts[i].push_back(static_cast<std::int64_t>(values[i]));
    const MetricValues s = boundary_scores(p.counts);
    for (std::size_t i = 0; i < kPositionScores.size(); ++i) scores[i].push_back(s.at(kPositionScores[i]));
  }
  const h5::Node positions = f.create_group("positions");
  positions.write("selection", selection);
  positions.write("target", target);
  positions.write("config_index", config_index);
  positions.write("config_id", config_id);
  positions.write("class", class_index);
  positions.write("class_name", class_name);
  positions.write("tolerance", tolerance);
  positions.write("start", start);
  positions.write("end", end);
  for (std::size_t i = 0; i < kPositionCounts.size(); ++i) positions.write(kPositionCounts[i], counts[i]);
  for (std::size_t i = 0; i < kPositionScores.size(); ++i) positions.write(kPositionScores[i], scores[i]);
}

void write_best(const h5::File& f, const HarvestReport& r) {
  const h5::Node best = f.create_group("best");
  for (const HarvestTarget& t : r.targets) {
    const h5::Node g = best.create_group(t.name);
    g.set_attr("metric", t.ranking.metric);
    g.set_attr("larger_is_better", static_cast<std::int64_t>(t.ranking.larger_is_better));
    if (t.task == TaskType::per_position) g.set_attr("tolerance", static_cast<std::int64_t>(t.tolerance));
    if (const auto* row = best_row(t.ranking)) {
      const Stats& s = row->metrics.at(t.ranking.metric);
      g.set_attr("config_index", static_cast<std::int64_t>(row->config));
      g.set_attr("config_id", r.configs[row->config].id);
      g.set_attr("mean", s.mean);
      g.set_attr("std", s.sd);
      g.set_attr("count", static_cast<std::int64_t>(s.count));
    }
    if (t.nested) {
      g.set_attr("nested_mean", t.nested->estimate.mean);
      g.set_attr("nested_std", t.nested->estimate.sd);
      g.set_attr("nested_count", static_cast<std::int64_t>(t.nested->estimate.count));
    }
  }
}

void write_h5(const HarvestReport& r, const fs::path& file) {
  write_atomically(file, [&](const fs::path& tmp) {
    h5::File f = h5::File::create(tmp);
    f.set_attr("experiment", r.experiment);
    f.set_attr("outer_folds", static_cast<std::int64_t>(r.outer_folds));
    f.set_attr("inner_folds", static_cast<std::int64_t>(r.inner_folds));
    write_configs(f, r);
    write_nested(f, r);
    write_predictions(f, r);
    write_positions(f, r);
    write_best(f, r);
    f.close();
  });
}

}  // namespace

std::string report_json(const HarvestReport& r) {
  json targets = json::array();
  for (const HarvestTarget& t : r.targets) {
    json best = nullptr;
    if (const auto* row = best_row(t.ranking)) {
      best = stats_json(row->metrics.at(t.ranking.metric));
      best["config_index"] = row->config;
      best["config_id"] = r.configs[row->config].id;
      best["params"] = params_json(r.configs[row->config]);
      best["outer_results"] = row->outer_results;
    }
    json nested = nullptr;
    if (t.nested) {
      nested = stats_json(t.nested->estimate);
      json folds = json::array();
      for (const auto& fold : t.nested->folds) {
        folds.push_back({{"outer_fold", fold.outer_fold},
                         {"config_index", fold.chosen ? json(*fold.chosen) : json(nullptr)},
                         {"config_id", fold.chosen ? json(r.configs[*fold.chosen].id) : json(nullptr)},
                         {"inner_mean", fold.inner_mean},
                         {"inner_results", fold.inner_results},
                         {"inner_complete", fold.inner_complete()},
                         {"complete_configs", fold.complete_configs},
                         {"partial_configs", fold.partial_configs},
                         {"outer_score", fold.outer_score}});
      }
      nested["folds"] = folds;
      nested["inner_folds"] = t.nested->inner_folds;
      const std::string warning = incomplete_inner_warning(*t.nested);
      nested["warning"] = warning.empty() ? json(nullptr) : json(warning);
    }
    json indistinguishable = json::array();
    for (const auto& row : t.ranking.rows) {
      if (!row.indistinguishable) continue;
      indistinguishable.push_back({{"config_index", row.config},
                                   {"config_id", r.configs[row.config].id},
                                   {"diff_to_best", json_number(row.to_best.mean)},
                                   {"diff_low", json_number(row.to_best.low)},
                                   {"diff_high", json_number(row.to_best.high)},
                                   {"folds", row.to_best.folds}});
    }
    targets.push_back({{"name", t.name},
                       {"task", to_string(t.task)},
                       {"metric", t.ranking.metric},
                       {"larger_is_better", t.ranking.larger_is_better},
                       {"best", best},
                       {"indistinguishable", indistinguishable},
                       {"nested", nested}});
    if (t.task == TaskType::per_position) targets.back()["tolerance"] = t.tolerance;
  }
  json j{{"experiment", r.experiment},
         {"outer_folds", r.outer_folds},
         {"inner_folds", r.inner_folds},
         {"results",
          {{"outer", r.outer_results},
           {"inner", r.inner_results},
           {"loose", r.loose},
           {"archived", r.archived},
           {"superseded", r.superseded},
           {"unplanned", r.unplanned},
           {"stale", r.stale},
           {"devices", r.devices}}},
         {"targets", targets}};
  if (!r.race.empty()) {
    json decisions = json::array();
    for (const RaceRecord& record : r.race) {
      json eliminated = json::array();
      for (const RaceElimination& e : record.decision.eliminated) {
        eliminated.push_back({{"config_id", r.configs[e.config].id},
                              {"reason", to_string(e.reason)},
                              {"folds", e.folds},
                              {"mean_difference", json_number(e.mean_difference)},
                              {"p_value", json_number(e.p_value)}});
      }
      decisions.push_back({{"race", record.outer_fold < 0 ? json("outer") : json(record.outer_fold)},
                           {"round", record.round},
                           {"folds", record.decision.folds},
                           {"shared_folds", record.decision.shared_folds},
                           {"survivors", record.decision.survivors.size()},
                           {"eliminated", eliminated}});
    }
    j["race"] = {{"decisions", decisions}, {"eliminated_tasks", r.eliminated_tasks}};
  }
  return j.dump(2) + "\n";
}

std::vector<fs::path> write_report(const HarvestReport& r, const fs::path& dir) {
  fs::create_directories(dir);
  const std::vector<std::pair<std::string, std::string>> texts{{"configs.csv", configs_csv(r)},
                                                               {"nested.csv", nested_csv(r)},
                                                               {"predictions.csv", predictions_csv(r)},
                                                               {"positions.csv", positions_csv(r)},
                                                               {"diagnostics.csv", diagnostics_csv(r)},
                                                               {"best.json", report_json(r)}};
  std::vector<std::pair<std::string, std::string>> all = texts;
  if (!r.race.empty()) all.emplace_back("race.csv", race_csv(r));
  std::vector<fs::path> written;
  for (const auto& [name, text] : all) {
    write_text_atomically(dir / name, text);
    written.push_back(dir / name);
  }
  write_h5(r, dir / "harvest.h5");
  written.push_back(dir / "harvest.h5");
  return written;
}

}  // namespace gridfold
