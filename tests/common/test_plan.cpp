#include <catch2/catch.hpp>

#include <cstdlib>
#include <fmt/format.h>

#include "common/experiment_layout.hpp"
#include "common/plan.hpp"
#include "tests/temp_dir.hpp"

using namespace gridfold;
using gridfold::testing::TempDir;

namespace {

const std::string kSpec = R"(name: planned
data: {path: d.csv, targets: [y]}
grid:
  training.lr: [0.1, 0.01, 0.001]
  model.filters: [[8], [16, 16]]
resampling:
  outer: {kfold: {k: 4}}
  inner: {kfold: {k: 2}}
slurm: {tasks_per_element: 5}
)";

}  // namespace

TEST_CASE("a plan has one outer task and its inner tasks per config and outer fold", "[plan]") {
  const auto doc = SpecDocument::parse(kSpec, "p.yaml", "/");
  const ExperimentPlan plan = make_plan(doc, 40, {}, {});
  CHECK(plan.configs.size() == 6);
  CHECK(plan.tasks.size() == 6 * 4 * 3);
  CHECK(plan.tasks[0] == Task{0, 0, -1});
  CHECK(plan.tasks[1] == Task{0, 0, 0});
  CHECK(plan.tasks[2] == Task{0, 0, 1});
  CHECK(plan.tasks[3] == Task{0, 1, -1});
  CHECK(element_count(plan.tasks.size(), 5) == 15);
  for (std::size_t i = 0; i < plan.tasks.size(); ++i) {
    const Task& t = plan.tasks[i];
    CHECK(task_index(plan, t.config, t.outer_fold, t.inner_fold) == i);
  }
  CHECK(element_count(10, 1) == 10);
}

TEST_CASE("a plan survives a round trip through plan.h5", "[plan]") {
  TempDir dir;
  const auto doc = SpecDocument::parse(kSpec, "p.yaml", "/");
  const ExperimentPlan plan = make_plan(doc, 40, {}, {});
  write_plan(dir / "plan.h5", plan);
  const ExperimentPlan back = read_plan(dir / "plan.h5");
  CHECK(back.name == "planned");
  CHECK(back.sample_count == 40);
  CHECK(back.param_paths == plan.param_paths);
  REQUIRE(back.configs.size() == plan.configs.size());
  for (std::size_t c = 0; c < plan.configs.size(); ++c) {
    CHECK(back.configs[c].id == plan.configs[c].id);
    CHECK(back.configs[c].params == plan.configs[c].params);
  }
  CHECK(back.folds.outer_test.indices == plan.folds.outer_test.indices);
  CHECK(back.folds.inner_test.offsets == plan.folds.inner_test.offsets);
  CHECK(back.folds.inner_count == 2);
  CHECK(back.tasks == plan.tasks);
  CHECK_FALSE(std::filesystem::exists(dir / ".tmp-plan.h5"));
}

TEST_CASE("plan.h5 is readable by h5py", "[plan][python]") {
  TempDir dir;
  const auto doc = SpecDocument::parse(kSpec, "p.yaml", "/");
  write_plan(dir / "plan.h5", make_plan(doc, 40, {}, {}));
  const std::string script = dir.write("read.py", R"(import sys, h5py
f = h5py.File(sys.argv[1], "r")
assert f.attrs["name"] == "planned", f.attrs["name"]
assert f["configs/id"].shape == (6,)
assert f["configs/values"].shape == (6, 2)
assert f["configs/values"].asstr()[0, 1] in ("[8]", "[16, 16]")
offsets = f["folds/outer/test_offsets"][:]
assert len(offsets) == 5 and offsets[-1] == 40
assert f["tasks/config"].shape == (72,)
assert set(f["tasks/inner_fold"][:]) == {-1, 0, 1}
print("ok")
)")
                                 .string();
  const std::string cmd =
      fmt::format("/usr/bin/python3 {} {} > {} 2>&1", script, (dir / "plan.h5").string(), (dir / "out.txt").string());
  const int rc = std::system(cmd.c_str());
  INFO(cmd);
  CHECK(rc == 0);
}

TEST_CASE("result names depend on config id and fold only", "[plan]") {
  const ExperimentLayout layout("/exp");
  CHECK(layout.result("00ff", 3, -1) == "/exp/results/00ff/outer003.h5");
  CHECK(layout.result("00ff", 3, 1) == "/exp/results/00ff/outer003-inner01.h5");
  CHECK(layout.failure("00ff", 3, -1) == "/exp/failures/00ff/outer003.txt");
}
