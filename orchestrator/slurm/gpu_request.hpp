// Honest GPU requests: before `gridfold submit` asks SLURM for GPUs, it asks the worker that
// will run whether its LibTorch can use them, so that allocated GPUs never sit idle while
// every rank trains on the CPU without anyone noticing.
#pragma once

#include <filesystem>
#include <string>

#include "common/errors.hpp"
#include "common/spec.hpp"
#include "common/worker_runtime.hpp"
#include "orchestrator/process/command_runner.hpp"

namespace gridfold {

// The spec asks for GPUs that the worker cannot use: exit 3, the message says why and how to
// build a CUDA worker, change the spec or pass --allow-cpu.
class GpuRequestError : public BadInputError {
 public:
  using BadInputError::BadInputError;
};

// Runs `worker --version --json` through `run` and reads its report; throws
// WorkerRuntimeError when the worker cannot be run or prints something else.
WorkerRuntime ask_worker_runtime(const std::filesystem::path& worker, const CommandRunner& run);

// The check of a spec with slurm.gpus > 0 against the worker's report (`worker` names the
// binary in messages). A worker built with CUDA passes: the login node running submit
// usually has no GPU, so visible devices are not asked for. A worker without CUDA is refused
// with GpuRequestError unless allow_cpu; even then training.device: cuda is refused, as
// every task would fail. Returns the line submit prints about what was checked.
std::string check_gpu_request(const ExperimentSpec& spec, const WorkerRuntime& runtime,
                              const std::filesystem::path& worker, bool allow_cpu);

}  // namespace gridfold
