// The MPI task farm with trivial tasks instead of training, run under mpirun with 1 and 3
// ranks (tests/CMakeLists.txt). Every test case is collective: all ranks run the same cases in
// the same order, so a rank must never leave one early (CHECK, not REQUIRE, around MPI calls).
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <mpi.h>

#include <chrono>
#include <cstdint>
#include <numeric>
#include <thread>
#include <vector>

#include "worker/task_farm.hpp"

using namespace gridfold;

namespace {

const MpiSession* session = nullptr;

std::vector<std::uint64_t> task_list(std::uint64_t n) {
  std::vector<std::uint64_t> tasks(n);
  std::iota(tasks.begin(), tasks.end(), std::uint64_t{100});  // task values differ from positions
  return tasks;
}

// How often each task ran, summed over all ranks (on every rank).
std::vector<int> runs_over_ranks(const std::vector<int>& local) {
  std::vector<int> total(local.size());
  MPI_Allreduce(local.data(), total.data(), static_cast<int>(local.size()), MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  return total;
}

}  // namespace

TEST_CASE("every task of uneven cost runs exactly once over the ranks", "[task_farm]") {
  const MpiSession& mpi = *session;
  const auto tasks = task_list(40);
  std::vector<int> runs(tasks.size(), 0);
  const FarmTotals totals = run_task_farm(mpi, tasks, [&](std::uint64_t task) {
    // A few tasks cost much more than the others, as configurations of unequal size do.
    std::this_thread::sleep_for(std::chrono::milliseconds(task % 7 == 0 ? 40 : 1));
    ++runs.at(task - 100);
    return true;
  });
  const std::vector<int> total = runs_over_ranks(runs);
  for (std::size_t i = 0; i < total.size(); ++i) {
    INFO("task " << tasks[i]);
    CHECK(total[i] == 1);
  }
  CHECK(totals.tasks_run == tasks.size());
  CHECK(totals.tasks_failed == 0);
}

TEST_CASE("fewer tasks than ranks, and no task at all, end the farm on every rank", "[task_farm]") {
  const MpiSession& mpi = *session;
  for (const std::uint64_t n : {std::uint64_t{2}, std::uint64_t{0}}) {
    const auto tasks = task_list(n);
    std::vector<int> runs(tasks.size(), 0);
    const FarmTotals totals = run_task_farm(mpi, tasks, [&](std::uint64_t task) {
      ++runs.at(task - 100);
      return true;
    });
    if (n > 0) CHECK(runs_over_ranks(runs) == std::vector<int>(n, 1));
    CHECK(totals.tasks_run == n);
  }
}

TEST_CASE("failed tasks on any rank are counted on every rank", "[task_farm]") {
  const MpiSession& mpi = *session;
  const auto tasks = task_list(30);
  const FarmTotals totals = run_task_farm(mpi, tasks, [](std::uint64_t task) { return task % 10 != 3; });
  CHECK(totals.tasks_run == 30);
  CHECK(totals.tasks_failed == 3);  // tasks 103, 113 and 123, wherever they ran
}

TEST_CASE("a rank whose set-up failed is reported to every rank, with its reason", "[task_farm]") {
  const MpiSession& mpi = *session;
  const int last = mpi.size() - 1;
  const auto none = agree_on_setup(mpi, std::nullopt);
  CHECK(none.empty());

  const auto failure =
      mpi.rank() == last ? std::optional<std::string>("cannot open /scratch/exp/plan.h5") : std::nullopt;
  const auto failures = agree_on_setup(mpi, failure);
  CHECK(failures.size() == 1);
  if (failures.size() == 1) {
    CHECK(failures[0].rank == last);
    CHECK(failures[0].reason == "cannot open /scratch/exp/plan.h5");
  }

  // Every rank failing, one of them without words: all are reported, in rank order.
  const auto everyone = agree_on_setup(mpi, std::string(mpi.rank() == 0 ? "" : "rank " + std::to_string(mpi.rank())));
  CHECK(static_cast<int>(everyone.size()) == mpi.size());
  for (std::size_t r = 0; r < everyone.size(); ++r) {
    CHECK(everyone[r].rank == static_cast<int>(r));
    CHECK(everyone[r].reason == (r == 0 ? "(no reason given)" : "rank " + std::to_string(r)));
  }
}

int main(int argc, char** argv) {
  const MpiSession mpi(argc, argv);
  session = &mpi;
  Catch::Session catch_session;
  if (const int rc = catch_session.applyCommandLine(argc, argv); rc != 0) return rc;
  const int failed = catch_session.run();
  // Every rank's failures count: the exit code is the largest over the ranks.
  int worst = 0;
  MPI_Allreduce(&failed, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return worst == 0 ? 0 : 1;
}
