// The refit final model: one config of a planned experiment trained on every row of its
// data, with early stopping on a validation split carved from them as in every task.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "common/experiment_layout.hpp"
#include "common/model_file.hpp"
#include "common/plan.hpp"

namespace gridfold::worker {

struct RefitOptions {
  int threads = 0;                                 // 0: training.threads, else SLURM_CPUS_PER_TASK, else all cores
  std::function<void(const std::string&)> report;  // progress lines, one per validation
};

// Trains the config with id `config_id` (the seed is training.seed, as a task's before its
// fold is mixed in) and returns the model file describing it. Throws SpecError for an id the
// plan does not have, DataError when the data changed since planning, TrainingError when
// training diverges.
ModelFile refit_config(const ExperimentLayout& layout, const ExperimentPlan& plan, const std::string& config_id,
                       const RefitOptions& options);

}  // namespace gridfold::worker
