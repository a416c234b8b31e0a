#include <catch2/catch.hpp>

#include "common/errors.hpp"
#include "common/experiment_layout.hpp"
#include "common/fold_result.hpp"
#include "common/text_file.hpp"
#include "common/plan.hpp"
#include "orchestrator/plan/plan_command.hpp"
#include "tests/temp_dir.hpp"

using namespace gridfold;
using gridfold::testing::TempDir;

namespace {

std::string spec_text(const std::string& name, const std::string& lrs, const std::string& seed = "1",
                      const std::string& epochs = "2") {
  return "name: " + name + "\ndata: {path: data.csv, targets: [y]}\ntraining: {epochs: " + epochs +
         "}\ngrid:\n  training.lr: [" + lrs + "]\nresampling: {outer: {kfold: {k: 3}}, seed: " + seed + "}\n";
}

// Every task of the directory's plan gets a result, as the worker writes it.
void write_results(const std::filesystem::path& experiment) {
  const ExperimentLayout layout(experiment);
  const ExperimentPlan plan = read_plan(layout.plan());
  for (std::size_t i = 0; i < plan.tasks.size(); ++i) {
    const FoldResult r = result_of_task(plan, i);
    write_fold_result(layout.result(r.config_id, r.outer_fold, r.inner_fold), r);
  }
}

void write_data(const TempDir& dir) {
  std::string csv = "sequence,y\n";
  for (int i = 0; i < 12; ++i) csv += "ACGTACGT," + std::to_string(i) + "\n";
  dir.write("data.csv", csv);
}

}  // namespace

TEST_CASE("gridfold plan writes the frozen spec and plan.h5 into the experiment directory", "[plan-command]") {
  TempDir dir;
  write_data(dir);
  const auto spec = dir.write("exp.yaml", spec_text("e", "0.1, 0.01"));
  const PlanSummary s = plan_experiment(PlanOptions{spec, dir / "exp", false});
  CHECK(s.configs == 2);
  CHECK(s.tasks == 6);
  CHECK(s.samples == 12);
  CHECK(std::filesystem::exists(dir / "exp" / "plan.h5"));
  CHECK(std::filesystem::exists(dir / "exp" / "spec.yaml"));
  CHECK(read_plan(dir / "exp" / "plan.h5").spec_dir == dir.path());
}

TEST_CASE("a dry run plans without writing anything", "[plan-command]") {
  TempDir dir;
  write_data(dir);
  const auto spec = dir.write("exp.yaml", spec_text("e", "0.1"));
  const PlanSummary s = plan_experiment(PlanOptions{spec, dir / "exp", true});
  CHECK(s.tasks == 3);
  CHECK_FALSE(s.written);
  CHECK_FALSE(std::filesystem::exists(dir / "exp"));
}

TEST_CASE("re-planning with a value added to the grid keeps the finished results", "[plan-command]") {
  TempDir dir;
  write_data(dir);
  const auto spec = dir.write("exp.yaml", spec_text("e", "0.1, 0.01"));
  plan_experiment(PlanOptions{spec, dir / "exp", false});
  write_results(dir / "exp");

  dir.write("exp.yaml", spec_text("e", "0.1, 0.01, 0.001"));
  const PlanSummary s = plan_experiment(PlanOptions{spec, dir / "exp", false});
  CHECK(s.tasks == 9);
  CHECK(s.results_present == 6);
}

TEST_CASE("a directory holding another experiment is refused", "[plan-command]") {
  TempDir dir;
  write_data(dir);
  plan_experiment(PlanOptions{dir.write("a.yaml", spec_text("first", "0.1")), dir / "exp", false});
  CHECK_THROWS_WITH(plan_experiment(PlanOptions{dir.write("b.yaml", spec_text("second", "0.1")), dir / "exp", false}),
                    Catch::Contains("holds experiment 'first', not 'second'"));
  dir.write("other/file.txt", "x");
  CHECK_THROWS_WITH(plan_experiment(PlanOptions{dir / "a.yaml", dir / "other", false}),
                    Catch::Contains("not empty and holds no gridfold experiment"));
}

