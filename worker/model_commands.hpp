// `gridfold-worker refit` and `gridfold-worker predict`: the Torch half of `gridfold
// finalize` and `gridfold predict`, which run them as subprocesses.
#pragma once

#include <string_view>

namespace gridfold::worker {

// True for the subcommand names run_model_command handles.
bool is_model_command(std::string_view name);

// The whole command line (argv[1] is the subcommand). Returns gridfold's exit codes (docs/cli.md), which `gridfold`
// passes on: 0 done, 1 training failed (diverged), 2 bad command line, 3 bad input (spec,
// data, model file), 5 an I/O error.
int run_model_command(int argc, char** argv);

}  // namespace gridfold::worker
