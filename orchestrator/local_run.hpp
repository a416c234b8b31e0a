// `gridfold run --local`: the embedded default executor. Plans the experiment and runs the
// same worker SLURM would run, through mpirun on this machine.
#pragma once

#include <filesystem>

#include "orchestrator/plan_command.hpp"

namespace gridfold {

struct LocalRunOptions {
  PlanOptions plan;
  int ranks = 1;  // MPI ranks; 1 runs the worker without mpirun
};

struct LocalRunResult {
  PlanSummary plan;
  int worker_exit_code = 0;
};

LocalRunResult run_locally(const LocalRunOptions& options);

}  // namespace gridfold
