// `gridfold run --local`: the embedded default executor. Runs the same worker SLURM would
// run, through mpirun on this machine.
#pragma once

#include <filesystem>

namespace gridfold {

// Runs every task of a planned experiment with `ranks` MPI ranks (1: the worker alone, no
// mpirun), sharing this machine's cores among them; returns the worker's exit code.
int run_worker_locally(const std::filesystem::path& experiment, int ranks);

}  // namespace gridfold
