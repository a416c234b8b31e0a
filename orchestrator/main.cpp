// The gridfold command line: subcommands, and the one place where errors become exit codes.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <iostream>

#include "common/dataset.hpp"
#include "common/hdf5.hpp"
#include "common/spec.hpp"
#include "orchestrator/exit_codes.hpp"
#include "orchestrator/plan_command.hpp"

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

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"gridfold: deep-learning grid searches on biological sequences, on SLURM or this machine"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("gridfold ") + GRIDFOLD_VERSION);
  int exit_code = kExitOk;
  add_plan(app, exit_code);
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
  } catch (const gridfold::h5::Error& e) {
    fmt::print(stderr, "gridfold: error: {}\n", e.what());
    return kExitBadInput;
  } catch (const std::exception& e) {
    fmt::print(stderr, "gridfold: error: {}\n", e.what());
    return kExitInternal;
  }
  return exit_code;
}
