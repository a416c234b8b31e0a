// Dynamic distribution of tasks over the MPI ranks of one job (array element): every rank
// asks for the next task when it finishes one, so configurations of unequal cost balance.
// Rank 0 hands tasks out from a dispatcher thread while it trains like every other rank;
// with one rank no dispatcher runs at all.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace gridfold {

// Owns MPI_Init/MPI_Finalize for the process.
class MpiSession {
 public:
  MpiSession(int& argc, char**& argv);
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  ~MpiSession();
  int rank() const { return rank_; }
  int size() const { return size_; }
  bool threads_supported() const { return threads_supported_; }

 private:
  int rank_ = 0, size_ = 1;
  bool threads_supported_ = false;
};

// A rank that could not set itself up, and why.
struct RankFailure {
  int rank = 0;
  std::string reason;
};

// Collective: every rank says whether its set-up succeeded (no reason) or why it failed, and
// every rank learns the failures of all ranks, by rank; empty when every rank is ready. Called
// before run_task_farm, so that one rank that cannot start stops them all at once instead of
// leaving the others waiting for it in the farm until the time limit.
std::vector<RankFailure> agree_on_setup(const MpiSession& mpi, const std::optional<std::string>& failure);

struct FarmTotals {
  std::uint64_t tasks_run = 0;  // over all ranks
  std::uint64_t tasks_failed = 0;
};

// Runs every task of `tasks` exactly once on some rank; `run_task` returns false when the
// task failed. Collective: every rank must call it with the same list, after agree_on_setup
// found every rank ready.
FarmTotals run_task_farm(const MpiSession& mpi, const std::vector<std::uint64_t>& tasks,
                         const std::function<bool(std::uint64_t task)>& run_task);

}  // namespace gridfold
