// gridfold pack, harvest and report: from loose results to archives, tables and figures.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <iostream>
#include <memory>

#include "common/exit_codes.hpp"
#include "common/hdf5_settings.hpp"
#include "orchestrator/cli/commands.hpp"
#include "orchestrator/harvest/harvest_command.hpp"
#include "orchestrator/pack/pack_command.hpp"
#include "orchestrator/report/report_command.hpp"

namespace gridfold::cli {

void add_pack(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<PackOptions>();
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("pack", "Move finished results and logs into verified tar archives");
  cmd->add_option("experiment", options->experiment, "Experiment directory")->required()->check(CLI::ExistingDirectory);
  cmd->add_flag("--keep", options->keep_originals, "Archive, but keep the originals (a later pack removes them)");
  cmd->add_flag("--break-lock", options->break_lock,
                "Take over the archive directory's pack lock, e.g. one left by a pack that died on another host");
  cmd->add_option("--log-min-age", options->log_min_age_seconds, "Leave logs modified less than SECONDS ago")
      ->check(CLI::NonNegativeNumber)
      ->default_val(600);
  cmd->add_flag("--json", *json, "Print the summary as JSON");
  cmd->callback([options, json, &exit_code] {
    use_experiment_hdf5_settings(ExperimentLayout(options->experiment));
    const PackSummary summary = pack_experiment(*options);
    std::cout << (*json ? render_json(summary) : render_text(summary));
    exit_code = kExitOk;
  });
}

void add_harvest(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<HarvestOptions>();
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("harvest", "Rank configs, estimate by nested selection and tabulate predictions");
  cmd->add_option("experiment", options->experiment, "Experiment directory")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--out,-o", options->out, "Output directory (default: EXPERIMENT/harvest)");
  cmd->add_option("--metric", options->metric,
                  "Ranking metric for every target (default: r2, auroc, accuracy or f1 by task type)");
  cmd->add_flag("--all-predictions", options->all_predictions, "Tabulate the predictions of every config");
  cmd->add_flag("--json", *json, "Print the summary as JSON");
  cmd->callback([options, json, &exit_code] {
    use_experiment_hdf5_settings(ExperimentLayout(options->experiment));
    const HarvestSummary summary = harvest_experiment(*options);
    std::cout << (*json ? render_json(summary) : render_text(summary));
    exit_code = kExitOk;
  });
}

void add_report(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<ReportOptions>();
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd =
      app.add_subcommand("report", "Plot a harvest with gnuplot and summarise it in index.html and summary.md");
  cmd->add_option("experiment", options->experiment, "Experiment directory")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--out,-o", options->out, "Output directory (default: EXPERIMENT/report)");
  cmd->add_option("--metric", options->metric,
                  "Ranking metric for every target (default: r2, auroc, accuracy or f1 by task type)");
  cmd->add_option("--top", options->top, "Ranked configs listed per target")
      ->check(CLI::PositiveNumber)
      ->default_val(20);
  cmd->add_flag("--json", *json, "Print the produced files as JSON");
  cmd->callback([options, json, &exit_code] {
    use_experiment_hdf5_settings(ExperimentLayout(options->experiment));
    const ReportSummary summary = make_report(*options);
    std::cout << (*json ? render_json(summary) : render_text(summary));
    exit_code = kExitOk;
  });
}

}  // namespace gridfold::cli
