// What a gridfold-worker can compute with, as `gridfold-worker --version --json` prints it:
// the contract between the worker, which reports it, and `gridfold submit`, which asks the
// worker it will run before it requests GPUs for it.
#pragma once

#include <string>

#include "common/compute_device.hpp"
#include "common/errors.hpp"

namespace gridfold {

// The worker's report could not be read (not the JSON below, or a field of the wrong type).
class WorkerRuntimeError : public ClusterError {
 public:
  using ClusterError::ClusterError;
};

struct WorkerRuntime {
  std::string gridfold_version;
  std::string torch_version;
  bool cuda_compiled = false;        // LibTorch was built with CUDA
  std::string cuda_version;          // the CUDA runtime LibTorch was built with, "12.1"; empty without CUDA
  int visible_devices = 0;           // CUDA devices this process sees
  std::string cuda_visible_devices;  // the environment variable as it was set; empty when unset

  CudaRuntime cuda() const { return CudaRuntime{cuda_compiled, visible_devices}; }
};

// {"gridfold": ..., "torch": ..., "cuda_compiled": ..., "cuda_version": ..., "visible_devices": ...,
//  "cuda_visible_devices": ...} on one line.
std::string worker_runtime_json(const WorkerRuntime& runtime);

// The same for people, one "key: value" line each.
std::string worker_runtime_text(const WorkerRuntime& runtime);

// Reads worker_runtime_json's output; throws WorkerRuntimeError naming `source` (the command
// that printed it) and quoting the text when it is not that JSON.
WorkerRuntime parse_worker_runtime(const std::string& json, const std::string& source);

}  // namespace gridfold
