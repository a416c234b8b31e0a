// Which device a worker rank trains on: training.device resolved against what this process's
// LibTorch can use and against the rank's place on its node. Pure functions, without Torch,
// so that the orchestrator and the tests use the same rules as the worker.
#pragma once

#include <functional>
#include <string>

#include "common/errors.hpp"
#include "common/spec.hpp"

namespace gridfold {

// training.device is cuda but no GPU can be used here (LibTorch without CUDA, no visible
// device, or fewer devices than this node's ranks need); the message says which and what to do.
class DeviceUnavailableError : public ClusterError {
 public:
  using ClusterError::ClusterError;
};

// This rank among the ranks of its node.
struct LocalRank {
  int rank = 0;
  int size = 1;
  std::string source;  // the environment variable it came from, or "none" for a lone process
};

// The local rank as the launcher tells it: Open MPI's mpirun (OMPI_COMM_WORLD_LOCAL_RANK and
// _SIZE), MPICH/Hydra (MPI_LOCALRANKID, MPI_LOCALNRANKS), then srun (SLURM_LOCALID,
// SLURM_NTASKS_PER_NODE / SLURM_TASKS_PER_NODE). The launchers come before SLURM because
// ranks started by mpirun inside a batch job inherit the batch shell's SLURM_LOCALID, 0 for
// every rank. `lookup` is getenv or a test's table; malformed values are skipped.
LocalRank local_rank_from(const std::function<const char*(const char*)>& lookup);

// What this process's LibTorch reports.
struct CudaRuntime {
  bool compiled = false;  // LibTorch was built with CUDA
  int visible_devices = 0;
};

struct ComputeDevice {
  bool cuda = false;
  int index = 0;             // among the visible devices (CUDA_VISIBLE_DEVICES numbering)
  std::string name = "cpu";  // "cpu" or "cuda:1": what fold results record
  std::string reason;        // why this device, for the worker's log
};

// The GPU of local rank `local.rank` when `ranks_per_gpu` ranks share each: rank r uses
// visible device r / ranks_per_gpu. With one visible device every rank uses it (a launcher
// that binds one GPU per task, such as srun --gpu-bind, leaves each rank exactly one).
// Throws DeviceUnavailableError when no device is visible or r / ranks_per_gpu is beyond the
// visible ones, naming the counts and the setting to change.
int gpu_for_rank(const LocalRank& local, int visible_devices, int ranks_per_gpu);

// training.device resolved: cpu -> cpu; cuda -> the rank's GPU, or DeviceUnavailableError
// saying why none can be used; automatic -> cuda when LibTorch has CUDA and a device is
// visible, else cpu (the reason says which was missing).
ComputeDevice choose_device(DeviceSetting setting, const CudaRuntime& cuda, const LocalRank& local, int ranks_per_gpu);

}  // namespace gridfold
