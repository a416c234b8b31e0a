// `gridfold harvest`: reads every fold result of an experiment, loose or archived, in memory,
// and reports per config and target the statistics of every metric over the outer folds, the
// ranking and the best config, the nested-selection estimate when there are inner folds, and
// per-sample predictions (files and schema in docs/harvest.md).
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/errors.hpp"
#include "common/plan.hpp"
#include "common/spec.hpp"
#include "orchestrator/harvest/harvest_report.hpp"

namespace gridfold {

// Nothing to harvest, or a ranking metric the results do not have.
class HarvestError : public BadInputError {
 public:
  using BadInputError::BadInputError;
};

struct HarvestOptions {
  std::filesystem::path experiment;
  std::filesystem::path out;  // empty = <experiment>/harvest
  // Ranking metric for every target; empty = r2 (regression), auroc (binary), accuracy
  // (multiclass), f1 (per position).
  std::string metric;
  bool all_predictions = false;  // per-sample predictions of every config, not only the selected ones
};

struct HarvestSummary {
  HarvestReport report;
  std::filesystem::path out_dir;
  std::vector<std::filesystem::path> files;
  double seconds = 0;
};

HarvestSummary harvest_experiment(const HarvestOptions& options);

// Every target some config trains, in order of first appearance: with a grid over
// data.targets (one property per config) there are more than the base spec lists.
std::vector<TargetSpec> targets_of_configs(const SpecDocument& doc, const ExperimentPlan& plan);

std::string render_text(const HarvestSummary& summary);
std::string render_json(const HarvestSummary& summary);

}  // namespace gridfold
