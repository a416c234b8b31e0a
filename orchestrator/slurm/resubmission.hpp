// `gridfold resubmit` and `gridfold cancel`: recovering from failed, timed-out, cancelled or
// preempted elements without redoing finished work.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "orchestrator/slurm/slurm_client.hpp"
#include "orchestrator/slurm/submission.hpp"

namespace gridfold {

struct ResubmitOptions {
  SubmitOptions submit;
  bool failed_only = false;  // only elements whose last run ended in a failure state
};

// Submits, as new arrays with exactly those SLURM indices, every element that has tasks
// without a result and is not queued or running (with failed_only: that ended in failure).
// The pack job waits for them: a still-pending pack job has its dependency extended,
// otherwise a new pack job is submitted. Returns nothing when no element needs a rerun.
std::optional<Submission> resubmit_experiment(const ResubmitOptions& options, const SlurmClient& slurm);

// Cancels every array and pack job of the experiment; returns the job ids cancelled.
std::vector<std::string> cancel_experiment(const ExperimentLayout& layout, const SlurmClient& slurm);

}  // namespace gridfold
