// gridfold submit, status, resubmit and cancel: the experiment's life on SLURM.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdlib>
#include <iostream>
#include <memory>

#include <unistd.h>

#include "common/exit_codes.hpp"
#include "common/hdf5_settings.hpp"
#include "orchestrator/cli/commands.hpp"
#include "common/experiment_layout.hpp"
#include "common/text_file.hpp"
#include "orchestrator/slurm/resubmission.hpp"
#include "orchestrator/slurm/slurm_client.hpp"
#include "orchestrator/slurm/status_watch.hpp"
#include "orchestrator/slurm/submission.hpp"
#include "orchestrator/slurm/waves.hpp"

namespace gridfold::cli {

void add_submit(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<SubmitOptions>();
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("submit", "Submit a planned experiment to SLURM as job arrays plus a pack job");
  cmd->add_option("experiment", options->experiment, "Experiment directory made by gridfold plan")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_flag("--dry-run", options->dry_run, "Write and print the job scripts; submit nothing");
  cmd->add_option("--launcher", options->launcher, "How ranks start inside an element")
      ->check(CLI::IsMember({"mpirun", "srun"}))
      ->default_val("mpirun");
  cmd->add_flag("--allow-cpu", options->allow_cpu,
                "With slurm.gpus > 0: submit even when gridfold-worker's LibTorch has no CUDA (tasks train on the "
                "CPU)");
  cmd->add_flag("--json", *json, "Print the submission as JSON");
  auto next_wave = std::make_shared<bool>(false);
  // Run by the chain job (slurm_templates/wave.sbatch), which SLURM_JOB_ID identifies; hidden.
  cmd->add_flag("--next-wave", *next_wave, "Submit the next waves as the experiment's chain job")->group("");
  cmd->callback([options, json, next_wave, &exit_code] {
    use_experiment_hdf5_settings(ExperimentLayout(options->experiment));
    std::string chain_job;
    if (*next_wave) {
      const char* id = std::getenv("SLURM_JOB_ID");
      if (id == nullptr || *id == '\0') throw SpecError("--next-wave runs only inside the chain job (no SLURM_JOB_ID)");
      chain_job = id;
    }
    const WaveRound round = submit_waves(*options, SlurmClient{}, chain_job);
    std::cout << (*json ? render_json(round) : render_text(round));
    if (options->dry_run && !*json) {
      for (const auto& s : round.submissions) {
        for (const auto& a : s.arrays) std::cout << "\n# " << a.script.string() << "\n" << read_text_file(a.script);
      }
    }
    exit_code = kExitOk;
  });
}

void add_status(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<StatusWatchOptions>();
  CLI::App* cmd = app.add_subcommand("status", "Show where an experiment stands: array elements, tasks, failures");
  cmd->add_option("experiment", options->experiment, "Experiment directory")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--watch", options->watch_seconds, "Poll every SECONDS (at least 10) until every element has ended");
  cmd->add_flag("--json", options->json, "Print the status as JSON");
  cmd->callback([options, &exit_code] {
    use_experiment_hdf5_settings(ExperimentLayout(options->experiment));
    options->terminal = isatty(STDOUT_FILENO) != 0;
    exit_code = report_status(*options, SlurmClient{}, std::cout);
  });
}

void add_resubmit(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<ResubmitOptions>();
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("resubmit", "Submit again the elements whose tasks have no result");
  cmd->add_option("experiment", options->submit.experiment, "Experiment directory")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_flag("--failed-only", options->failed_only,
                "Only elements that ended FAILED, TIMEOUT, OUT_OF_MEMORY, CANCELLED, NODE_FAIL or PREEMPTED");
  cmd->add_option("--time", options->submit.time, "New time limit for these elements (e.g. 04:00:00)");
  cmd->add_option("--launcher", options->submit.launcher, "How ranks start inside an element")
      ->check(CLI::IsMember({"mpirun", "srun"}))
      ->default_val("mpirun");
  cmd->add_flag("--dry-run", options->submit.dry_run, "Write and print the job scripts; submit nothing");
  cmd->add_flag("--allow-cpu", options->submit.allow_cpu,
                "With slurm.gpus > 0: submit even when gridfold-worker's LibTorch has no CUDA (tasks train on the "
                "CPU)");
  cmd->add_flag("--json", *json, "Print the submission as JSON");
  cmd->callback([options, json, &exit_code] {
    use_experiment_hdf5_settings(ExperimentLayout(options->submit.experiment));
    const auto s = resubmit_experiment(*options, SlurmClient{});
    if (!s) {
      std::cout << (*json ? "null\n" : "nothing to resubmit: every element has its results or is still queued\n");
    } else {
      std::cout << (*json ? render_json(*s) : render_text(*s));
    }
    exit_code = kExitOk;
  });
}

void add_cancel(CLI::App& app, int& exit_code) {
  auto experiment = std::make_shared<std::filesystem::path>();
  CLI::App* cmd = app.add_subcommand("cancel", "Cancel every job array and pack job of an experiment");
  cmd->add_option("experiment", *experiment, "Experiment directory")->required()->check(CLI::ExistingDirectory);
  cmd->callback([experiment, &exit_code] {
    const auto ids = cancel_experiment(ExperimentLayout(*experiment), SlurmClient{});
    std::cout << fmt::format("cancelled {} job(s): {}\n", ids.size(), fmt::join(ids, " "));
    exit_code = kExitOk;
  });
}

}  // namespace gridfold::cli
