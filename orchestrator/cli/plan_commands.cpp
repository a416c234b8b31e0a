// gridfold plan and run: planning an experiment, and running it on this machine.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <iostream>
#include <memory>

#include "common/exit_codes.hpp"
#include "orchestrator/cli/commands.hpp"
#include "orchestrator/local/local_run.hpp"
#include "orchestrator/pack/pack_command.hpp"
#include "orchestrator/plan/plan_command.hpp"
#include "orchestrator/report/report_command.hpp"

namespace gridfold::cli {

void add_plan(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<PlanOptions>();
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("plan", "Expand an experiment spec into an experiment directory (plan.h5)");
  cmd->add_option("spec", options->spec, "Experiment YAML")->required()->check(CLI::ExistingFile);
  cmd->add_option("--out,-o", options->out, "Experiment directory (default: ./<experiment name>)");
  cmd->add_flag("--dry-run", options->dry_run, "Show what would be planned; write nothing");
  cmd->add_flag("--replan", options->replan,
                "Plan a directory whose frozen spec or data differs, setting its old results aside in superseded/");
  cmd->add_flag("--json", *json, "Print the summary as JSON");
  cmd->callback([options, json, &exit_code] {
    const PlanSummary summary = plan_experiment(*options);
    std::cout << (*json ? render_json(summary) : render_text(summary));
    exit_code = kExitOk;
  });
}

void add_run(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<PlanOptions>();
  auto ranks = std::make_shared<int>(1);
  auto local = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("run", "Plan an experiment and run it on this machine (--local)");
  cmd->add_option("spec", options->spec, "Experiment YAML")->required()->check(CLI::ExistingFile);
  cmd->add_flag("--local", *local, "Run with the local executor (mpirun on this machine), then pack and report")
      ->required();
  cmd->add_option("--ranks,-n", *ranks, "MPI ranks (1 runs the worker without mpirun)")
      ->check(CLI::Range(1, 4096))
      ->default_val(1);
  cmd->add_option("--out,-o", options->out, "Experiment directory (default: ./<experiment name>)");
  cmd->add_flag("--dry-run", options->dry_run, "Show the plan; run nothing");
  cmd->add_flag("--replan", options->replan,
                "Plan a directory whose frozen spec or data differs, setting its old results aside in superseded/");
  cmd->callback([options, ranks, &exit_code] {
    const PlanSummary plan = plan_experiment(*options);
    std::cout << render_text(plan) << std::flush;
    if (options->dry_run) return;
    const int rc = run_worker_locally(plan.experiment_dir, *ranks);
    // As on a cluster, finished results are packed and harvested even when some tasks
    // failed; the report shows what there is.
    PackOptions pack;
    pack.experiment = plan.experiment_dir;
    pack.log_min_age_seconds = 0;
    std::cout << render_text(pack_experiment(pack));
    ReportOptions report;
    report.experiment = plan.experiment_dir;
    std::cout << render_text(make_report(report));
    exit_code = rc == 0 ? kExitOk : kExitTasksFailed;
  });
}

}  // namespace gridfold::cli
