#include "orchestrator/local_run.hpp"

#include <unistd.h>

#include <algorithm>
#include <thread>

#include "orchestrator/command_runner.hpp"
#include "orchestrator/template_dir.hpp"

namespace gridfold {

LocalRunResult run_locally(const LocalRunOptions& options) {
  LocalRunResult result;
  result.plan = plan_experiment(options.plan);
  if (options.plan.dry_run) return result;

  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int threads = std::max(1, cores / options.ranks);
  std::vector<std::string> argv;
  if (options.ranks > 1) {
    argv = {"mpirun", "-np", std::to_string(options.ranks), "--oversubscribe", "--bind-to", "none"};
    if (geteuid() == 0) argv.push_back("--allow-run-as-root");
  }
  argv.insert(argv.end(), {worker_executable().string(), "--experiment", result.plan.experiment_dir.string(), "--all",
                           "--threads", std::to_string(threads)});
  result.worker_exit_code = run_command_inheriting_output(argv);
  return result;
}

}  // namespace gridfold
