// Turning a planned experiment into SLURM job arrays, and the record of what was submitted
// (slurm/submissions.json in the experiment directory).
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "common/experiment_layout.hpp"
#include "common/spec.hpp"
#include "orchestrator/slurm_client.hpp"

namespace gridfold {

// One job array covering elements [first_element, first_element + count); its SLURM
// indices run 0..count-1, below the cluster's MaxArraySize.
struct ArrayChunk {
  std::size_t first_element = 0;
  std::size_t count = 0;
};

// Elements split into as few arrays as MaxArraySize allows.
std::vector<ArrayChunk> split_into_arrays(std::size_t elements, int max_array_size);

struct SubmittedArray {
  std::string job_id;  // empty in a dry run
  ArrayChunk chunk;
  std::filesystem::path script;
};

struct Submission {
  std::string submitted_at;  // ISO 8601 UTC
  std::size_t tasks = 0;
  std::size_t tasks_per_element = 1;
  std::vector<SubmittedArray> arrays;
  std::string pack_job_id;
  std::filesystem::path pack_script;
  bool dry_run = false;
};

struct SubmitOptions {
  std::filesystem::path experiment;  // a planned experiment directory
  bool dry_run = false;
  std::string launcher = "mpirun";  // how ranks start inside an element: mpirun or srun
};

// Renders the array and pack scripts into slurm/ and, unless dry_run, submits them (the pack
// job depends afterany on every array) and records the submission.
Submission submit_experiment(const SubmitOptions& options, const SlurmClient& slurm);

// Every submission made for the experiment, oldest first.
std::vector<Submission> read_submissions(const ExperimentLayout& layout);

std::string render_text(const Submission& s);
std::string render_json(const Submission& s);

}  // namespace gridfold
