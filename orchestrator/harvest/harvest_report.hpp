// What `gridfold harvest` found, and the files it is written to (schema in docs/harvest.md):
// configs.csv, nested.csv, predictions.csv, positions.csv, diagnostics.csv, race.csv (racing), best.json and
// harvest.h5, each written atomically.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/grid.hpp"
#include "common/race_standing.hpp"
#include "common/spec.hpp"
#include "orchestrator/harvest/harvest_statistics.hpp"
#include "orchestrator/harvest/position_profile.hpp"

namespace gridfold {

struct HarvestTarget {
  std::string name;
  TaskType task = TaskType::regression;
  ConfigRanking ranking;
  std::optional<NestedSelection> nested;  // when the plan has inner folds
  int tolerance = 0;                      // per_position: of the boundary scores (spec data.targets[].tolerance)
  std::vector<std::string> classes;       // multiclass, per_position: the spec's class names, if any
};

// How often one training-diagnostics rule fired in one config's results.
struct DiagnosticTally {
  std::size_t firings = 0;        // over all its results
  std::size_t tasks_flagged = 0;  // results in which it fired
  std::size_t tasks_stopped = 0;  // results whose training it stopped
};

struct HarvestReport {
  std::string experiment;
  std::vector<std::string> param_paths;
  std::vector<Config> configs;
  std::size_t outer_folds = 0, inner_folds = 0;
  // Results read, by kind and by where they came from.
  std::size_t outer_results = 0, inner_results = 0;
  std::size_t loose = 0, archived = 0;
  std::size_t superseded = 0;  // older archived copies of a result that a newer copy replaces
  std::size_t unplanned = 0;   // results of configs the current plan no longer has
  // Results of planned tasks whose fingerprint is not the one the plan expects (made from
  // another spec, data, fold or gridfold version): counted here, left out of every statistic.
  std::size_t stale = 0;
  // The results counted above by the device they trained on ("cpu", "cuda:0"; "unrecorded"
  // for results of gridfold versions that did not record it).
  std::map<std::string, std::size_t> devices;
  // Rule firings of the counted results, by config index and rule (diagnostics.csv).
  std::map<std::pair<std::size_t, std::string>, DiagnosticTally> diagnostics;
  std::vector<HarvestTarget> targets;
  // Racing: every decision recorded, by race and round (race.csv), and the tasks they spared.
  std::vector<RaceRecord> race;
  std::size_t eliminated_tasks = 0;
  std::vector<PredictionTable::Row> predictions;
  std::vector<PositionProfiles::Row> positions;  // per_position targets: F1 along the window
};

// The summary as JSON: what best.json holds and `harvest --json` prints.
std::string report_json(const HarvestReport& report);

// Writes every file into `dir` (created if needed); returns their paths.
std::vector<std::filesystem::path> write_report(const HarvestReport& report, const std::filesystem::path& dir);

}  // namespace gridfold
