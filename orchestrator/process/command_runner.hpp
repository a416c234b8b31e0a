// Running external programs (sbatch, squeue, mpirun, ...) without a shell, so that no
// argument is ever parsed as shell syntax. Injectable for unit tests of output parsing.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace gridfold {

struct CommandResult {
  int exit_code = 0;  // 128 + signal number when killed by a signal
  std::string out, err;
};

using CommandRunner = std::function<CommandResult(const std::vector<std::string>& argv)>;

// Runs argv[0] from PATH with captured stdout and stderr; throws std::runtime_error when the
// program cannot be started at all (e.g. not installed).
CommandResult run_command(const std::vector<std::string>& argv);

// Runs argv[0] with this process's stdout and stderr (for long-running children whose
// progress the user should see); returns the exit code.
int run_command_inheriting_output(const std::vector<std::string>& argv);

std::string quote_for_display(const std::vector<std::string>& argv);

}  // namespace gridfold
