// gridfold-worker: trains tasks of a planned experiment. Started by mpirun/srun with several
// ranks, the ranks share the tasks dynamically (worker/task_farm.hpp); alone it needs no
// launcher. Exit codes: 0 every task trained or was already complete, 1 some task failed
// (see its failure file), 2 bad command line or an experiment directory that cannot be read
// on any rank (every rank then exits 2 before training; rank 0 prints each failing rank's reason),
// 7 stopped by SIGTERM: the task in training was checkpointed and resumes when run again
// (7, not the next free number, because 3 to 6 mean other things in the gridfold CLI).
//
// Signals (SLURM sends USR1 signal_seconds before the time limit and on preemption, through
// the job template; SIGTERM, then SIGKILL KillWait seconds later, at the time limit, on
// scancel and on scontrol requeue): USR1 checkpoints the task in training and goes on, so
// that an element that runs out of time still ends as TIMEOUT; SIGTERM checkpoints it at the
// next step and exits without starting another task.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <numeric>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

#include "common/archive_catalog.hpp"
#include "common/exit_codes.hpp"
#include "common/experiment_layout.hpp"
#include "common/hdf5_settings.hpp"
#include "common/plan.hpp"
#include "common/race_standing.hpp"
#include "common/result_inventory.hpp"
#include "worker/model_commands.hpp"
#include "worker/task_farm.hpp"
#include "worker/task_runner.hpp"
#include "worker/torch_runtime.hpp"

namespace {

using namespace gridfold;

// Set by the signal handlers (any thread may receive them), read at every training step.
std::atomic<bool> checkpoint_wanted{false}, stop_wanted{false};
static_assert(std::atomic<bool>::is_always_lock_free, "the signal handlers need a lock-free flag");

extern "C" void on_checkpoint_signal(int) {
  checkpoint_wanted = true;
}
extern "C" void on_stop_signal(int) {
  stop_wanted = true;
}

void handle_signal(int signal, void (*handler)(int)) {
  struct sigaction action {};
  action.sa_handler = handler;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(signal, &action, nullptr);
}

worker::CheckpointRequest checkpoint_request() {
  if (stop_wanted) return worker::CheckpointRequest::save_and_stop;
  if (checkpoint_wanted.exchange(false)) return worker::CheckpointRequest::save;
  return worker::CheckpointRequest::none;
}

void print_line(std::FILE* stream, const std::string& line) {
  fmt::print(stream, "{}\n", line);
  std::fflush(stream);  // lines reach SLURM's log as they happen, not at exit
}

class SetupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct TaskSelection {
  std::vector<std::size_t> tasks;
  bool all = false;
  std::optional<std::size_t> element_offset;
  std::size_t tasks_per_element = 1;
  std::optional<std::size_t> element;  // default: element_offset + SLURM_ARRAY_TASK_ID
};

// The tasks this process group runs: listed ones, all of them, or one array element's.
std::vector<std::uint64_t> selected_tasks(const TaskSelection& s, const ExperimentPlan& plan) {
  const std::size_t total = plan.tasks.size();
  std::vector<std::uint64_t> out;
  if (s.all) {
    out.resize(total);
    std::iota(out.begin(), out.end(), std::uint64_t{0});
    return out;
  }
  if (s.element_offset) {
    std::size_t element = 0;
    if (s.element) {
      element = *s.element;
    } else {
      const char* id = std::getenv("SLURM_ARRAY_TASK_ID");
      if (!id || !*id)
        throw SetupError("--element-offset needs --element or SLURM_ARRAY_TASK_ID (set inside a job array)");
      element = *s.element_offset + std::stoul(id);
    }
    const std::size_t first = element * s.tasks_per_element;
    if (first >= total) {
      throw SetupError(fmt::format("element {} starts at task {}, outside the plan of '{}' (tasks 0..{})", element,
                                   first, plan.name, total - 1));
    }
    for (std::size_t t = first; t < std::min(first + s.tasks_per_element, total); ++t) out.push_back(t);
    return out;
  }
  for (std::size_t t : s.tasks) {
    if (t >= total) {
      throw SetupError(
          fmt::format("--task {} is outside the plan of '{}', which has tasks 0..{}", t, plan.name, total - 1));
    }
    out.push_back(t);
  }
  return out;
}

bool has_argument(int argc, char** argv, std::string_view wanted) {
  for (int i = 1; i < argc; ++i) {
    if (wanted == argv[i]) return true;
  }
  return false;
}

std::string describe(const ExperimentPlan& plan, std::size_t task) {
  const Task& t = plan.tasks[task];
  return fmt::format("task {} config {} outer {}{}", task, plan.configs[t.config].id, t.outer_fold,
                     t.inner_fold < 0 ? "" : fmt::format(" inner {}", t.inner_fold));
}

}  // namespace

