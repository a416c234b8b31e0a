// The gridfold subcommands, each group wired onto the CLI11 app in its own file. Every
// callback sets `exit_code` when its command succeeds or ends with failed tasks; errors
// propagate as exceptions to main(), the one place that maps them to exit codes.
#pragma once

namespace CLI {
class App;
}

namespace gridfold::cli {

void add_plan(CLI::App& app, int& exit_code);      // plan
void add_run(CLI::App& app, int& exit_code);       // run --local
void add_submit(CLI::App& app, int& exit_code);    // submit
void add_status(CLI::App& app, int& exit_code);    // status [--watch]
void add_resubmit(CLI::App& app, int& exit_code);  // resubmit
void add_cancel(CLI::App& app, int& exit_code);    // cancel
void add_pack(CLI::App& app, int& exit_code);      // pack
void add_harvest(CLI::App& app, int& exit_code);   // harvest
void add_report(CLI::App& app, int& exit_code);    // report
void add_finalize(CLI::App& app, int& exit_code);  // finalize
void add_predict(CLI::App& app, int& exit_code);   // predict
void add_export(CLI::App& app, int& exit_code);    // export
void add_prepare(CLI::App& app, int& exit_code);   // prepare bed-bins, prepare gtf-windows

}  // namespace gridfold::cli
