#include <catch2/catch.hpp>

#include <cmath>

#include "common/fold_result.hpp"
#include "common/race_standing.hpp"
#include "common/result_inventory.hpp"
#include "orchestrator/slurm/experiment_status.hpp"
#include "orchestrator/slurm/job_states.hpp"
#include "tests/support/test_experiment.hpp"
#include "tests/temp_dir.hpp"

using namespace gridfold;

TEST_CASE("squeue lines of running and pending elements become element records", "[status]") {
  const auto records = parse_squeue("101_3|RUNNING|n1\n101_[4-6%2]|PENDING|\n102|PENDING|\n");
  REQUIRE(records.size() == 3);
  CHECK(records[0].job_id == "101");
  CHECK(records[0].first_index == 3);
  CHECK(records[0].state == ElementState::running);
  CHECK(records[0].node_list == "n1");
  CHECK(records[1].first_index == 4);
  CHECK(records[1].last_index == 6);
  CHECK(records[1].state == ElementState::pending);
  CHECK(records[2].job_id == "102");
}

TEST_CASE("sacct states map to gridfold's element states", "[status]") {
  const auto records = parse_sacct(
      "7_0|COMPLETED|0:0|n1\n7_1|CANCELLED by 0|0:9|n2\n7_2|TIMEOUT|0:0|n1\n7_3|OUT_OF_MEMORY|0:125|n1\n"
      "7_4|NODE_FAIL|1:0|n2\n7_5|PREEMPTED|0:0|n2\n7_6|FAILED|1:0|n1\n7_[7,9-10]|PENDING|0:0|None assigned\n");
  REQUIRE(records.size() == 9);
  CHECK(records[0].state == ElementState::completed);
  CHECK(records[1].state == ElementState::cancelled);
  CHECK(records[1].exit_code == "0:9");
  CHECK(records[2].state == ElementState::timeout);
  CHECK(records[3].state == ElementState::out_of_memory);
  CHECK(records[4].state == ElementState::node_fail);
  CHECK(records[5].state == ElementState::preempted);
  CHECK(records[6].state == ElementState::failed);
  CHECK(records[7].first_index == 7);
  CHECK(records[8].first_index == 9);
  CHECK(records[8].last_index == 10);
  CHECK(is_failure(ElementState::timeout));
  CHECK_FALSE(is_failure(ElementState::completed));
  CHECK(is_active(ElementState::requeued));
}

TEST_CASE("an unreadable SLURM line is reported with the line", "[status]") {
  CHECK_THROWS_WITH(parse_sacct("7_x|COMPLETED|0:0\n"), Catch::Contains("'7_x|COMPLETED|0:0'"));
  CHECK_THROWS_WITH(parse_sacct("justoneword\n"), Catch::Contains("unexpected line"));
}

TEST_CASE("status counts tasks with only stale results apart from done ones", "[status]") {
  gridfold::testing::TempDir dir;
  const gridfold::testing::TestExperiment e(dir / "exp",
                                            "name: s\ndata: {path: d.csv, targets: [y]}\n"
                                            "resampling: {outer: {kfold: {k: 3}}}\n",
                                            12);
  e.write_all_results();
  FoldResult stale = e.result(2);
  stale.fingerprint.data_checksum = "0123456789abcdef";  // trained on another version of the data
  write_fold_result(e.layout().result(stale.config_id, stale.outer_fold, stale.inner_fold), stale);

  const ExperimentStatus s = collect_status(e.layout(), SlurmClient{});  // not submitted: SLURM is not asked
  CHECK(s.tasks_total == 3);
  CHECK(s.tasks_done == 2);
  CHECK(s.tasks_stale == 1);
  CHECK_THAT(render_line(s), Catch::Contains("tasks 2/3 done, 1 stale"));
}

TEST_CASE("status shows a race's round, its survivors and the tasks it eliminated", "[status][race]") {
  gridfold::testing::TempDir dir;
  const gridfold::testing::TestExperiment e(dir / "exp",
                                            "name: r\ndata: {path: d.csv, targets: [y]}\n"
                                            "resampling: {outer: {repeated_holdout: {n: 12, test_fraction: 0.2}}}\n"
                                            "search: {strategy: race, rounds: [5, 8]}\n"
                                            "grid:\n  training.lr: [0.1, 0.01, 0.001]\n",
                                            100);
  // Round 0 (5 splits of every config): config 1 is far worse than the close configs 0 and 2.
  for (std::size_t t = 0; t < 15; ++t) {
    FoldResult r = e.result(t);
    const Task& task = e.plan().tasks[t];
    r.metrics["y"]["r2"] = (task.config == 1 ? 0.3 : 0.8) + 0.05 * std::sin(1.3 * task.outer_fold) +
                           0.03 * std::cos(2.9 * task.outer_fold + 1.9 * task.config);
    write_fold_result(e.layout().result(r.config_id, r.outer_fold, r.inner_fold), r);
  }
  const ExperimentStatus before = collect_status(e.layout(), SlurmClient{});
  REQUIRE(before.race);
  CHECK(before.tasks_eliminated == 0);  // status decides nothing: no worker has asked yet
  CHECK_THAT(render_line(before), Catch::Contains("race: round 1 of 3, 3 of 3 configs survive, 0 tasks eliminated"));

  race_standing(e.layout(), e.plan(), e.spec(), e.layout().archives_dir(),
                finished_tasks(e.layout(), e.plan(), e.layout().archives_dir()).done, RaceUpdate::decide);
  const ExperimentStatus s = collect_status(e.layout(), SlurmClient{});
  CHECK(s.tasks_done == 15);
  CHECK(s.tasks_eliminated == 7);
  CHECK_THAT(render_table(s), Catch::Contains("race: round 2 of 3, 2 of 3 configs survive, 7 tasks eliminated (19% "
                                              "of the grid's tasks saved)"));
  CHECK_THAT(render_json(s), Catch::Contains("\"tasks_eliminated\": 7"));
}
