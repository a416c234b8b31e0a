// Where a submitted experiment stands: SLURM's state of every array element (one squeue
// and one sacct call for all arrays together), tasks done from the results on disk, and
// why things failed.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/experiment_layout.hpp"
#include "common/result_inventory.hpp"
#include "orchestrator/slurm/job_states.hpp"
#include "orchestrator/slurm/slurm_client.hpp"
#include "orchestrator/slurm/submission.hpp"

namespace gridfold {

struct ElementStatus {
  std::size_t element = 0;  // index into the plan's elements
  std::string job_id;       // the array job that ran it last
  std::size_t array_index = 0;
  ElementState state = ElementState::unknown;
  std::string slurm_state, exit_code, node_list;
  std::filesystem::path log;
  std::vector<std::string> log_tail;  // filled for failures
};

struct ArrayStatus {
  std::string job_id;
  ArrayChunk chunk;
  std::size_t submitted = 0;
  std::map<ElementState, std::size_t> counts;
};

struct TaskFailure {
  std::string result_name;  // "<config id>/outer003"
  std::string reason;
  std::filesystem::path file;
};

// Racing (search.strategy race): how far the races have come.
struct RaceProgress {
  std::size_t races = 1;                     // one, or one per outer fold with an inner loop
  std::size_t rounds = 1;                    // rounds of each race
  std::size_t round_min = 0, round_max = 0;  // the round each race has reached (decisions made), 0-based
  std::size_t configs = 0;
  std::size_t survivors_min = 0, survivors_max = 0;  // over the races
};

struct ExperimentStatus {
  std::string name;
  std::size_t tasks_total = 0, tasks_done = 0;
  // Tasks whose only results were made from another spec, data, fold or gridfold version:
  // not done, and never counted or harvested as done.
  std::size_t tasks_stale = 0;
  std::size_t results_loose = 0, results_archived = 0;  // result files under results/ and in archives
  std::map<std::string, std::size_t> devices;           // done tasks by the device they trained on
  // Done tasks by the training-diagnostics rules that fired in them (flagged, stopped).
  std::map<std::string, ResultInventory::RuleTasks> firings;
  // Tasks of configs a race eliminated: never trained, never missing (the compute saved).
  std::size_t tasks_eliminated = 0;
  std::optional<RaceProgress> race;
  std::size_t elements_total = 0;
  bool submitted = false;
  bool accounting = true;  // false: sacct is off, states of ended elements are inferred
  std::vector<ArrayStatus> arrays;
  std::vector<ElementStatus> elements;                 // latest state of every submitted element
  std::map<ElementState, std::size_t> element_counts;  // over `elements`
  std::vector<TaskFailure> task_failures;
  std::string pack_job_id, pack_state;
  std::optional<double> tasks_per_hour, eta_seconds;
  // Submission in waves (waves.hpp): present once the experiment was submitted by waves.
  struct Waves {
    std::size_t submitted = 0;           // waves
    std::size_t elements_submitted = 0;  // elements of those waves
    std::size_t elements_pending = 0;    // elements not submitted yet
    int max_queued = 0;                  // 0 = no limit
    std::string chain_job_id, chain_state;
    bool stopped = false;
  };
  std::optional<Waves> waves;

  std::vector<const ElementStatus*> failed_elements() const;
};

// Throws BadInputError when `layout` is not a planned experiment.
ExperimentStatus collect_status(const ExperimentLayout& layout, const SlurmClient& slurm, std::size_t log_lines = 10);

std::string render_table(const ExperimentStatus& s);  // for a terminal
std::string render_line(const ExperimentStatus& s);   // one plain line, for logs and pipes
std::string render_json(const ExperimentStatus& s);

}  // namespace gridfold