TEST_CASE("each planned directory gets its own experiment id, which a re-plan keeps", "[plan-command]") {
  TempDir dir;
  write_data(dir);
  const auto spec = dir.write("exp.yaml", spec_text("e", "0.1, 0.01"));
  const PlanSummary first = plan_experiment(PlanOptions{spec, dir / "a", false});
  CHECK(first.experiment_id.size() == 16);
  CHECK(first.experiment_id.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(read_plan(dir / "a" / "plan.h5").experiment_id == first.experiment_id);
  CHECK(render_text(first).find("id          " + first.experiment_id) != std::string::npos);
  CHECK(plan_experiment(PlanOptions{spec, dir / "a", false}).experiment_id == first.experiment_id);
  CHECK(plan_experiment(PlanOptions{spec, dir / "b", false}).experiment_id != first.experiment_id);
}

TEST_CASE("re-planning with changed training keys, resampling seed or data is refused, showing what changed",
          "[plan-command]") {
  TempDir dir;
  write_data(dir);
  const auto spec = dir.write("exp.yaml", spec_text("e", "0.1, 0.01"));
  plan_experiment(PlanOptions{spec, dir / "exp", false});
  write_results(dir / "exp");
  const std::string frozen = read_text_file(dir / "exp/spec.yaml");

  dir.write("exp.yaml", spec_text("e", "0.1, 0.01", "2", "3"));
  try {
    plan_experiment(PlanOptions{spec, dir / "exp", false});
    FAIL("a changed spec was planned over the old one");
  } catch (const BadInputError& e) {
    CHECK_THAT(e.what(), Catch::Contains("resampling.seed: 1 -> 2") && Catch::Contains("training.epochs: 2 -> 3") &&
                             Catch::Contains("--replan"));
  }
  CHECK(read_text_file(dir / "exp/spec.yaml") == frozen);

  dir.write("exp.yaml", spec_text("e", "0.1, 0.01"));
  std::string csv = read_text_file(dir / "data.csv");
  csv[csv.size() - 2] = '7';  // the last target value changes, the row count does not
  dir.write("data.csv", csv);
  CHECK_THROWS_WITH(plan_experiment(PlanOptions{spec, dir / "exp", false}), Catch::Contains("data checksum: "));
}

TEST_CASE("plan with --replan sets the old results aside, keeps them, and plans afresh with none done", "[plan-command]") {
  TempDir dir;
  write_data(dir);
  const auto spec = dir.write("exp.yaml", spec_text("e", "0.1, 0.01"));
  plan_experiment(PlanOptions{spec, dir / "exp", false});
  write_results(dir / "exp");

  dir.write("exp.yaml", spec_text("e", "0.1, 0.01", "2"));
  const PlanSummary s = plan_experiment(PlanOptions{spec, dir / "exp", false, true});
  CHECK(s.changes == 1);
  CHECK(s.results_present == 0);
  REQUIRE_FALSE(s.superseded_to.empty());
  CHECK(s.superseded_to.parent_path() == dir / "exp" / "superseded");
  std::size_t kept = 0;
  for (const auto& f : std::filesystem::recursive_directory_iterator(s.superseded_to / "results")) {
    kept += f.is_regular_file();
  }
  CHECK(kept == 6);
  CHECK_THAT(read_text_file(s.superseded_to / "README.txt"), Catch::Contains("resampling.seed: 1 -> 2"));
  CHECK_FALSE(std::filesystem::exists(dir / "exp" / "results"));
  CHECK(read_text_file(dir / "exp/spec.yaml") == spec_text("e", "0.1, 0.01", "2"));
  // The same spec again is no change at all.
  CHECK(plan_experiment(PlanOptions{spec, dir / "exp", false}).changes == 0);
}

TEST_CASE("a result made from another plan of the same config is stale, not done", "[plan-command]") {
  TempDir dir;
  write_data(dir);
  const auto spec = dir.write("exp.yaml", spec_text("e", "0.1, 0.01"));
  plan_experiment(PlanOptions{spec, dir / "exp", false});
  const ExperimentLayout layout(dir / "exp");
  const ExperimentPlan plan = read_plan(layout.plan());
  FoldResult r = result_of_task(plan, 0);
  r.fingerprint.test_rows = "0000000000000000";  // the fold's test rows of another split
  write_fold_result(layout.result(r.config_id, r.outer_fold, r.inner_fold), r);
  const FoldResult current = result_of_task(plan, 1);
  write_fold_result(layout.result(current.config_id, current.outer_fold, current.inner_fold), current);

  const PlanSummary s = plan_experiment(PlanOptions{spec, dir / "exp", true});
  CHECK(s.results_present == 1);
  CHECK(s.results_stale == 1);
}
