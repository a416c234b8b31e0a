// What differs between an experiment directory's frozen spec and plan and a new plan of it,
// and setting aside the results of the old one (`gridfold plan --replan`).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/experiment_layout.hpp"
#include "common/plan.hpp"
#include "common/spec.hpp"

namespace gridfold {

// One key whose value changed: "training.epochs: 2 -> 3".
struct SpecChange {
  std::string key, before, after;  // before/after "(none)" where the key is absent
  std::string str() const;
};

// The keys that decide what results mean, frozen in `layout` versus `spec` planned as `plan`:
// every data, model and training key of the base config (canonical_config), the resampling
// keys, and the data file's checksum. The grid, slurm, output and final_model sections may
// change freely (a config's id and each result's fingerprint cover what the grid changes).
// Empty when the directory holds no plan yet.
std::vector<SpecChange> spec_changes(const ExperimentLayout& layout, const ExperimentSpec& spec,
                                     const ExperimentPlan& plan);

// The BadInputError message refusing `changes`: each change on its own line, and what to do.
std::string describe_refusal(const ExperimentLayout& layout, const std::vector<SpecChange>& changes);

// Moves results/, checkpoints/, failures/, spec.yaml and plan.h5 of the old plan into a new
// superseded/<UTC time>/ and records there which archives held results then (they stay where
// they are and count as stale from now on). Deletes nothing. Returns the new directory.
// `archive_dir` and `experiment_id` say where the experiment's archives are and which are its.
std::filesystem::path supersede_old_plan(const ExperimentLayout& layout, const std::filesystem::path& archive_dir,
                                         const std::string& experiment_id, const std::vector<SpecChange>& changes);

}  // namespace gridfold
