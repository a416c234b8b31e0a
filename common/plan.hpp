// The experiment plan: configurations, fold index sets and the task table, stored once per
// experiment in plan.h5 (schema in docs/plan-schema.md).
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "common/grid.hpp"
#include "common/resampling.hpp"
#include "common/spec.hpp"

namespace gridfold {

// One unit of work: a config trained on one fold. inner_fold -1 is an outer task (train on
// the outer training set, test on the outer test fold); j >= 0 is an inner task of the
// model-selection loop inside outer fold `outer_fold`.
struct Task {
  std::uint32_t config = 0;
  std::uint16_t outer_fold = 0;
  std::int16_t inner_fold = -1;
  bool operator==(const Task&) const = default;
};

struct ExperimentPlan {
  std::string name;
  // Unique per experiment (16 hex digits, random), kept by a re-plan of the same directory;
  // archives carry it, so experiments of one name never take each other's results. Empty
  // for a plan written before experiment ids existed (docs/archive-format.md).
  std::string experiment_id;
  std::filesystem::path spec_dir;  // relative data paths of the frozen spec resolve here
  std::uint64_t sample_count = 0;
  std::vector<std::string> param_paths;
  std::vector<Config> configs;
  // What results of this plan must have been produced from (result_fingerprint.hpp); empty in
  // plans written before gridfold recorded them, whose results are then all unverifiable.
  std::string data_checksum;  // set by the planner, who read the data
  std::string resampling;     // canonical_resampling of the spec
  ResamplingPlan folds;
  // Racing (search.strategy race, common/race_standing.hpp): the race folds after which the race
  // decides, ascending; empty for a grid search. The race folds are the outer folds, or with
  // an inner loop the inner folds of each outer fold.
  std::vector<int> race_rounds;
  std::vector<Task> tasks;
};

// Whether tasks are raced (plan.race_rounds is set).
bool is_race(const ExperimentPlan& plan);
// The race folds of one race: outer folds without an inner loop, inner folds with one.
std::size_t race_fold_count(const ExperimentPlan& plan);
// Round boundaries {0, race_rounds..., race_fold_count}: round r covers race folds
// [bounds[r], bounds[r + 1]). A grid has one round, 0.
std::vector<std::size_t> round_bounds(const ExperimentPlan& plan);
// The round a task belongs to. With an inner loop the outer tasks form a last round of their
// own (round_bounds().size() - 1): they run for the configs that survive all inner rounds.
std::size_t task_round(const ExperimentPlan& plan, const Task& task);

// A fresh experiment id: 16 hex digits from the system's random source.
std::string new_experiment_id();

// Expands the grid and the resampling plan, under a fresh experiment id (data_checksum is left
// for the caller). A grid's tasks are ordered config-major; within a config, each outer fold
// is followed by its inner folds. A race's tasks are ordered by round, so that SLURM array
// elements and local runs reach round r only after the tasks of earlier rounds: without an
// inner loop round-major, then config, then outer fold; with one round-major, then outer fold,
// config and inner fold, and last the outer tasks, outer fold-major.
ExperimentPlan make_plan(const SpecDocument& spec, std::size_t sample_count, const std::vector<std::string>& strata,
                         const std::vector<std::string>& groups);

// The rows a task trains and tests on: the outer fold's, or the inner fold's within it.
std::span<const std::uint32_t> test_rows(const ExperimentPlan& plan, const Task& task);
std::vector<std::uint32_t> train_rows(const ExperimentPlan& plan, const Task& task);

// Index of a task in plan.tasks, by the ordering make_plan guarantees.
std::size_t task_index(const ExperimentPlan& plan, std::uint32_t config, int outer_fold, int inner_fold);

// Array elements needed for `tasks` at `tasks_per_element` (ceiling division).
std::size_t element_count(std::size_t tasks, int tasks_per_element);

// Writes atomically (temporary name, close, fsync, rename); throws h5::WriteError when HDF5
// cannot write or close the file.
void write_plan(const std::filesystem::path& file, const ExperimentPlan& plan);
ExperimentPlan read_plan(const std::filesystem::path& file);
// The experiment id of plan.h5 without reading the rest of it; empty for an older plan.
std::string read_experiment_id(const std::filesystem::path& file);

}  // namespace gridfold
