#include "orchestrator/slurm/gpu_request.hpp"

#include <fmt/format.h>

namespace gridfold {

WorkerRuntime ask_worker_runtime(const std::filesystem::path& worker, const CommandRunner& run) {
  const std::vector<std::string> argv{worker.string(), "--version", "--json"};
  CommandResult result;
  try {
    result = run(argv);
  } catch (const std::runtime_error& e) {
    throw WorkerRuntimeError(fmt::format("cannot run {}: {}", quote_for_display(argv), e.what()));
  }
  if (result.exit_code != 0) {
    throw WorkerRuntimeError(fmt::format("{} failed with exit code {}: {}", quote_for_display(argv), result.exit_code,
                                         result.err.substr(0, 300)));
  }
  return parse_worker_runtime(result.out, quote_for_display(argv));
}

std::string check_gpu_request(const ExperimentSpec& spec, const WorkerRuntime& runtime,
                              const std::filesystem::path& worker, bool allow_cpu) {
  if (runtime.cuda_compiled) {
    return fmt::format("GPU check: {} has LibTorch {} with CUDA {}; each rank binds its GPU by local rank",
                       worker.string(), runtime.torch_version, runtime.cuda_version);
  }
  const std::string without =
      fmt::format("{} was built against LibTorch {} without CUDA", worker.string(), runtime.torch_version);
  if (spec.training.device == DeviceSetting::cuda) {
    throw GpuRequestError(fmt::format(
        "training.device is cuda but {}, so every task would fail; build gridfold-worker against a CUDA LibTorch "
        "(cmake -DCMAKE_PREFIX_PATH=/path/to/libtorch, see docs/gpu.md), or set training.device: auto or cpu",
        without));
  }
  if (!allow_cpu) {
    throw GpuRequestError(
        fmt::format("slurm.gpus is {} but {}: the GPUs would sit idle while every rank trains on the CPU. Build "
                    "gridfold-worker against a CUDA LibTorch (cmake -DCMAKE_PREFIX_PATH=/path/to/libtorch, see "
                    "docs/gpu.md), "
                    "set slurm.gpus: 0, or pass --allow-cpu to request the GPUs and train on the CPU anyway",
                    spec.slurm.gpus, without));
  }
  return fmt::format("GPU check: {}; --allow-cpu given, so the tasks train on the CPU and record it", without);
}

}  // namespace gridfold
