// `gridfold finalize`: makes the model file that `gridfold predict` uses, from the best
// config (ranked as harvest ranks them) or a chosen one, by the experiment's final_model
// strategy: refit (the worker trains the config on every sample) or ensemble (the config's
// outer-fold networks, saved in its results with output.save_models). Layout of the file in
// docs/model-file.md.
#pragma once

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>

#include "common/errors.hpp"
#include "common/spec.hpp"
#include "orchestrator/final_model/worker_command.hpp"
#include "orchestrator/harvest/harvest_statistics.hpp"

namespace gridfold {

// The experiment cannot be finalized as asked: no results to rank, a metric they lack, an
// unknown config, results without saved weights.
class FinalizeError : public BadInputError {
 public:
  using BadInputError::BadInputError;
};

struct FinalizeOptions {
  std::filesystem::path experiment;
  std::filesystem::path out;                   // empty = <experiment>/model.h5
  std::string config;                          // empty = the best-ranked config
  std::optional<FinalModelStrategy> strategy;  // overrides final_model.strategy
  std::string target, metric;                  // override final_model.target / metric
  int threads = 0;                             // refit: worker threads (0 = all cores)
};

struct FinalizeSummary {
  std::string config_id;
  FinalModelStrategy strategy = FinalModelStrategy::refit;
  std::string target, metric;
  Stats score;  // the config's metric over its outer folds; count 0 when there are no results
  std::size_t members = 0;
  std::filesystem::path out;
};

FinalizeSummary finalize_experiment(const FinalizeOptions& options);

std::string render_text(const FinalizeSummary& summary);

}  // namespace gridfold
