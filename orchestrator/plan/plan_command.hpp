// `gridfold plan`: expand an experiment spec into an experiment directory.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

#include "common/plan.hpp"

namespace gridfold {

struct PlanOptions {
  std::filesystem::path spec;
  std::filesystem::path out;  // empty = ./<experiment name>
  bool dry_run = false;
};

struct PlanSummary {
  std::filesystem::path experiment_dir;
  std::string name;
  std::string experiment_id;  // kept by a re-plan; empty when re-planning a plan older than ids
  std::size_t samples = 0, configs = 0, outer_folds = 0, inner_folds = 0, tasks = 0;
  std::size_t tasks_per_element = 1, elements = 0;
  std::size_t results_present = 0;  // tasks whose result already exists (kept across re-plans)
  bool written = false;
};

// Loads the spec and its data, builds the plan and (unless dry_run) writes the frozen spec
// and plan.h5 into the experiment directory. A new experiment gets a fresh experiment id;
// re-planning an existing directory keeps its id and its results; a directory holding another
// experiment is refused.
PlanSummary plan_experiment(const PlanOptions& options);

std::string render_text(const PlanSummary& summary);
std::string render_json(const PlanSummary& summary);

}  // namespace gridfold
