#include "worker/task_farm.hpp"

#include <mpi.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

namespace gridfold {
namespace {

constexpr int kRequestTag = 1;
constexpr int kAssignTag = 2;
constexpr std::int64_t kNoMoreTasks = -1;

// The next position in the task list, shared by rank 0's own loop and its dispatcher.
class TaskCounter {
 public:
  explicit TaskCounter(std::size_t total) : total_(total) {}
  std::int64_t take() {
    const std::size_t i = next_.fetch_add(1);
    return i < total_ ? static_cast<std::int64_t>(i) : kNoMoreTasks;
  }

 private:
  std::size_t total_;
  std::atomic<std::size_t> next_{0};
};

// Serves task requests until every other rank has been told there is nothing left. It polls
// instead of blocking in MPI_Recv because Open MPI's blocking receive spins a core that
// rank 0's own training needs.
void dispatch(TaskCounter& counter, int ranks, bool share_core) {
  int finished = 0;
  while (finished < ranks - 1) {
    int dummy = 0;
    MPI_Request request;
    MPI_Status status;
    MPI_Irecv(&dummy, 1, MPI_INT, MPI_ANY_SOURCE, kRequestTag, MPI_COMM_WORLD, &request);
    int done = 0;
    while (!done) {
      MPI_Test(&request, &done, &status);
      if (!done && share_core) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::int64_t next = counter.take();
    MPI_Send(&next, 1, MPI_INT64_T, status.MPI_SOURCE, kAssignTag, MPI_COMM_WORLD);
    if (next == kNoMoreTasks) ++finished;
  }
}

std::int64_t request_task() {
  int dummy = 0;
  std::int64_t next = kNoMoreTasks;
  MPI_Send(&dummy, 1, MPI_INT, 0, kRequestTag, MPI_COMM_WORLD);
  MPI_Recv(&next, 1, MPI_INT64_T, 0, kAssignTag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  return next;
}

}  // namespace

MpiSession::MpiSession(int& argc, char**& argv) {
  int provided = MPI_THREAD_SINGLE;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  threads_supported_ = provided >= MPI_THREAD_MULTIPLE;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

MpiSession::~MpiSession() {
  MPI_Finalize();
}

std::vector<RankFailure> agree_on_setup(const MpiSession& mpi, const std::optional<std::string>& failure) {
  // Each rank sends its reason's length (-1: ready), then the reasons' characters.
  const std::string reason = failure ? (failure->empty() ? "(no reason given)" : *failure) : "";
  const int length = failure ? static_cast<int>(reason.size()) : -1;
  std::vector<int> lengths(static_cast<std::size_t>(mpi.size()));
  MPI_Allgather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, MPI_COMM_WORLD);
  std::vector<int> counts, offsets;
  int total = 0;
  for (int n : lengths) {
    counts.push_back(std::max(n, 0));
    offsets.push_back(total);
    total += std::max(n, 0);
  }
  std::string all(static_cast<std::size_t>(total), '\0');
  MPI_Allgatherv(reason.data(), std::max(length, 0), MPI_CHAR, all.data(), counts.data(), offsets.data(), MPI_CHAR,
                 MPI_COMM_WORLD);
  std::vector<RankFailure> failures;
  for (int r = 0; r < mpi.size(); ++r) {
    const auto i = static_cast<std::size_t>(r);
    if (lengths[i] < 0) continue;
    failures.push_back(
        RankFailure{r, all.substr(static_cast<std::size_t>(offsets[i]), static_cast<std::size_t>(counts[i]))});
  }
  return failures;
}

FarmTotals run_task_farm(const MpiSession& mpi, const std::vector<std::uint64_t>& tasks,
                         const std::function<bool(std::uint64_t)>& run_task) {
  TaskCounter counter(tasks.size());
  std::uint64_t run = 0, failed = 0;
  auto work = [&](auto next_task) {
    for (std::int64_t i = next_task(); i != kNoMoreTasks; i = next_task()) {
      ++run;
      if (!run_task(tasks[static_cast<std::size_t>(i)])) ++failed;
    }
  };
  if (mpi.size() == 1) {
    work([&] { return counter.take(); });
  } else if (mpi.rank() == 0 && mpi.threads_supported()) {
    std::thread dispatcher(dispatch, std::ref(counter), mpi.size(), true);
    work([&] { return counter.take(); });
    dispatcher.join();
  } else if (mpi.rank() == 0) {
    // Without thread support rank 0 can only dispatch.
    dispatch(counter, mpi.size(), false);
  } else {
    work(request_task);
  }
  std::uint64_t local[2] = {run, failed}, total[2] = {0, 0};
  MPI_Allreduce(local, total, 2, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
  return FarmTotals{total[0], total[1]};
}

}  // namespace gridfold
