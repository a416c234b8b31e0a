// The gridfold command line: subcommands, and the one place where errors become exit codes.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <exception>
#include <string>

#include "common/errors.hpp"
#include "common/exit_codes.hpp"
#include "orchestrator/cli/commands.hpp"

namespace {

// What kind of failure an exception is, as the exit codes of docs/cli.md tell scripts:
// gridfold's own errors carry their category; anything else is a bug.
int exit_code_of(const std::exception& e) {
  if (const auto* error = dynamic_cast<const gridfold::Error*>(&e)) return error->exit_code();
  return gridfold::kExitInternal;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace gridfold;
  CLI::App app{"gridfold: deep-learning grid searches on biological sequences, on SLURM or this machine"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("gridfold ") + GRIDFOLD_VERSION);
  int exit_code = kExitOk;
  cli::add_plan(app, exit_code);
  cli::add_run(app, exit_code);
  cli::add_submit(app, exit_code);
  cli::add_status(app, exit_code);
  cli::add_resubmit(app, exit_code);
  cli::add_cancel(app, exit_code);
  cli::add_pack(app, exit_code);
  cli::add_harvest(app, exit_code);
  cli::add_report(app, exit_code);
  cli::add_finalize(app, exit_code);
  cli::add_predict(app, exit_code);
  cli::add_export(app, exit_code);
  cli::add_prepare(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  } catch (const std::exception& e) {
    fmt::print(stderr, "gridfold: error: {}\n", e.what());
    return exit_code_of(e);
  }
  return exit_code;
}
