#include <catch2/catch.hpp>

#include "common/experiment_layout.hpp"
#include "common/plan.hpp"
#include "orchestrator/plan/plan_command.hpp"
#include "tests/temp_dir.hpp"

using namespace gridfold;
using gridfold::testing::TempDir;

namespace {

std::string spec_text(const std::string& name, const std::string& lrs) {
  return "name: " + name + "\ndata: {path: data.csv, targets: [y]}\ngrid:\n  training.lr: [" + lrs +
         "]\nresampling: {outer: {kfold: {k: 3}}}\n";
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
  const ExperimentPlan first = read_plan(dir / "exp" / "plan.h5");
  const ExperimentLayout layout(dir / "exp");
  for (const Task& t : first.tasks) dir.write(layout.result(first.configs[t.config].id, t.outer_fold, -1).lexically_relative(dir.path()).string(), "x");

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
