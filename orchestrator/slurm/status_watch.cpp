#include "orchestrator/slurm/status_watch.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <thread>

#include "common/exit_codes.hpp"
#include "common/experiment_layout.hpp"
#include "orchestrator/slurm/experiment_status.hpp"
#include "orchestrator/slurm/job_states.hpp"

namespace gridfold {

int report_status(const StatusWatchOptions& options, const SlurmClient& slurm, std::ostream& out) {
  const bool watching = options.watch_seconds > 0;
  while (true) {
    const ExperimentStatus s = collect_status(ExperimentLayout(options.experiment), slurm);
    if (options.json) {
      out << render_json(s);
    } else if (watching && !options.terminal) {
      out << fmt::format("{:%Y-%m-%dT%H:%M:%S} {}", fmt::localtime(std::time(nullptr)), render_line(s)) << std::endl;
    } else {
      out << (watching ? "\033[H\033[2J" : "") << render_table(s) << std::flush;
    }
    const bool active =
        std::any_of(s.elements.begin(), s.elements.end(), [](const auto& e) { return is_active(e.state); });
    const int exit_code = s.failed_elements().empty() && s.task_failures.empty() ? kExitOk : kExitTasksFailed;
    if (!watching || !active) return exit_code;
    std::this_thread::sleep_for(std::chrono::duration<double>(std::max(options.watch_seconds, kMinimumPollSeconds)));
  }
}

}  // namespace gridfold
