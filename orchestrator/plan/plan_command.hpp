// `gridfold plan`: expand an experiment spec into an experiment directory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/plan.hpp"

namespace gridfold {

struct PlanOptions {
  std::filesystem::path spec;
  std::filesystem::path out;  // empty = ./<experiment name>
  bool dry_run = false;
  // Plan a directory whose frozen spec or data differs (spec_changes): set its results aside
  // under superseded/ first. Without it such a directory is refused (SpecError, exit 3).
  bool replan = false;
};

// The clusters of `group_by: {similarity: ...}`: how many, and how big.
struct ClusterSummary {
  std::size_t count = 0, largest = 0, singletons = 0;
  double median = 0;  // median cluster size
};

struct PlanSummary {
  std::filesystem::path experiment_dir;
  std::string name;
  std::string experiment_id;  // kept by a re-plan; empty when re-planning a plan older than ids
  std::size_t samples = 0, configs = 0, outer_folds = 0, inner_folds = 0, tasks = 0;
  std::size_t tasks_per_element = 1, elements = 0;
  std::size_t results_present = 0;         // tasks whose result already exists (kept across re-plans)
  std::size_t results_stale = 0;           // tasks with results made from another spec, data or version only
  std::size_t changes = 0;                 // keys that differ from the frozen spec (only with replan)
  std::filesystem::path superseded_to;     // where --replan set the old plan's results aside
  std::optional<ClusterSummary> clusters;  // group_by similarity only
  // Per config, in plan order: how many input positions one output position sees
  // (receptive_field, common/spec.hpp); empty when no config is a convolutional family.
  std::vector<std::pair<std::string, std::int64_t>> receptive_fields;
  bool written = false;
};

// Loads the spec and its data, builds the plan and (unless dry_run) writes the frozen spec
// and plan.h5 into the experiment directory. A new experiment gets a fresh experiment id;
// re-planning an existing directory keeps its id, and its results when only the grid (or
// slurm, output, final_model) changed; a directory holding another experiment, or this one
// planned from other data, model, training or resampling keys, is refused unless
// options.replan.
PlanSummary plan_experiment(const PlanOptions& options);

std::string render_text(const PlanSummary& summary);
std::string render_json(const PlanSummary& summary);

}  // namespace gridfold
