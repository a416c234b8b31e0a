#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdlib>
#include <fmt/format.h>
#include <limits>
#include <string>
#include <vector>

#include "common/grid.hpp"
#include "common/plan.hpp"
#include "common/plan_limits.hpp"
#include "common/text_file.hpp"
#include "tests/temp_dir.hpp"

using namespace gridfold;
using gridfold::testing::TempDir;

namespace {

const std::string kGridfold = GRIDFOLD_BINARY_DIR "/bin/gridfold";

SpecDocument parse(const std::string& text) {
  return SpecDocument::parse(text, "exp.yaml", "/base");
}

// The message of the SpecError that parsing `text` throws ("" when it parses).
std::string parse_error(const std::string& text) {
  try {
    parse(text);
  } catch (const SpecError& e) {
    return e.what();
  }
  return "";
}

// A spec whose grid and resampling are the given YAML (grid may be empty).
std::string spec_with(const std::string& grid, const std::string& resampling) {
  return "name: limits\ndata: {path: d.csv, targets: [y]}\n" + (grid.empty() ? "" : "grid:\n" + grid) +
         "resampling:\n" + resampling;
}

// Grid lines varying `axes` integer parameters over the values 1..`values` each.
std::string integer_grid(std::size_t axes, int values) {
  static const std::vector<std::string>
      kPaths{"training.epochs",           "training.batch_size",       "training.patience", "training.eval_every",
             "training.eval_max_samples", "training.checkpoint_every", "training.seed",     "training.threads",
             "training.crop_length",      "model.kernel_size",         "model.dilation",    "model.pool_size",
             "model.hidden_size",         "model.lstm_layers",         "model.filters",     "model.dense"};
  REQUIRE(axes <= kPaths.size());
  std::vector<int> list;
  for (int v = 1; v <= values; ++v) list.push_back(v);
  std::string out;
  for (std::size_t a = 0; a < axes; ++a) out += fmt::format("  {}: [{}]\n", kPaths[a], fmt::join(list, ", "));
  return out;
}

}  // namespace

TEST_CASE("gridfold plan refuses 70000 outer folds at once, naming the key, the value and the maximum",
          "[plan-limits]") {
  // 70000 repeated holdouts once made plan loop forever on a 16-bit fold counter, appending
  // tasks until memory ran out; the child's memory and time are capped so that a regression
  // fails this test instead of hanging it.
  TempDir dir;
  std::string csv = "sequence,y\n";
  for (int i = 0; i < 12; ++i) csv += "ACGTACGT," + std::to_string(i) + "\n";
  dir.write("d.csv", csv);
  const auto spec =
      dir.write("exp.yaml", spec_with("", "  outer: {repeated_holdout: {n: 70000, test_fraction: 0.25}}\n"));
  const auto log = dir / "log.txt";
  const int status = std::system(fmt::format("ulimit -v 4000000; timeout 60 {} plan {} --out {} > {} 2>&1", kGridfold,
                                             spec.string(), (dir / "exp").string(), log.string())
                                     .c_str());
  const std::string output = read_text_file(log);
  INFO(output);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 3);
  CHECK_THAT(output, Catch::Contains("exp.yaml:4:33") && Catch::Contains("resampling.outer.repeated_holdout.n") &&
                         Catch::Contains("'70000'") && Catch::Contains("from 1 to 32767"));
  CHECK_FALSE(std::filesystem::exists(dir / "exp" / "plan.h5"));
}

TEST_CASE("fold counts above what a plan numbers are refused with their line:column", "[plan-limits]") {
  CHECK_THAT(parse_error(spec_with("", "  outer: {kfold: {k: 40000}}\n")),
             Catch::Contains("exp.yaml:4:22") && Catch::Contains("resampling.outer.kfold.k") &&
                 Catch::Contains("'40000'") && Catch::Contains("from 2 to 32767") && Catch::Contains("outer folds"));
  CHECK_THAT(parse_error(spec_with("", "  outer: {kfold: {k: 2}}\n  inner: {kfold: {k: 32768}}\n")),
             Catch::Contains("exp.yaml:5:22") && Catch::Contains("resampling.inner.kfold.k") &&
                 Catch::Contains("'32768'") && Catch::Contains("from 2 to 32767") && Catch::Contains("inner folds"));
  CHECK_THAT(parse_error(spec_with("", "  outer: {kfold: {k: 2}}\n  inner: {repeated_holdout: {n: 99999999999}}\n")),
             Catch::Contains("'99999999999'") && Catch::Contains("from 1 to 32767"));
}

TEST_CASE("fold counts at their maximum are accepted", "[plan-limits]") {
  CHECK(parse_error(spec_with("", "  outer: {repeated_holdout: {n: 32767}}\n")).empty());
  CHECK(parse_error(spec_with("", "  outer: {kfold: {k: 2}}\n  inner: {kfold: {k: 32767}}\n")).empty());
}

