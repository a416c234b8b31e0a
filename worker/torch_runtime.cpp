#include "worker/torch_runtime.hpp"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/version.h>

#include <fmt/format.h>
#include <malloc.h>

#include <charconv>
#include <cstdlib>
#include <mutex>
#include <string_view>
#include <thread>

namespace gridfold::worker {

int thread_count_for(int requested) {
  if (requested > 0) return requested;
  if (const char* slurm = std::getenv("SLURM_CPUS_PER_TASK")) {
    const std::string_view text(slurm);
    int cpus = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), cpus);
    if (error == std::errc() && end == text.data() + text.size() && cpus > 0) return cpus;
  }
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

void use_threads(int threads) {
  // Torch refuses to change the inter-op pool once it has run work, so set it first thing.
  static std::once_flag interop_once;
  std::call_once(interop_once, [] { at::set_num_interop_threads(1); });
  if (at::get_num_threads() != threads) at::set_num_threads(threads);
}

void keep_freed_memory() {
  // Fixed thresholds also turn off glibc's sliding ones. Blocks up to 32 MiB (glibc's largest
  // mmap threshold) come from the heap and are reused; larger ones are mapped and unmapped
  // as before, so one huge batch does not pin its memory. Up to 512 MiB freed at the top of
  // the heap stays with the process: evaluation memory is bounded (worker/row_prediction.hpp),
  // so this holds what the next step or evaluation asks for again.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
}

std::string torch_version() {
  return TORCH_VERSION;
}

CudaRuntime cuda_runtime() {
  // hasCUDART is true only where LibTorch's CUDA library registered its hooks: a CPU build
  // answers false. getNumGPUs asks the driver and is 0 without one.
  const at::CUDAHooksInterface& hooks = at::detail::getCUDAHooks();
  const bool compiled = hooks.hasCUDART();
  return CudaRuntime{compiled, compiled ? hooks.getNumGPUs() : 0};
}

WorkerRuntime worker_runtime() {
  const CudaRuntime cuda = cuda_runtime();
  WorkerRuntime r;
  r.gridfold_version = GRIDFOLD_VERSION;
  r.torch_version = torch_version();
  r.cuda_compiled = cuda.compiled;
  r.visible_devices = cuda.visible_devices;
  if (cuda.compiled) {
    // CUDART versions read major * 1000 + minor * 10 (12010 is 12.1).
    const long version = at::detail::getCUDAHooks().versionCUDART();
    r.cuda_version = fmt::format("{}.{}", version / 1000, (version % 1000) / 10);
  }
  if (const char* visible = std::getenv("CUDA_VISIBLE_DEVICES")) r.cuda_visible_devices = visible;
  return r;
}

}  // namespace gridfold::worker
