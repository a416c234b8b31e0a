// Which tasks of a plan have finished: a result under its final name in the results
// directory (results are renamed into place only when complete), or in a committed archive
// of this experiment (its id, plan.experiment_id; never another experiment's of the same name).
#pragma once

#include <filesystem>
#include <vector>

#include "common/experiment_layout.hpp"
#include "common/plan.hpp"

namespace gridfold {

// done[i] is true when task i has a result. Walks the results that exist and reads the
// archive indexes rather than probing every task's path, which for a million-task plan
// costs a million stat calls.
std::vector<bool> finished_tasks(const ExperimentLayout& layout, const ExperimentPlan& plan,
                                 const std::filesystem::path& archive_dir);

}  // namespace gridfold
