// SLURM's view of a job array's elements, parsed from one squeue and one sacct call that
// cover every array of an experiment.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace gridfold {

enum class ElementState {
  pending,
  running,
  completed,
  failed,
  timeout,
  out_of_memory,
  cancelled,
  node_fail,
  preempted,
  requeued,
  unknown
};

std::string to_string(ElementState);
// From a SLURM state word ("CANCELLED by 0" -> cancelled, "OUT_OF_MEMORY" -> out_of_memory).
ElementState element_state_from_slurm(const std::string& state);
bool is_active(ElementState);   // pending, running or requeued: SLURM still owns it
bool is_failure(ElementState);  // ended without completing

// One array element (or a range of pending ones, which SLURM reports as "123_[4-9]").
struct ElementRecord {
  std::string job_id;           // the array's job id
  std::size_t first_index = 0;  // SLURM array index; a range for pending elements
  std::size_t last_index = 0;
  ElementState state = ElementState::unknown;
  std::string slurm_state;  // as SLURM printed it
  std::string exit_code;    // sacct "code:signal"; empty from squeue
  std::string node_list;
};

// `squeue -h -r -o %i|%T|%N -j IDS` output.
std::vector<ElementRecord> parse_squeue(const std::string& output);
// `sacct -n -P -X -o JobID,State,ExitCode,NodeList -j IDS` output. Non-array jobs (the pack
// job) appear with index 0.
std::vector<ElementRecord> parse_sacct(const std::string& output);

}  // namespace gridfold
