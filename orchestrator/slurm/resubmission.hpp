// `gridfold resubmit` and `gridfold cancel`: recovering from failed, timed-out, cancelled or
// preempted elements without redoing finished work.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "orchestrator/slurm/experiment_status.hpp"
#include "orchestrator/slurm/slurm_client.hpp"
#include "orchestrator/slurm/submission.hpp"

namespace gridfold {

struct ResubmitOptions {
  SubmitOptions submit;
  bool failed_only = false;  // only elements whose last run ended in a failure state
};

// What resubmit knows about an experiment, gathered from its files and from SLURM.
struct RerunFacts {
  std::vector<Submission> submissions;  // every submission, oldest first (slurm/submissions.json)
  std::vector<bool> task_done;          // by plan task: a result exists, loose or archived, or a race
                                        // eliminated it (it never runs)
  std::vector<ElementStatus> elements;  // SLURM's latest state of every submitted element
  std::string pack_job_id, pack_state;  // the latest pack job and its state
};

// Which elements to submit again, and what the pack job must then wait for.
struct RerunPlan {
  std::vector<ArrayRequest> requests;  // one per array offset, in offset order; empty: nothing to rerun
  PackDependency pack;
};

// The decision alone, without reading anything: every submitted element with a task lacking
// its result that SLURM does not hold (pending, running, requeued) is rerun (with failed_only:
// only those that SLURM reports ended in failure), at its SLURM index in the array offset of
// its first submission. Elements cover tasks_per_element tasks of the latest submission, the
// last one the rest. The pack job waits for arrays still active and, when pending, is extended.
RerunPlan plan_reruns(const RerunFacts& facts, bool failed_only);

// Keeps the first `slots` elements of the requests (in order), dropping requests left
// empty; returns how many elements it left out.
std::size_t limit_reruns(std::vector<ArrayRequest>& requests, std::size_t slots);

// Submits, as new arrays with exactly those SLURM indices, every element that has tasks
// without a result and is not queued or running (with failed_only: that ended in failure).
// The pack job waits for them: a still-pending pack job has its dependency extended,
// otherwise a new pack job is submitted. Under the experiment's queue limit (waves.hpp) only
// the elements that fit are submitted (split_note says how many wait). Returns nothing when
// no element needs a rerun.
// Throws BadInputError when options.submit.experiment is not a planned experiment.
std::optional<Submission> resubmit_experiment(const ResubmitOptions& options, const SlurmClient& slurm);

// Stops the wave chain (waves.hpp) and cancels every array, pack and chain job of the
// experiment; returns the job ids cancelled. Throws
// BadInputError when `layout` is not a planned experiment.
std::vector<std::string> cancel_experiment(const ExperimentLayout& layout, const SlurmClient& slurm);

}  // namespace gridfold
