// Turning a planned experiment into SLURM job arrays, and the record of what was submitted
// (slurm/submissions.json in the experiment directory).
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/experiment_layout.hpp"
#include "common/plan.hpp"
#include "common/spec.hpp"
#include "orchestrator/slurm/slurm_client.hpp"
#include "orchestrator/templates/script_template.hpp"

namespace gridfold {

// One job array covering elements [first_element, first_element + count); its SLURM
// indices run 0..count-1, below the cluster's MaxArraySize.
struct ArrayChunk {
  std::size_t first_element = 0;
  std::size_t count = 0;
};

// Elements split into as few arrays as MaxArraySize allows.
std::vector<ArrayChunk> split_into_arrays(std::size_t elements, int max_array_size);

// One array's share of slurm.array_throttle: its %N (0 = unthrottled) and the array of the
// same submission it waits for (afterany), if any.
struct ArrayThrottle {
  int throttle = 0;
  std::optional<std::size_t> after;
};

// slurm.array_throttle shared out over the `arrays` of one submission so that at most
// `throttle` elements of them run at once. Arrays go round-robin into min(throttle, arrays)
// lanes; lane j gets throttle / lanes, plus one for j < throttle % lanes; an array waits for
// the previous array of its lane. With throttle >= arrays no array waits; with throttle 0
// nothing is throttled.
std::vector<ArrayThrottle> share_throttle(int throttle, std::size_t arrays);

struct SubmittedArray {
  std::string job_id;  // empty in a dry run, and when sbatch refused it (a partial submission)
  ArrayChunk chunk;
  std::vector<std::size_t> indices;  // the SLURM indices submitted: all of the chunk, or a resubmission's few
  std::filesystem::path script;
  int throttle = 0;                  // its share of slurm.array_throttle (0 = none)
  std::optional<std::size_t> after;  // index in Submission::arrays of the array it starts after
};

struct Submission {
  std::string submitted_at;  // ISO 8601 UTC
  std::size_t tasks = 0;
  std::size_t tasks_per_element = 1;
  std::vector<SubmittedArray> arrays;
  std::string pack_job_id;
  std::filesystem::path pack_script;
  bool dry_run = false;
  std::string split_note;  // how the arrays were split: the MaxArraySize used, or why none was known
  std::string gpu_note;    // with slurm.gpus > 0: what the worker said it can use (gpu_request.hpp)
};

struct SubmitOptions {
  std::filesystem::path experiment;  // a planned experiment directory
  bool dry_run = false;
  std::string launcher = "mpirun";  // how ranks start inside an element: mpirun or srun
  std::string time;                 // overrides slurm.time (e.g. a resubmission after TIMEOUT)
  bool allow_cpu = false;           // request slurm.gpus even from a worker without CUDA
};

// Some of a chunk's elements, by SLURM index (sorted).
struct ArrayRequest {
  ArrayChunk chunk;
  std::vector<std::size_t> indices;
};

// What the pack job must wait for besides the new arrays: arrays still queued or running,
// and a pack job still pending from an earlier submission (whose dependency is extended
// instead of submitting a second pack job).
struct PackDependency {
  std::vector<std::string> still_active_arrays;
  std::string pending_pack_job;
};

// Renders the array and pack scripts into slurm/ and, unless dry_run, submits them (the pack
// job depends afterany on every array) and records the submission. Arrays are split at the
// cluster's MaxArraySize; a dry run asks for it too, and shows one array (saying why in
// split_note) when the cluster does not answer.
Submission submit_experiment(const SubmitOptions& options, const SlurmClient& slurm);

// The same for chosen elements only (resubmission). Throws SpecError for an options.time
// that is not a SLURM time limit or not above slurm.signal_seconds. With slurm.gpus > 0 it
// first asks the worker, through the client's runner, whether it can use CUDA, and throws
// GpuRequestError (check_gpu_request) before anything is written or submitted.
Submission submit_arrays(const ExperimentLayout& layout, const ExperimentPlan& plan, const ExperimentSpec& spec,
                         const std::vector<ArrayRequest>& requests, const SubmitOptions& options,
                         const SlurmClient& slurm, const PackDependency& pack);

// Every array and pack job id of these submissions, sorted, without repeats (arrays sbatch
// refused have none).
std::vector<std::string> job_ids(const std::vector<Submission>& submissions);

// Every submission made for the experiment, oldest first.
std::vector<Submission> read_submissions(const ExperimentLayout& layout);

// The template values every job script of the experiment gets (docs/templates.md): paths,
// the slurm: settings, the gridfold and worker binaries, #SBATCH options and module loads.
TemplateValues job_template_values(const ExperimentSpec& spec, const ExperimentLayout& layout);

std::string render_text(const Submission& s);
std::string render_json(const Submission& s);

}  // namespace gridfold