TEST_CASE("a grid whose size overflows 64 bits is refused, not counted as empty", "[plan-limits]") {
  // 16 axes of 16 values are 2^64 combinations: a 64-bit product wraps to 0.
  const std::string message = parse_error(spec_with(integer_grid(16, 16), "  outer: {kfold: {k: 2}}\n"));
  CHECK_THAT(message, Catch::Contains("exp.yaml:4:3") && Catch::Contains("grid") && Catch::Contains("16 x 16 x 16") &&
                          Catch::Contains("more than 2^64") && Catch::Contains("at most 1000000"));
}

TEST_CASE("a grid over the combination limit is refused with its size; one at the limit is accepted", "[plan-limits]") {
  CHECK_THAT(parse_error(spec_with(integer_grid(7, 10), "  outer: {repeated_holdout: {n: 1}}\n")),
             Catch::Contains("exp.yaml:4:3") && Catch::Contains("10 x 10 x 10 x 10 x 10 x 10 x 10 = 10000000") &&
                 Catch::Contains("at most 1000000"));
  // 10^6 configs x 10 holdouts = 10^7 tasks: both limits exactly.
  CHECK(parse_error(spec_with(integer_grid(6, 10), "  outer: {repeated_holdout: {n: 10}}\n")).empty());
}

TEST_CASE("a plan over the task limit is refused with its product at the resampling key", "[plan-limits]") {
  const std::string grid = integer_grid(6, 10);
  CHECK_THAT(parse_error(spec_with(grid, "  outer: {repeated_holdout: {n: 11}}\n")),
             Catch::Contains("exp.yaml:11:10: resampling.outer") &&
                 Catch::Contains("1000000 configs x 11 outer folds") && Catch::Contains("= 11000000 tasks") &&
                 Catch::Contains("at most 10000000 tasks"));
  CHECK_THAT(parse_error(spec_with(integer_grid(2, 10), "  outer: {kfold: {k: 1000}}\n  inner: {kfold: {k: 100}}\n")),
             Catch::Contains("100 configs x 1000 outer folds x (1 + 100 inner folds) = 10100000 tasks"));
}

TEST_CASE("excluded combinations do not count towards the task limit", "[plan-limits]") {
  // 10^6 combinations x 20 holdouts = 2 * 10^7 tasks; excluding half the epochs leaves 10^7.
  const std::string grid = integer_grid(6, 10);
  const std::string outer = "  outer: {repeated_holdout: {n: 20}}\n";
  std::string excludes = "  exclude:\n";
  for (int epochs = 1; epochs <= 4; ++epochs) excludes += fmt::format("    - {{training.epochs: {}}}\n", epochs);
  CHECK_THAT(parse_error(spec_with(grid + excludes, outer)), Catch::Contains("600000 configs x 20 outer folds"));
  excludes += "    - {training.epochs: 5}\n";
  CHECK(parse_error(spec_with(grid + excludes, outer)).empty());
}

TEST_CASE("the config count the limit uses equals the configs the grid expands to", "[plan-limits]") {
  const std::string grid = R"(  training.lr: [0.1, 0.01, 0.001]
  zip:
    - {model.kernel_size: [3, 5, 7], model.dilation: [1, 2, 4]}
  model.dropout: [0.0, 0.5]
  exclude:
    - {training.lr: 0.1, model.kernel_size: 5}
    - {model.dilation: 4, model.dropout: 0.5}
    - {model.kernel_size: 5, model.dilation: 2, model.dropout: 0.0}
)";
  const SpecDocument doc = parse(spec_with(grid, "  outer: {kfold: {k: 2}}\n"));
  const GridSpec& g = doc.base().grid;
  CHECK(grid_combinations(g) == 18u);
  CHECK(grid_config_count(g) == expand_grid(doc).size());
  CHECK(grid_config_count(g) == 11u);  // 18 - 2 - 3 - 3 + the 1 combination two rules both exclude
}

TEST_CASE("plan limits multiply without overflow and name the count that is too large", "[plan-limits]") {
  constexpr std::uint64_t kMax64 = std::numeric_limits<std::uint64_t>::max();
  CHECK(plan_task_count(3, 4, 2) == 36);
  CHECK(plan_task_count(1ull << 40, 1ull << 40, 0) == kMax64);
  CHECK(plan_task_count(2, 2, kMax64) == kMax64);
  CHECK_THROWS_WITH(check_plan_limits(1, 70000, 0, "here"),
                    Catch::Contains("here: 70000 outer folds") && Catch::Contains("at most 32767"));
  CHECK_THROWS_WITH(check_plan_limits(1, 1, 40000, "here"),
                    Catch::Contains("40000 inner folds") && Catch::Contains("at most 32767"));
  CHECK_NOTHROW(check_plan_limits(10, 1000, 999, "here"));  // 10^7 tasks
  CHECK_THROWS_WITH(check_plan_limits(10, 1000, 1000, "here"), Catch::Contains("= 10010000 tasks"));
  CHECK_THROWS_WITH(check_plan_limits(kMax64, kMaxOuterFolds, kMaxInnerFolds, "here"),
                    Catch::Contains(fmt::format("= {} tasks", kMax64)));
}
