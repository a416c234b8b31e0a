#include <catch2/catch.hpp>

#include <set>

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

TEST_CASE("plan with --replan sets the old results aside, keeps them, and plans afresh with none done",
          "[plan-command]") {
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

TEST_CASE("a plan grouped by similarity keeps each cluster on one side and records test similarity",
          "[plan-command][similarity]") {
  TempDir dir;
  // 12 families of 3: a sequence, a copy with one base changed, and its reverse complement.
  std::string csv = "sequence,y\n";
  std::uint64_t state = 1;
  for (int f = 0; f < 12; ++f) {
    std::string seq;
    for (int i = 0; i < 60; ++i) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      seq += "ACGT"[state >> 62];
    }
    std::string copy = seq;
    copy[30] = copy[30] == 'A' ? 'C' : 'A';
    std::string rc(seq.rbegin(), seq.rend());
    for (char& c : rc) c = c == 'A' ? 'T' : c == 'T' ? 'A' : c == 'C' ? 'G' : 'C';
    for (const auto& s : {seq, copy, rc}) csv += s + "," + std::to_string(f) + "\n";
  }
  dir.write("data.csv", csv);
  const auto spec = dir.write("exp.yaml",
                              "name: e\ndata: {path: data.csv, targets: [y]}\nresampling:\n  outer: {kfold: {k: 3}}\n  "
                              "inner: {kfold: {k: 2}}\n"
                              "  group_by: {similarity: {kmer: 8, threshold: 0.5}}\n");
  const PlanSummary s = plan_experiment(PlanOptions{spec, dir / "exp", false});
  REQUIRE(s.clusters);
  CHECK(s.clusters->count == 12);
  CHECK(s.clusters->largest == 3);
  CHECK(s.clusters->median == 3);
  CHECK(s.clusters->singletons == 0);
  CHECK_THAT(render_text(s), Catch::Contains("clusters    12 of similar sequences: largest 3, median 3, 0 singletons"));
  CHECK_THAT(render_json(s), Catch::Contains("\"clusters\"") && Catch::Contains("\"singletons\": 0"));

  const ExperimentPlan plan = read_plan(dir / "exp" / "plan.h5");
  for (std::size_t f = 0; f < plan.folds.outer_count(); ++f) {
    std::set<std::string> test_families, train_families;
    for (auto i : plan.folds.outer_test[f]) test_families.insert(std::to_string(i / 3));
    for (auto i : plan.folds.outer_train(f)) train_families.insert(std::to_string(i / 3));
    for (const auto& family : test_families) CHECK(train_families.count(family) == 0);
  }
  REQUIRE(plan.folds.outer_similarity.size() == 36);
  REQUIRE(plan.folds.inner_similarity.size() == plan.folds.inner_test.indices.size());
  for (float v : plan.folds.outer_similarity) CHECK(v < 0.5f);

  // Every result carries its test rows' similarity, through the file and back.
  const ExperimentLayout layout(dir / "exp");
  for (std::size_t t = 0; t < plan.tasks.size(); ++t) {
    FoldResult r = result_of_task(plan, t);
    const auto expected = plan.folds.test_similarity(plan.tasks[t].outer_fold, plan.tasks[t].inner_fold);
    CHECK(r.train_similarity == std::vector<float>(expected.begin(), expected.end()));
    REQUIRE(r.train_similarity.size() == r.sample_index.size());
    const auto file = layout.result(r.config_id, r.outer_fold, r.inner_fold);
    write_fold_result(file, r);
    CHECK(read_fold_result(file).train_similarity == r.train_similarity);
  }
}

TEST_CASE("a plan grouped by a column records no similarity", "[plan-command][similarity]") {
  TempDir dir;
  std::string csv = "sequence,y,chrom\n";
  for (int i = 0; i < 12; ++i) csv += "ACGTACGT," + std::to_string(i) + ",chr" + std::to_string(i % 4) + "\n";
  dir.write("data.csv", csv);
  const auto spec = dir.write("exp.yaml",
                              "name: e\ndata: {path: data.csv, targets: [y]}\nresampling:\n  outer: {kfold: {k: 2}}\n"
                              "  group_by: {column: chrom}\n");
  const PlanSummary s = plan_experiment(PlanOptions{spec, dir / "exp", false});
  CHECK_FALSE(s.clusters);
  const ExperimentPlan plan = read_plan(dir / "exp" / "plan.h5");
  CHECK(plan.folds.outer_similarity.empty());
  CHECK(result_of_task(plan, 0).train_similarity.empty());
}
