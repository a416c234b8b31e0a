// `gridfold status [--watch]`: one report of an experiment's status, or a poll until every
// element has ended.
#pragma once

#include <filesystem>
#include <ostream>

#include "orchestrator/slurm/slurm_client.hpp"

namespace gridfold {

struct StatusWatchOptions {
  std::filesystem::path experiment;
  double watch_seconds = 0;  // 0: report once; else poll at this interval (raised to kMinimumPollSeconds)
  bool json = false;
  bool terminal = false;  // redraw a table in place; otherwise one timestamped line per poll
};

// Every poll costs the controller one squeue and one sacct call; a floor keeps a thousand
// users watching from overloading it.
inline constexpr double kMinimumPollSeconds = 10;

// Reports the status to `out` until no element is active (or once, without watching).
// Returns kExitOk when no element and no task failed, else kExitTasksFailed.
int report_status(const StatusWatchOptions& options, const SlurmClient& slurm, std::ostream& out);

}  // namespace gridfold
