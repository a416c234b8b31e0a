#include "common/compute_device.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <optional>
#include <string_view>

namespace gridfold {
namespace {

std::optional<int> whole_number(const char* text) {
  if (!text || !*text) return std::nullopt;
  const std::string_view s(text);
  int value = 0;
  const auto [end, error] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (error != std::errc() || end != s.data() + s.size() || value < 0) return std::nullopt;
  return value;
}

// SLURM_TASKS_PER_NODE reads "2(x3),1": the first node's count is what a rank of a uniform
// job sees; only its leading number matters here.
std::optional<int> leading_number(const char* text) {
  if (!text) return std::nullopt;
  const std::string_view s(text);
  int value = 0;
  const auto [end, error] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (error != std::errc() || end == s.data() || value < 1) return std::nullopt;
  return value;
}

struct RankSource {
  const char* rank;
  const char* size;
  const char* fallback_size;  // or nullptr
};

constexpr RankSource kSources[] = {
    {"OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_SIZE", nullptr},
    {"MPI_LOCALRANKID", "MPI_LOCALNRANKS", nullptr},
    {"SLURM_LOCALID", "SLURM_NTASKS_PER_NODE", "SLURM_TASKS_PER_NODE"},
};

}  // namespace

LocalRank local_rank_from(const std::function<const char*(const char*)>& lookup) {
  for (const RankSource& source : kSources) {
    const std::optional<int> rank = whole_number(lookup(source.rank));
    if (!rank) continue;
    std::optional<int> size = leading_number(lookup(source.size));
    if (!size && source.fallback_size) size = leading_number(lookup(source.fallback_size));
    return LocalRank{*rank, std::max(size.value_or(*rank + 1), *rank + 1), source.rank};
  }
  return LocalRank{0, 1, "none"};
}

int gpu_for_rank(const LocalRank& local, int visible_devices, int ranks_per_gpu) {
  if (visible_devices < 1) {
    throw DeviceUnavailableError(
        "no CUDA device is visible to this process (CUDA_VISIBLE_DEVICES, or a node without GPUs); request GPUs "
        "with slurm.gpus, or set training.device: cpu");
  }
  if (visible_devices == 1) return 0;
  const int share = std::max(ranks_per_gpu, 1);
  const int device = local.rank / share;
  if (device >= visible_devices) {
    throw DeviceUnavailableError(fmt::format(
        "local rank {} of {} (from {}) would use GPU {}, but only {} are visible with slurm.ranks_per_gpu {}; "
        "request a GPU per {} rank(s) (slurm.gpus), raise slurm.ranks_per_gpu, or start fewer ranks per node",
        local.rank, local.size, local.source, device, visible_devices, share, share));
  }
  return device;
}

ComputeDevice choose_device(DeviceSetting setting, const CudaRuntime& cuda, const LocalRank& local, int ranks_per_gpu) {
  if (setting == DeviceSetting::cpu) return ComputeDevice{false, 0, "cpu", "training.device is cpu"};
  if (!cuda.compiled || cuda.visible_devices < 1) {
    const std::string missing =
        !cuda.compiled ? "this worker's LibTorch was built without CUDA" : "no CUDA device is visible to this process";
    if (setting == DeviceSetting::automatic) {
      return ComputeDevice{false, 0, "cpu", fmt::format("training.device auto: {}", missing)};
    }
    throw DeviceUnavailableError(
        fmt::format("training.device is cuda but {}; {}", missing,
                    !cuda.compiled
                        ? "build gridfold-worker against a CUDA LibTorch (docs/gpu.md) or set training.device: cpu"
                        : "request GPUs with slurm.gpus, or set training.device: cpu"));
  }
  const int index = gpu_for_rank(local, cuda.visible_devices, ranks_per_gpu);
  return ComputeDevice{true, index, fmt::format("cuda:{}", index),
                       fmt::format("training.device {}: local rank {} of {} (from {}), {} visible device(s), {} "
                                   "rank(s) per GPU",
                                   to_string(setting), local.rank, local.size, local.source, cuda.visible_devices,
                                   std::max(ranks_per_gpu, 1))};
}

}  // namespace gridfold
