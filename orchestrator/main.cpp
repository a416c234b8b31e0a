// The gridfold command line: subcommands, and the one place where errors become exit codes.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <iostream>

#include "common/dataset.hpp"
#include "common/hdf5.hpp"
#include "common/spec.hpp"
#include "common/text_file.hpp"
#include "orchestrator/exit_codes.hpp"
#include "orchestrator/local_run.hpp"
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

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"gridfold: deep-learning grid searches on biological sequences, on SLURM or this machine"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("gridfold ") + GRIDFOLD_VERSION);
  int exit_code = kExitOk;
  add_plan(app, exit_code);
  add_run(app, exit_code);
  add_submit(app, exit_code);
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
