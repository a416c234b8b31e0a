// The gridfold command line: subcommands, and the one place where errors become exit codes.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <fmt/chrono.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>
#include <iostream>

#include "common/dataset.hpp"
#include "common/hdf5.hpp"
#include "common/spec.hpp"
#include "common/text_file.hpp"
#include "orchestrator/exit_codes.hpp"
#include "orchestrator/experiment_status.hpp"
#include "orchestrator/local_run.hpp"
#include "orchestrator/resubmission.hpp"
#include "orchestrator/plan_command.hpp"
#include "orchestrator/script_template.hpp"
#include "orchestrator/slurm_client.hpp"
#include "orchestrator/submission.hpp"

namespace {

using namespace gridfold;

void add_plan(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<PlanOptions>();
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("plan", "Expand an experiment spec into an experiment directory (plan.h5)");
  cmd->add_option("spec", options->spec, "Experiment YAML")->required()->check(CLI::ExistingFile);
  cmd->add_option("--out,-o", options->out, "Experiment directory (default: ./<experiment name>)");
  cmd->add_flag("--dry-run", options->dry_run, "Show what would be planned; write nothing");
  cmd->add_flag("--json", *json, "Print the summary as JSON");
  cmd->callback([options, json, &exit_code] {
    const PlanSummary summary = plan_experiment(*options);
    std::cout << (*json ? render_json(summary) : render_text(summary));
    exit_code = kExitOk;
  });
}

void add_run(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<LocalRunOptions>();
  auto local = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("run", "Plan an experiment and run it on this machine (--local)");
  cmd->add_option("spec", options->plan.spec, "Experiment YAML")->required()->check(CLI::ExistingFile);
  cmd->add_flag("--local", *local, "Run with the local executor (mpirun on this machine)")->required();
  cmd->add_option("--ranks,-n", options->ranks, "MPI ranks (1 runs the worker without mpirun)")
      ->check(CLI::Range(1, 4096))
      ->default_val(1);
  cmd->add_option("--out,-o", options->plan.out, "Experiment directory (default: ./<experiment name>)");
  cmd->add_flag("--dry-run", options->plan.dry_run, "Show the plan; run nothing");
  cmd->callback([options, &exit_code] {
    const LocalRunResult r = run_locally(*options);
    std::cout << render_text(r.plan);
    if (options->plan.dry_run) return;
    std::cout << fmt::format("results     {}\n", (r.plan.experiment_dir / "results").string());
    exit_code = r.worker_exit_code == 0 ? kExitOk : kExitTasksFailed;
  });
}

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
  cmd->add_flag("--json", *json, "Print the submission as JSON");
  cmd->callback([options, json, &exit_code] {
    const Submission s = submit_experiment(*options, SlurmClient{});
    std::cout << (*json ? render_json(s) : render_text(s));
    if (options->dry_run && !*json) {
      for (const auto& a : s.arrays) std::cout << "\n# " << a.script.string() << "\n" << read_text_file(a.script);
    }
    exit_code = kExitOk;
  });
}

void add_status(CLI::App& app, int& exit_code) {
  auto experiment = std::make_shared<std::filesystem::path>();
  auto watch = std::make_shared<double>(0);
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("status", "Show where an experiment stands: array elements, tasks, failures");
  cmd->add_option("experiment", *experiment, "Experiment directory")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--watch", *watch, "Poll every SECONDS (at least 10) until every element has ended");
  cmd->add_flag("--json", *json, "Print the status as JSON");
  cmd->callback([experiment, watch, json, &exit_code] {
    // Every poll costs the controller one squeue and one sacct call; a floor keeps a
    // thousand users watching from overloading it.
    constexpr double kMinimumPoll = 10;
    const bool terminal = isatty(STDOUT_FILENO) != 0;
    const SlurmClient slurm;
    while (true) {
      const ExperimentStatus s = collect_status(ExperimentLayout(*experiment), slurm);
      if (*json) {
        std::cout << render_json(s);
      } else if (*watch > 0 && !terminal) {
        std::cout << fmt::format("{:%Y-%m-%dT%H:%M:%S} {}", fmt::localtime(std::time(nullptr)), render_line(s)) << std::endl;
      } else {
        std::cout << (*watch > 0 ? "\033[H\033[2J" : "") << render_table(s) << std::flush;
      }
      const bool active = std::any_of(s.elements.begin(), s.elements.end(), [](const auto& e) { return is_active(e.state); });
      exit_code = s.failed_elements().empty() && s.task_failures.empty() ? kExitOk : kExitTasksFailed;
      if (*watch <= 0 || !active) return;
      std::this_thread::sleep_for(std::chrono::duration<double>(std::max(*watch, kMinimumPoll)));
    }
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
  cmd->add_flag("--json", *json, "Print the submission as JSON");
  cmd->callback([options, json, &exit_code] {
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

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"gridfold: deep-learning grid searches on biological sequences, on SLURM or this machine"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("gridfold ") + GRIDFOLD_VERSION);
  int exit_code = kExitOk;
  add_plan(app, exit_code);
  add_run(app, exit_code);
  add_submit(app, exit_code);
  add_status(app, exit_code);
  add_resubmit(app, exit_code);
  add_cancel(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  } catch (const gridfold::SpecError& e) {
    fmt::print(stderr, "gridfold: error: {}\n", e.what());
    return kExitBadInput;
  } catch (const gridfold::DataError& e) {
    fmt::print(stderr, "gridfold: error: {}\n", e.what());
    return kExitBadInput;
  } catch (const gridfold::TemplateError& e) {
    fmt::print(stderr, "gridfold: error: {}\n", e.what());
    return kExitBadInput;
  } catch (const gridfold::SlurmError& e) {
    fmt::print(stderr, "gridfold: error: {}\n", e.what());
    return kExitCluster;
  } catch (const gridfold::h5::Error& e) {
    fmt::print(stderr, "gridfold: error: {}\n", e.what());
    return kExitBadInput;
  } catch (const std::exception& e) {
    fmt::print(stderr, "gridfold: error: {}\n", e.what());
    return kExitInternal;
  }
  return exit_code;
}
