// Submission in waves: clusters cap the jobs one user may keep queued (the QOS's
// MaxSubmitJobsPerUser, the association's MaxSubmitJobs; each array element counts as a job).
// `gridfold submit` queues as many elements as fit under slurm.max_queued, each wave with its
// own pack job, and a small chain job (slurm_templates/wave.sbatch, `gridfold submit
// --next-wave`) that runs when the first wave of its round has ended and submits the next
// waves that fit, until every element is submitted.
//
// The progress lives in slurm/waves.json (written atomically after every sbatch): the waves
// submitted, the chain job, and whether `gridfold cancel` stopped the chain. Running `gridfold
// submit` again is safe at any time: it continues where the record ends when no chain job is
// queued (a chain job that crashed), and does nothing while one is.
//
// Bound on loose results: a wave's results stay loose until its pack job has run. Pack jobs
// run one after another (each waits for its wave's arrays and for the previous pack job), and
// a wave is submitted only when its elements fit under max_queued, so the elements whose
// results may be loose at once are at most those of the waves queued or running plus the
// waves ended and waiting for their pack job: at most 2 x max_queued elements, in practice
// max_queued + wave size (docs/templates.md, "Waves").
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "common/experiment_layout.hpp"
#include "orchestrator/slurm/slurm_client.hpp"
#include "orchestrator/slurm/submission.hpp"

namespace gridfold {

struct Wave {
  std::size_t first_element = 0, count = 0;
  std::size_t submission = 0;  // its index in slurm/submissions.json
  std::string pack_job_id;
};

struct WaveState {
  std::size_t elements = 0;    // of the experiment
  int max_queued = 0;          // jobs queued at once, chain and pack jobs included; 0 = no limit
  std::string limit_source;    // where max_queued came from, for status and the submit report
  std::size_t pack_every = 0;  // elements per wave at most; 0 = as many as fit
  std::string launcher = "mpirun";
  bool allow_cpu = false;    // the first submit's --allow-cpu, which later waves' GPU checks need
  std::vector<Wave> waves;   // submitted, in element order
  std::string chain_job_id;  // the latest chain job; empty when none was needed
  bool stopped = false;      // gridfold cancel: no more waves are submitted

  std::size_t next_element() const;  // the first element not submitted yet
  bool complete() const { return next_element() >= elements; }
};

// Nothing when the experiment was never submitted in waves.
std::optional<WaveState> read_wave_state(const ExperimentLayout& layout);

// The waves to submit now, of elements [next_element, elements): with free_slots unset
// (no limit) all of them, cut into waves of pack_every (0 = one wave). Otherwise waves while
// they fit: each costs its elements plus its pack job, and whenever elements remain after it
// one slot stays free for the chain job. `chain` says whether a chain job must follow.
struct WaveRoundPlan {
  std::vector<ArrayChunk> waves;
  bool chain = false;
};
WaveRoundPlan plan_wave_round(std::size_t next_element, std::size_t elements, std::optional<std::size_t> free_slots,
                              std::size_t pack_every);

struct WaveRound {
  std::vector<Submission> submissions;  // one per wave submitted now
  std::string chain_job_id;             // submitted now; empty when none
  std::string note;                     // the limit used, or why nothing was submitted
  WaveState state;
};

// `gridfold submit`: the first waves, or, when the experiment has a wave record, the next
// ones (see the file comment). `chain_job_id`: SLURM_JOB_ID of the chain job running this
// (`--next-wave`), which submits only while it is the experiment's current chain job and the
// chain is not stopped. Throws ClusterError when not even the chain job fits in the queue.
WaveRound submit_waves(const SubmitOptions& options, const SlurmClient& slurm, const std::string& chain_job_id = {});

// Marks the chain stopped (gridfold cancel) and returns its chain job id, if any.
std::string stop_waves(const ExperimentLayout& layout);

// The queue slots left for a resubmission of the experiment: nothing when it has no limit.
std::optional<std::size_t> free_queue_slots(const ExperimentLayout& layout, const SlurmClient& slurm);

// The user this process runs as, whose jobs SLURM counts against the limits.
std::string current_user();

std::string render_text(const WaveRound& round);
std::string render_json(const WaveRound& round);

}  // namespace gridfold
