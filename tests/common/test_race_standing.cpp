#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>

#include "common/race_standing.hpp"
#include "common/result_inventory.hpp"
#include "../support/test_experiment.hpp"
#include "../temp_dir.hpp"

using namespace gridfold;
using gridfold::testing::TempDir;
using gridfold::testing::TestExperiment;

namespace {

// Three configs raced over 12 repeated-holdout splits, deciding after 5 and 8.
const char* kRace = R"(name: race
data: {path: d.csv, targets: [y]}
training: {epochs: 1}
resampling: {outer: {repeated_holdout: {n: 12, test_fraction: 0.2}}}
search: {strategy: race, rounds: [5, 8], min_folds: 5}
grid:
  training.lr: [0.1, 0.01, 0.001]
)";

// Config 1 is far worse than configs 0 and 2, which are close.
double r2_of(const Task& t) {
  const double base[] = {0.80, 0.30, 0.79};
  const double phase[] = {0.0, 0.6, 1.9};
  return base[t.config] + 0.05 * std::sin(1.3 * t.outer_fold) + 0.03 * std::cos(2.9 * t.outer_fold + phase[t.config]);
}

void write_scored(const TestExperiment& e, std::size_t task) {
  FoldResult r = e.result(task);
  r.metrics["y"]["r2"] = r2_of(e.plan().tasks[task]);
  write_fold_result(e.layout().result(r.config_id, r.outer_fold, r.inner_fold), r);
}

std::vector<bool> done(const TestExperiment& e) {
  return finished_tasks(e.layout(), e.plan(), e.layout().archives_dir()).done;
}

RaceStanding standing(const TestExperiment& e, RaceUpdate update) {
  return race_standing(e.layout(), e.plan(), e.spec(), e.layout().archives_dir(), done(e), update);
}

}  // namespace

TEST_CASE("a race waits for its first round to settle before deciding", "[race]") {
  TempDir dir;
  const TestExperiment e(dir / "race", kRace, 100);
  for (std::size_t t = 0; t + 1 < 15; ++t) write_scored(e, t);  // round 0 is tasks 0..14; one missing
  const RaceStanding s = standing(e, RaceUpdate::decide);
  CHECK(s.races.front().records.empty());
  CHECK(s.eliminated_tasks == 0);
  CHECK(s.decided(e.plan(), e.plan().tasks[0]));
  CHECK_FALSE(s.decided(e.plan(), e.plan().tasks[15]));
  CHECK_FALSE(std::filesystem::exists(race_record_path(e.layout(), -1, 1)));
}

TEST_CASE("a settled round is decided once, recorded, and its losers' later tasks are eliminated", "[race]") {
  TempDir dir;
  const TestExperiment e(dir / "race", kRace, 100);
  for (std::size_t t = 0; t < 15; ++t) write_scored(e, t);
  CHECK(standing(e, RaceUpdate::read_only).races.front().records.empty());  // read-only decides nothing

  const RaceStanding s = standing(e, RaceUpdate::decide);
  REQUIRE(s.races.front().records.size() == 1);
  const RaceRecord& record = s.races.front().records.front();
  CHECK(record.decision.leader == 0u);
  REQUIRE(record.decision.eliminated.size() == 1);
  CHECK(record.decision.eliminated[0].config == 1);
  CHECK(record.decision.survivors == std::vector<std::uint32_t>{0, 2});
  CHECK(std::filesystem::exists(race_record_path(e.layout(), -1, 1)));
  // Config 1's 7 remaining folds never train.
  CHECK(s.eliminated_tasks == 7);
  for (std::size_t t = 0; t < e.plan().tasks.size(); ++t) {
    const Task& task = e.plan().tasks[t];
    CHECK(s.task_eliminated[t] == (task.config == 1 && task.outer_fold >= 5));
  }
  CHECK(s.races.front().survivors() == 2);

  // The record is final: a result rewritten later (say, a rerun) does not change the decision.
  FoldResult changed = e.result(5);  // config 1, fold 0 ... now as good as the leader
  changed.metrics["y"]["r2"] = 0.99;
  write_fold_result(e.layout().result(changed.config_id, changed.outer_fold, changed.inner_fold), changed);
  const RaceStanding again = standing(e, RaceUpdate::read_only);
  REQUIRE(again.races.front().records.size() == 1);
  CHECK(again.task_eliminated == s.task_eliminated);
}

TEST_CASE("a failed task settles its round; the next round waits only for the survivors", "[race]") {
  TempDir dir;
  const TestExperiment e(dir / "race", kRace, 100);
  for (std::size_t t = 0; t < 15; ++t) write_scored(e, t);
  REQUIRE(standing(e, RaceUpdate::decide).races.front().records.size() == 1);
  // Round 1 (folds 5..7): configs 0 and 2 only; one of config 2's tasks fails.
  const ExperimentPlan& plan = e.plan();
  for (std::uint32_t c : {0u, 2u}) {
    for (int f = 5; f < 8; ++f) {
      const std::size_t t = task_index(plan, c, f, -1);
      if (c == 2 && f == 7) {
        std::filesystem::create_directories(e.layout().failure(plan.configs[c].id, f, -1).parent_path());
        std::ofstream(e.layout().failure(plan.configs[c].id, f, -1)) << "reason: out of memory\n";
      } else {
        write_scored(e, t);
      }
    }
  }
  const RaceStanding s = standing(e, RaceUpdate::decide);
  REQUIRE(s.races.front().records.size() == 2);
  CHECK(s.races.front().records[1].decision.folds == 8);
  CHECK(s.races.front().records[1].decision.shared_folds == 7);  // fold 7 lacks config 2's score
  CHECK(s.decided(plan, plan.tasks.back()));
}

TEST_CASE("a grid plan has one open race and nothing eliminated", "[race]") {
  TempDir dir;
  std::string grid = kRace;
  grid.replace(grid.find("search: {strategy: race, rounds: [5, 8], min_folds: 5}\n"), 55, "");
  const TestExperiment e(dir / "grid", grid, 100);
  const RaceStanding s = standing(e, RaceUpdate::decide);
  CHECK(s.eliminated_tasks == 0);
  CHECK(s.decided(e.plan(), e.plan().tasks.back()));
  CHECK_FALSE(std::filesystem::exists(e.layout().root() / "race"));
}
