// Process-wide Torch settings and facts, for callers that do not include Torch.
#pragma once

#include <string>

#include "common/compute_device.hpp"
#include "common/worker_runtime.hpp"

namespace gridfold::worker {

// Threads for training: `requested` when > 0, else SLURM_CPUS_PER_TASK, else all cores.
int thread_count_for(int requested);

// Sets Torch's intra-op threads. The first call also pins inter-op threads to one: tasks
// run one at a time per process, and a second pool would only compete for the same cores.
void use_threads(int threads);

// Keeps memory that Torch frees in the process for its next tensors instead of returning it
// to the kernel. Torch's CPU tensors come straight from malloc, and glibc's defaults hand
// every freed block of more than a few MB back (trimming the heap or unmapping), so each
// forward pass on a larger batch than the last page-faulted all its activations in again:
// that made evaluation in batches of hundreds of rows slower per row than training
// (docs/benchmarks.md). Call once, first thing in the process.
void keep_freed_memory();

std::string torch_version();

// Whether this process's LibTorch was built with CUDA (its CUDA library is loaded), and how
// many devices it sees.
CudaRuntime cuda_runtime();

// The worker's report for `gridfold-worker --version`: versions, CUDA, visible devices.
WorkerRuntime worker_runtime();

}  // namespace gridfold::worker
