// Where the races of an experiment stand, and the elimination record behind it
// (search.strategy race; design in docs/spec.md, "Racing").
//
// No process coordinates the rounds. Tasks are ordered by round (common/plan.hpp), and before
// a task of round r > 0 starts, its worker needs the race's decision before round r. The
// decision is recorded under <experiment>/race/<race>/round<r>.json, a file created once
// (exclusive rename, first writer wins) and never changed. Any worker, rank or array element
// may make it once every task of rounds < r is settled (a result, a failure file, or an
// eliminated config) by the pure rule of common/race.hpp, so all of them would make the same
// one; a task of an eliminated config is then skipped, never trained, and counts as
// eliminated (never missing) in status, resubmit, pack and harvest.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/experiment_layout.hpp"
#include "common/plan.hpp"
#include "common/race.hpp"
#include "common/spec.hpp"

namespace gridfold {

// One decision: made before round `round` (>= 1) of one race, on its race folds 0 .. folds-1.
struct RaceRecord {
  int outer_fold = -1;  // -1: the race over the outer folds; else the inner race of that outer fold
  std::size_t round = 0;
  std::string target, metric;
  RaceDecision decision;  // configs are plan indices
};

struct RaceStanding {
  struct Race {
    int outer_fold = -1;
    std::vector<RaceRecord> records;  // decisions made, by round: records[k] comes before round k+1
    std::vector<bool> eliminated;     // by config, after those decisions
    std::size_t survivors() const;
  };
  std::vector<Race> races;            // one without an inner loop; one per outer fold with one
  std::vector<bool> task_eliminated;  // by plan task: its config was eliminated before its round
  std::size_t eliminated_tasks = 0;
  std::size_t rounds = 1;  // rounds of every race (the outer tasks included with an inner loop)
  // The race a task belongs to.
  const Race& race_of(const Task& task) const;
  // Whether the task's round has been decided (round 0 always is).
  bool decided(const ExperimentPlan& plan, const Task& task) const;
};

// The settings of the elimination rule for the plan's races: spec.search's alpha, min_folds and
// metric, and the race folds' test/train size ratio for the Nadeau-Bengio correction.
RaceSettings race_settings(const ExperimentPlan& plan, const ExperimentSpec& spec);

// "race/outer/round01.json", or "race/outer003/round01.json" for an inner race.
std::filesystem::path race_record_path(const ExperimentLayout& layout, int outer_fold, std::size_t round);

enum class RaceUpdate { read_only, decide };

// The standing of a plan's races (all open for a grid). Reads the recorded decisions; with
// `decide`, also makes and records every decision whose earlier rounds are settled, in round
// order. `done[t]` says task t has its result; results are read, loose or archived (in
// archive_dir), only for the decisions made here. Throws IoError when a decision cannot be
// recorded and BadInputError for a record that does not fit the plan.
RaceStanding race_standing(const ExperimentLayout& layout, const ExperimentPlan& plan, const ExperimentSpec& spec,
                           const std::filesystem::path& archive_dir, const std::vector<bool>& done, RaceUpdate update);

}  // namespace gridfold
