#include "orchestrator/local/local_run.hpp"

#include <unistd.h>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "orchestrator/process/command_runner.hpp"
#include "orchestrator/templates/template_dir.hpp"

namespace gridfold {

int run_worker_locally(const std::filesystem::path& experiment, int ranks) {
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int threads = std::max(1, cores / ranks);
  std::vector<std::string> argv;
  if (ranks > 1) {
    argv = {"mpirun", "-np", std::to_string(ranks), "--oversubscribe", "--bind-to", "none"};
    if (geteuid() == 0) argv.push_back("--allow-run-as-root");
  }
  argv.insert(argv.end(), {worker_executable().string(), "--experiment", experiment.string(), "--all", "--threads",
                           std::to_string(threads)});
  return run_command_inheriting_output(argv);
}

}  // namespace gridfold
