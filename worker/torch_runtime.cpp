#include "worker/torch_runtime.hpp"

#include <ATen/Parallel.h>
#include <torch/version.h>

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

std::string torch_version() {
  return TORCH_VERSION;
}

}  // namespace gridfold::worker
