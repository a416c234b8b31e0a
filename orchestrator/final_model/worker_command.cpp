#include "orchestrator/final_model/worker_command.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <thread>

#include "orchestrator/process/command_runner.hpp"
#include "orchestrator/templates/template_dir.hpp"

namespace gridfold {

void run_worker(const std::vector<std::string>& arguments, const std::string& what) {
  std::vector<std::string> argv{worker_executable().string()};
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  const int rc = run_command_inheriting_output(argv);
  if (rc != 0) {
    throw WorkerError(fmt::format("gridfold-worker {} failed with exit code {} (its message is above)", what, rc), rc);
  }
}

int worker_threads(int requested) {
  return requested > 0 ? requested : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace gridfold
