#include <catch2/catch.hpp>

#include <map>
#include <string>

#include "common/compute_device.hpp"

using namespace gridfold;

namespace {

// A fake environment for local_rank_from.
struct Environment {
  std::map<std::string, std::string> variables;
  const char* operator()(const char* name) const {
    const auto it = variables.find(name);
    return it == variables.end() ? nullptr : it->second.c_str();
  }
};

LocalRank rank(int r, int size) {
  return LocalRank{r, size, "test"};
}

std::string device_error(DeviceSetting setting, CudaRuntime cuda, LocalRank local, int ranks_per_gpu) {
  try {
    choose_device(setting, cuda, local, ranks_per_gpu);
  } catch (const DeviceUnavailableError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("the local rank comes from mpirun before the SLURM_LOCALID the batch shell passes on", "[device]") {
  const Environment mpirun{{{"OMPI_COMM_WORLD_LOCAL_RANK", "3"},
                            {"OMPI_COMM_WORLD_LOCAL_SIZE", "4"},
                            {"SLURM_LOCALID", "0"},
                            {"SLURM_TASKS_PER_NODE", "1"}}};
  const LocalRank local = local_rank_from(mpirun);
  CHECK(local.rank == 3);
  CHECK(local.size == 4);
  CHECK(local.source == "OMPI_COMM_WORLD_LOCAL_RANK");
}

TEST_CASE("the local rank of an srun task comes from SLURM_LOCALID and SLURM_TASKS_PER_NODE", "[device]") {
  const Environment srun{{{"SLURM_LOCALID", "1"}, {"SLURM_TASKS_PER_NODE", "2(x3)"}}};
  const LocalRank local = local_rank_from(srun);
  CHECK(local.rank == 1);
  CHECK(local.size == 2);
  CHECK(local.source == "SLURM_LOCALID");
}

TEST_CASE("MPICH's local rank is read, and a malformed variable is skipped", "[device]") {
  const Environment hydra{{{"OMPI_COMM_WORLD_LOCAL_RANK", "x"}, {"MPI_LOCALRANKID", "2"}, {"MPI_LOCALNRANKS", "8"}}};
  const LocalRank local = local_rank_from(hydra);
  CHECK(local.rank == 2);
  CHECK(local.size == 8);
}

TEST_CASE("a process no launcher started is local rank 0 of 1", "[device]") {
  const LocalRank local = local_rank_from(Environment{});
  CHECK(local.rank == 0);
  CHECK(local.size == 1);
  CHECK(local.source == "none");
}

TEST_CASE("each local rank gets its own GPU, or shares one with ranks_per_gpu", "[device]") {
  CHECK(gpu_for_rank(rank(0, 4), 4, 1) == 0);
  CHECK(gpu_for_rank(rank(3, 4), 4, 1) == 3);
  CHECK(gpu_for_rank(rank(1, 4), 2, 2) == 0);
  CHECK(gpu_for_rank(rank(2, 4), 2, 2) == 1);
  CHECK(gpu_for_rank(rank(3, 4), 2, 2) == 1);
}

TEST_CASE("a rank that sees one GPU uses it, as under a per-task GPU binding", "[device]") {
  CHECK(gpu_for_rank(rank(0, 2), 1, 1) == 0);
  CHECK(gpu_for_rank(rank(1, 2), 1, 1) == 0);
}

TEST_CASE("more ranks than visible GPUs times ranks_per_gpu is refused with the counts", "[device]") {
  try {
    gpu_for_rank(rank(2, 3), 2, 1);
    FAIL("expected DeviceUnavailableError");
  } catch (const DeviceUnavailableError& e) {
    const std::string message = e.what();
    CHECK_THAT(message, Catch::Contains("local rank 2 of 3"));
    CHECK_THAT(message, Catch::Contains("only 2 are visible"));
    CHECK_THAT(message, Catch::Contains("slurm.ranks_per_gpu"));
  }
  CHECK_THROWS_AS(gpu_for_rank(rank(0, 1), 0, 1), DeviceUnavailableError);
}

TEST_CASE("device auto trains on the CPU when LibTorch has no CUDA, and says why", "[device]") {
  const ComputeDevice d = choose_device(DeviceSetting::automatic, CudaRuntime{false, 0}, rank(0, 1), 1);
  CHECK_FALSE(d.cuda);
  CHECK(d.name == "cpu");
  CHECK_THAT(d.reason, Catch::Contains("built without CUDA"));
  const ComputeDevice no_gpu = choose_device(DeviceSetting::automatic, CudaRuntime{true, 0}, rank(0, 1), 1);
  CHECK(no_gpu.name == "cpu");
  CHECK_THAT(no_gpu.reason, Catch::Contains("no CUDA device is visible"));
}

TEST_CASE("device auto picks the rank's GPU when LibTorch has CUDA and devices are visible", "[device]") {
  const ComputeDevice d = choose_device(DeviceSetting::automatic, CudaRuntime{true, 2}, rank(1, 2), 1);
  CHECK(d.cuda);
  CHECK(d.index == 1);
  CHECK(d.name == "cuda:1");
}

TEST_CASE("device cuda without a usable GPU fails with the reason instead of running on the CPU", "[device]") {
  CHECK_THAT(device_error(DeviceSetting::cuda, CudaRuntime{false, 0}, rank(0, 1), 1),
             Catch::Contains("training.device is cuda but this worker's LibTorch was built without CUDA") &&
                 Catch::Contains("docs/gpu.md"));
  CHECK_THAT(device_error(DeviceSetting::cuda, CudaRuntime{true, 0}, rank(0, 1), 1),
             Catch::Contains("no CUDA device is visible"));
  CHECK_THAT(device_error(DeviceSetting::cuda, CudaRuntime{true, 2}, rank(4, 5), 2),
             Catch::Contains("would use GPU 2"));
}

TEST_CASE("device cpu trains on the CPU even where a GPU is visible", "[device]") {
  const ComputeDevice d = choose_device(DeviceSetting::cpu, CudaRuntime{true, 4}, rank(0, 1), 1);
  CHECK_FALSE(d.cuda);
  CHECK(d.name == "cpu");
}
