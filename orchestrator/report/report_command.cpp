#include "orchestrator/report/report_command.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <unordered_set>

#include "common/planned_experiment.hpp"
#include "common/archive_catalog.hpp"
#include "common/atomic_file.hpp"
#include "common/experiment_layout.hpp"
#include "common/fold_result.hpp"
#include "common/plan.hpp"
#include "orchestrator/report/classification_curves.hpp"
#include "orchestrator/harvest/harvest_command.hpp"
#include "orchestrator/report/report_figures.hpp"
#include "orchestrator/report/report_page.hpp"
#include "orchestrator/harvest/result_store.hpp"

namespace gridfold {
namespace {

// File stems from target and parameter names, which may hold any character: letters, digits,
// '-' and '.' are kept, the rest become '_'; a stem already taken gets a numeric suffix.
class FigureNames {
 public:
  std::string take(const std::string& kind, const std::string& subject = "") {
    std::string stem = kind;
    if (!subject.empty()) stem += "-";
    for (const char c : subject) stem += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' ? c : '_';
    std::string name = stem;
    for (int n = 2; !taken_.insert(name).second; ++n) name = fmt::format("{}-{}", stem, n);
    return name;
  }

 private:
  std::set<std::string> taken_;
};

std::string config_label(const Config& c, std::uint32_t index) {
  return fmt::format("config {} ({})", index, c.id);
}

// The config ranked first for the target, when it has a defined score.
std::optional<std::uint32_t> best_config(const HarvestTarget& t) {
  const auto& best = t.ranking.rows.front();
  const auto stats = best.metrics.find(t.ranking.metric);
  if (stats == best.metrics.end() || std::isnan(stats->second.mean)) return std::nullopt;
  return best.config;
}

// The outer results of the given configs, in full (history and predictions), by config and
// in fold order.
std::map<std::uint32_t, std::vector<FoldResult>> read_outer_results(const ExperimentLayout& layout,
                                                                    const ResultStore& store, const HarvestReport& r,
                                                                    const std::set<std::uint32_t>& configs) {
  std::unordered_set<std::string> names;
  std::map<std::string, std::uint32_t> config_of_id;
  for (const std::uint32_t c : configs) {
    config_of_id.emplace(r.configs[c].id, c);
    for (std::size_t f = 0; f < r.outer_folds; ++f) {
      names.insert(
          layout.result(r.configs[c].id, static_cast<int>(f), -1).lexically_relative(layout.root()).generic_string());
    }
  }
  std::map<std::uint32_t, std::vector<FoldResult>> out;
  store.read(names, [&](const std::string& name, std::span<const std::byte> bytes) {
    FoldResult result = read_fold_result_image(bytes.data(), bytes.size(), name);
    const std::uint32_t config = config_of_id.at(result.config_id);
    out[config].push_back(std::move(result));
  });
  for (auto& [config, results] : out) {
    std::sort(results.begin(), results.end(),
              [](const FoldResult& a, const FoldResult& b) { return a.outer_fold < b.outer_fold; });
  }
  return out;
}

// One target's column of the pooled test predictions of several results.
struct PooledPredictions {
  std::vector<double> truth, prediction;
};

PooledPredictions pool(const std::vector<FoldResult>& results, const std::string& target) {
  PooledPredictions out;
  for (const FoldResult& r : results) {
    const auto column = std::find(r.target_names.begin(), r.target_names.end(), target);
    if (column == r.target_names.end()) continue;
    const std::size_t j = static_cast<std::size_t>(column - r.target_names.begin()), width = r.target_names.size();
    for (std::size_t i = 0; i < r.sample_index.size(); ++i) {
      out.truth.push_back(r.truth[i * width + j]);
      out.prediction.push_back(r.prediction[i * width + j]);
    }
  }
  return out;
}

// The spec's class names; without them, indices up to the largest one seen.
std::vector<std::string> class_names(const HarvestTarget& t, const PooledPredictions& p) {
  if (!t.classes.empty()) return t.classes;
  double largest = 0;
  for (const auto* values : {&p.truth, &p.prediction}) {
    for (const double v : *values) largest = std::isnan(v) ? largest : std::max(largest, v);
  }
  std::vector<std::string> names;
  for (std::size_t k = 0; k <= static_cast<std::size_t>(largest); ++k) names.push_back(std::to_string(k));
  return names;
}

// Plots and notes of one target's section that come from predictions, by task type.
void add_prediction_figures(ReportSection& section, const HarvestTarget& t, const HarvestReport& r,
                            const std::vector<FoldResult>& results, FigureNames& names,
                            const std::filesystem::path& plots) {
  const std::uint32_t best = *best_config(t);
  const std::string label = "best " + config_label(r.configs[best], best);
  std::vector<PredictionTable::Row> similar;
  for (const auto& row : r.predictions) {
    if (row.selection == "best" && row.target == t.name && !std::isnan(row.train_similarity)) similar.push_back(row);
  }
  if (!similar.empty()) {
    section.figures.push_back(draw_figure(error_vs_similarity_figure(names.take("error-vs-similarity", t.name), t.name,
                                                                     t.task, label, similar),
                                          plots));
  }
  switch (t.task) {
    case TaskType::regression: {
      std::vector<PredictionTable::Row> rows;
      for (const auto& row : r.predictions) {
        if (row.selection == "best" && row.target == t.name) rows.push_back(row);
      }
      section.figures.push_back(
          draw_figure(predicted_vs_actual_figure(names.take("predicted-vs-actual", t.name), t.name, label, rows),
                      plots));
      return;
    }
    case TaskType::binary: {
      const PooledPredictions p = pool(results, t.name);
      const auto roc = roc_curve(p.truth, p.prediction);
      const auto pr = precision_recall_curve(p.truth, p.prediction);
      if (roc.empty()) {
        section.notes.push_back(t.name +
                                ": no ROC or precision-recall curve: the pooled test sets hold only one class.");
      } else {
        std::size_t positives = 0, known = 0;
        for (const double v : p.truth) {
          if (std::isnan(v)) continue;
          ++known;
          positives += v > 0.5;
        }
        section.figures.push_back(draw_figure(roc_figure(names.take("roc", t.name), t.name, label, roc), plots));
        section.figures.push_back(
            draw_figure(precision_recall_figure(names.take("precision-recall", t.name), t.name, label, pr,
                                                static_cast<double>(positives) / static_cast<double>(known)),
                        plots));
      }
      std::vector<double> predicted;
      for (const double s : p.prediction) predicted.push_back(std::isnan(s) ? s : (s >= 0.5 ? 1.0 : 0.0));
      section.figures.push_back(
          draw_figure(confusion_figure(names.take("confusion", t.name), t.name, label + ", threshold 0.5",
                                       confusion_matrix(p.truth, predicted, 2), {"0", "1"}),
                      plots));
      return;
    }
    case TaskType::multiclass: {
      const PooledPredictions p = pool(results, t.name);
      const std::vector<std::string> classes = class_names(t, p);
      section.figures.push_back(
          draw_figure(confusion_figure(names.take("confusion", t.name), t.name, label,
                                       confusion_matrix(p.truth, p.prediction, classes.size()), classes),
                      plots));
      return;
    }
    case TaskType::per_position: {
      std::vector<PositionProfiles::Row> rows;
      for (const auto& row : r.positions) {
        if (row.selection == "best" && row.target == t.name) rows.push_back(row);
      }
      if (rows.empty()) {
        section.notes.push_back(t.name +
                                ": no F1 along the window: the best config's results hold no per-position "
                                "predictions (results written before result schema version 3).");
        return;
      }
      section.figures.push_back(
          draw_figure(position_f1_figure(names.take("f1-along-window", t.name), t.name, label, rows), plots));
      return;
    }
  }
}

}  // namespace

ReportSummary make_report(const ReportOptions& o) {
  const auto started = std::chrono::steady_clock::now();
  const PlannedExperiment experiment(o.experiment);
  const auto& [layout, plan, doc] = experiment;
  ReportSummary summary;
  summary.out_dir = o.out.empty() ? layout.root() / "report" : o.out;
  const std::filesystem::path plots = summary.out_dir / "plots";

  HarvestOptions harvest_options;
  harvest_options.experiment = o.experiment;
  harvest_options.out = summary.out_dir / "harvest";
  harvest_options.metric = o.metric;
  const HarvestSummary harvest = harvest_experiment(harvest_options);
  const HarvestReport& r = harvest.report;

  const ResultStore store(layout, experiment.archive_dir(), experiment.plan.experiment_id);

  std::set<std::uint32_t> best_configs;
  for (const HarvestTarget& t : r.targets) {
    if (const auto best = best_config(t)) best_configs.insert(*best);
  }
  const auto results = read_outer_results(layout, store, r, best_configs);
  const auto results_of = [&](std::uint32_t config) -> const std::vector<FoldResult>& {
    static const std::vector<FoldResult> kNone;
    const auto it = results.find(config);
    return it == results.end() ? kNone : it->second;
  };

  FigureNames names;
  ReportPage page;
  page.harvest = &r;
  page.tasks = plan.tasks.size();
  page.top = o.top;
  page.tables = harvest.files;

  for (const HarvestTarget& t : r.targets) {
    ReportSection section{fmt::format("Predictions of target {} ({})", t.name, to_string(t.task)), {}, {}, {}};
    if (best_config(t)) {
      add_prediction_figures(section, t, r, results_of(*best_config(t)), names, plots);
    } else {
      section.notes.push_back(t.name + ": no plots of predictions: no config has a defined " + t.ranking.metric +
                              " yet.");
    }
    page.sections.push_back(std::move(section));
  }

  ReportSection learning{"Learning curves of the best configs", {}, {}, {}};
  for (const std::uint32_t config : best_configs) {
    std::vector<std::string> targets;
    for (const HarvestTarget& t : r.targets) {
      if (best_config(t) == config) targets.push_back(t.name);
    }
    const auto& fold_results = results_of(config);
    const bool has_history = std::any_of(fold_results.begin(), fold_results.end(),
                                         [](const FoldResult& f) { return !f.train_loss.empty(); });
    const std::string label =
        fmt::format("{}, best for {}", config_label(r.configs[config], config), fmt::join(targets, ", "));
    if (!has_history) {
      learning.notes.push_back(label + ": its results hold no training history.");
      continue;
    }
    learning.figures.push_back(
        draw_figure(learning_curve_figure(names.take("learning-curves", r.configs[config].id), label, fold_results),
                    plots));
  }
  page.sections.push_back(std::move(learning));

  ReportSection diagnostics{"Training diagnostics", {}, {}, {}};
  for (const std::uint32_t config : best_configs) {
    const auto& fold_results = results_of(config);
    if (std::all_of(fold_results.begin(), fold_results.end(),
                    [](const FoldResult& f) { return f.diagnostics.series.size() == 0; })) {
      continue;
    }
    diagnostics.figures.push_back(
        draw_figure(gradient_norm_figure(names.take("gradient-norms", r.configs[config].id),
                                         config_label(r.configs[config], config), fold_results),
                    plots));
  }
  if (r.diagnostics.empty()) {
    diagnostics.notes.push_back("No training-diagnostics rule fired in any result.");
  } else {
    diagnostics.notes.push_back("Flagged configs: the rules that fired in their tasks (also in diagnostics.csv).");
    diagnostics.table.push_back({"config", "rule", "firings", "tasks flagged", "tasks stopped"});
    for (const auto& [key, tally] : r.diagnostics) {
      diagnostics.table.push_back({config_label(r.configs[key.first], key.first), key.second,
                                   std::to_string(tally.firings), std::to_string(tally.tasks_flagged),
                                   std::to_string(tally.tasks_stopped)});
    }
  }
  page.sections.push_back(std::move(diagnostics));

  ReportSection paired{"Difference to the best config", {}, {}, {}};
  for (const HarvestTarget& t : r.targets) {
    const auto tied = std::count_if(t.ranking.rows.begin(), t.ranking.rows.end(),
                                    [](const auto& row) { return row.indistinguishable; });
    paired.notes.push_back(
        fmt::format("{}: {} of {} configs are indistinguishable from the best (the 95% corrected "
                    "paired interval of their difference reaches 0).",
                    t.name, tied, t.ranking.rows.size()));
    const bool compared = std::any_of(t.ranking.rows.begin(), t.ranking.rows.end(),
                                      [](const auto& row) { return !std::isnan(row.to_best.mean); });
    if (compared) {
      paired.figures.push_back(
          draw_figure(difference_to_best_figure(names.take("difference-to-best", t.name), t, page.top), plots));
    }
  }
  for (const RaceRecord& record : r.race) {
    for (const RaceElimination& e : record.decision.eliminated) {
      paired.notes.push_back(
          fmt::format("Race {}, before round {} ({} folds, {} shared): config {} eliminated ({}) on {} folds, {:.4g} "
                      "behind the "
                      "leader (one-sided p {:.3g}).",
                      record.outer_fold < 0 ? std::string("over the outer folds")
                                            : fmt::format("in outer fold {}", record.outer_fold),
                      record.round, record.decision.folds, record.decision.shared_folds, r.configs[e.config].id,
                      to_string(e.reason), e.folds, e.mean_difference, e.p_value));
    }
  }
  page.sections.push_back(std::move(paired));

  ReportSection grid{"Ranking metric by grid parameter", {}, {}, {}};
  if (r.param_paths.empty()) grid.notes.push_back("The grid has no parameters: a single config was trained.");
  for (const HarvestTarget& t : r.targets) {
    for (const std::string& path : r.param_paths) {
      grid.figures.push_back(
          draw_figure(hyperparameter_figure(names.take("by-parameter", t.name + "-" + path), t, r.configs, path),
                      plots));
    }
  }
  page.sections.push_back(std::move(grid));

  summary.files = harvest.files;
  for (const ReportSection& s : page.sections) {
    summary.figures += s.figures.size();
    for (const DrawnFigure& f : s.figures) {
      summary.files.insert(summary.files.end(), f.data.begin(), f.data.end());
      summary.files.insert(summary.files.end(), {f.script, f.png, f.svg});
    }
  }
  summary.index_html = summary.out_dir / "index.html";
  summary.summary_md = summary.out_dir / "summary.md";
  write_text_atomically(summary.summary_md, render_summary_markdown(page, summary.out_dir));
  write_text_atomically(summary.index_html, render_index_html(page, summary.out_dir));
  summary.files.push_back(summary.summary_md);
  summary.files.push_back(summary.index_html);
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return summary;
}

std::string render_text(const ReportSummary& s) {
  return fmt::format("written     {} files ({} plots, PNG and SVG) under {}\ntime        {:.2f} s\n{}\n",
                     s.files.size(), s.figures, s.out_dir.string(), s.seconds, s.index_html.string());
}

std::string render_json(const ReportSummary& s) {
  std::vector<std::string> files;
  for (const auto& f : s.files) files.push_back(f.string());
  const nlohmann::json j{{"out_dir", s.out_dir.string()},
                         {"index_html", s.index_html.string()},
                         {"summary_md", s.summary_md.string()},
                         {"figures", s.figures},
                         {"files", files},
                         {"seconds", s.seconds}};
  return j.dump(2) + "\n";
}

}  // namespace gridfold
