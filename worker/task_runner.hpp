// Running one task of a planned experiment: train its configuration on its fold, then
// write the fold's result file, or a failure file saying why it could not.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>

#include "common/experiment_layout.hpp"
#include "common/plan.hpp"
#include "worker/checkpoint.hpp"
#include "worker/trainer.hpp"

namespace gridfold::worker {

struct TaskOptions {
  int threads = 0;                 // 0: training.threads, else SLURM_CPUS_PER_TASK, else all cores
  int mpi_rank = 0, mpi_size = 1;  // recorded in the result's provenance
  // Receives progress lines (no newline); at most one per report_interval_seconds per
  // task, plus the first and the last validation.
  std::function<void(const std::string&)> report;
  double report_interval_seconds = 10;
  // Asked at every training step whether to checkpoint now (SLURM's warning before the time
  // limit) or checkpoint and stop (the job is being terminated); unset: never.
  std::function<CheckpointRequest()> checkpoint_request;
};

struct TaskOutcome {
  // interrupted: stopped on request; its checkpoint resumes it when the task runs again.
  enum class Status { trained, skipped, failed, interrupted };
  Status status = Status::failed;
  std::size_t task = 0;
  std::filesystem::path file;  // the result file, or the failure file
  std::string message;         // failed: the reason; trained: a one-line test summary
  std::string device;          // "cpu" or "cuda:N" once chosen; empty when the task failed before
  double seconds = 0;
};

// Skips a task whose complete result already exists. Training resumes from the task's
// checkpoint (ExperimentLayout::checkpoint) when one of this task and spec text exists; the
// checkpoint is removed once the result is written. Any error while training or writing
// the result becomes a failure file and a `failed` outcome; only an index outside the plan
// throws (std::out_of_range). Datasets are loaded and encoded once per process and reused
// by later tasks with the same data spec.
TaskOutcome run_task(const ExperimentLayout& layout, const ExperimentPlan& plan, std::size_t task_index,
                     const TaskOptions& options);

}  // namespace gridfold::worker