int main(int argc, char** argv) {
  worker::keep_freed_memory();
  // refit and predict run in one process, without MPI (gridfold finalize and predict).
  if (argc > 1 && worker::is_model_command(argv[1])) return worker::run_model_command(argc, argv);
  // --version answers before MPI starts: `gridfold submit` asks it on a login node, and the
  // GPU job template in the job's environment, where no launcher started this process.
  if (has_argument(argc, argv, "--version")) {
    const WorkerRuntime runtime = worker::worker_runtime();
    std::fputs((has_argument(argc, argv, "--json") ? worker_runtime_json(runtime) : worker_runtime_text(runtime))
                   .c_str(),
               stdout);
    return kExitOk;
  }
  handle_signal(SIGUSR1, on_checkpoint_signal);
  handle_signal(SIGTERM, on_stop_signal);
  const MpiSession mpi(argc, argv);
  CLI::App app{"gridfold-worker: train tasks of a planned gridfold experiment"};
  // Answered before MPI starts (above); declared here for --help.
  app.add_flag("--version")
      ->description("Print the versions, whether LibTorch has CUDA and the GPUs it sees, then exit");
  app.add_flag("--json")->description("With --version: print the report as one JSON object");
  std::filesystem::path experiment;
  TaskSelection selection;
  int threads = 0;
  double report_interval = 10;
  app.add_option("--experiment", experiment, "Experiment directory (holds plan.h5 and spec.yaml)")
      ->required()
      ->check(CLI::ExistingDirectory);
  auto* task_opt = app.add_option("--task", selection.tasks, "Task index to run; repeat for several");
  auto* all_opt = app.add_flag("--all", selection.all, "Run every task of the plan");
  auto* offset_opt = app.add_option("--element-offset", selection.element_offset,
                                    "Run one array element: element = OFFSET + SLURM_ARRAY_TASK_ID (or --element)");
  app.add_option("--tasks-per-element", selection.tasks_per_element, "Tasks in each array element")
      ->check(CLI::PositiveNumber)
      ->needs(offset_opt);
  app.add_option("--element", selection.element, "The element to run, instead of SLURM_ARRAY_TASK_ID")
      ->needs(offset_opt);
  task_opt->excludes(all_opt)->excludes(offset_opt);
  all_opt->excludes(offset_opt);
  app.add_option("--threads", threads,
                 "Torch threads (default: training.threads, else SLURM_CPUS_PER_TASK, else all cores)")
      ->check(CLI::PositiveNumber);
  app.add_option("--report-every", report_interval, "Seconds between progress lines of one task")
      ->check(CLI::NonNegativeNumber);
  // Each rank sets itself up on its own (its node may not see what the others see); then the
  // ranks agree, so that one rank that cannot start stops them all before the farm starts,
  // instead of the others waiting for it in the farm until the time limit.
  std::optional<std::string> setup_failure;
  try {
    app.parse(argc, argv);
    if (selection.tasks.empty() && !selection.all && !selection.element_offset) {
      throw CLI::RequiredError("one of --task, --all or --element-offset");
    }
  } catch (const CLI::ParseError& e) {
    if (app.exit(e) == 0) return kExitOk;  // --help or --version
    setup_failure = e.what();
  }

  const std::string rank_prefix = mpi.size() > 1 ? fmt::format("[rank {}/{}] ", mpi.rank(), mpi.size()) : "";
  const ExperimentLayout layout(experiment);
  ExperimentPlan plan;
  ExperimentSpec spec;
  std::filesystem::path archive_dir;
  std::vector<std::uint64_t> tasks;
  std::vector<bool> finished;
  if (!setup_failure) {
    try {
      use_experiment_hdf5_settings(layout);
      plan = read_plan(layout.plan());
      tasks = selected_tasks(selection, plan);
      // Packing moves results into archives; a rerun element must not train those again.
      spec = SpecDocument::load(layout.spec(), plan.spec_dir).base();
      archive_dir = archive_directory(layout, spec, plan.experiment_id);
      finished = finished_tasks(layout, plan, archive_dir).done;
    } catch (const std::exception& e) {
      setup_failure = fmt::format("{}: {}", experiment.string(), e.what());
    }
  }
  const std::vector<RankFailure> setup_failures = agree_on_setup(mpi, setup_failure);
  if (!setup_failures.empty()) {
    if (mpi.size() == 1) {
      print_line(stderr, "gridfold-worker: " + setup_failures[0].reason);
    } else if (mpi.rank() == 0) {
      print_line(stderr, fmt::format("gridfold-worker: set-up failed on {} of {} ranks, so no rank starts a task:",
                                     setup_failures.size(), mpi.size()));
      for (const RankFailure& f : setup_failures) print_line(stderr, fmt::format("  rank {}: {}", f.rank, f.reason));
    }
    return kExitWorkerSetup;
  }

  worker::TaskOptions options;
  options.threads = threads;
  options.mpi_rank = mpi.rank();
  options.mpi_size = mpi.size();
  options.report_interval_seconds = report_interval;
  options.report = [&](const std::string& line) { print_line(stdout, rank_prefix + line); };
  options.checkpoint_request = checkpoint_request;

  // Racing: a task of round r waits for the race's decision before round r, which this or any
  // other worker makes once the earlier rounds are settled (common/race_standing.hpp). The
  // standing is refreshed only for a round not yet decided: recorded decisions never change.
  std::optional<RaceStanding> race;
  auto await_race = [&](std::uint64_t task, const std::string& prefix) {
    if (!race) race = race_standing(layout, plan, spec, archive_dir, finished, RaceUpdate::decide);
    bool announced = false;
    while (!race->decided(plan, plan.tasks[task]) && !stop_wanted) {
      finished = finished_tasks(layout, plan, archive_dir).done;
      race = race_standing(layout, plan, spec, archive_dir, finished, RaceUpdate::decide);
      if (race->decided(plan, plan.tasks[task])) break;
      if (!announced) {
        print_line(stdout, fmt::format("{}: waiting for the earlier rounds of its race to settle", prefix));
        announced = true;
      }
      std::this_thread::sleep_for(std::chrono::seconds(5));
    }
  };

  const FarmTotals totals = run_task_farm(mpi, tasks, [&](std::uint64_t task) {
    if (is_race(plan)) {
      const std::string prefix = rank_prefix + describe(plan, task);
      try {
        await_race(task, prefix);
      } catch (const std::exception& e) {
        print_line(stderr, fmt::format("{}: FAILED: the race's decision could not be made: {}", prefix, e.what()));
        return false;
      }
      if (stop_wanted) {
        print_line(stdout, fmt::format("{}: not started, the worker is stopping", prefix));
        return true;
      }
      if (race->task_eliminated[task]) {
        print_line(stdout, fmt::format("{}: eliminated by the race before round {}, not trained", prefix,
                                       task_round(plan, plan.tasks[task])));
        return true;
      }
    }
    if (finished[task]) {
      print_line(stdout, fmt::format("{}{}: skipped, its result (with the expected fingerprint) already exists",
                                     rank_prefix, describe(plan, task)));
      return true;
    }
    const std::string prefix = rank_prefix + describe(plan, task);
    if (stop_wanted) {
      print_line(stdout, fmt::format("{}: not started, the worker is stopping", prefix));
      return true;
    }
    worker::TaskOutcome outcome;
    try {
      outcome = worker::run_task(layout, plan, task, options);
    } catch (const std::exception& e) {
      // run_task records training errors itself; this is its failure file failing to write
      // (a full or read-only disk). The rank goes on: other tasks may still succeed.
      print_line(stderr, fmt::format("{}: FAILED, and the failure could not be recorded: {}", prefix, e.what()));
      return false;
    }
    switch (outcome.status) {
      case worker::TaskOutcome::Status::trained:
        print_line(stdout, fmt::format("{}: done in {:.1f} s on {} ({}) -> {}", prefix, outcome.seconds, outcome.device,
                                       outcome.message, outcome.file.string()));
        return true;
      case worker::TaskOutcome::Status::skipped:
        print_line(stdout, fmt::format("{}: skipped, {} is already complete", prefix, outcome.file.string()));
        return true;
      case worker::TaskOutcome::Status::failed:
        print_line(stderr,
                   fmt::format("{}: FAILED: {} (recorded in {})", prefix, outcome.message, outcome.file.string()));
        return false;
      case worker::TaskOutcome::Status::interrupted:
        print_line(stdout, fmt::format("{}: {}", prefix, outcome.message));
        return true;
    }
    return false;
  });
  if (stop_wanted) {
    print_line(stderr, fmt::format("{}gridfold-worker: stopped by SIGTERM; unfinished tasks resume from their "
                                   "checkpoints when run again",
                                   rank_prefix));
    return kExitWorkerStopped;
  }
  if (totals.tasks_failed > 0) {
    if (mpi.rank() == 0) {
      print_line(stderr, fmt::format("gridfold-worker: {} of {} tasks failed", totals.tasks_failed, totals.tasks_run));
    }
    return kExitTasksFailed;
  }
  return kExitOk;
}
