#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>

#include "common/resampling.hpp"

using namespace gridfold;

namespace {

ResamplingSpec kfold_spec(int k, std::uint64_t seed = 1) {
  ResamplingSpec s;
  s.outer.kind = FoldScheme::Kind::kfold;
  s.outer.k = k;
  s.seed = seed;
  return s;
}

std::vector<std::string> labels_cycling(std::size_t n, const std::vector<std::string>& values,
                                        const std::vector<int>& weights) {
  std::vector<std::string> out;
  while (out.size() < n) {
    for (std::size_t v = 0; v < values.size() && out.size() < n; ++v) {
      for (int w = 0; w < weights[v] && out.size() < n; ++w) out.push_back(values[v]);
    }
  }
  return out;
}

}  // namespace

TEST_CASE("a 50-fold plan puts every sample in exactly one test fold", "[resampling]") {
  const auto plan = make_resampling_plan(kfold_spec(50), 1237);
  REQUIRE(plan.outer_count() == 50);
  std::vector<int> seen(1237, 0);
  std::size_t smallest = 1237, largest = 0;
  for (std::size_t f = 0; f < 50; ++f) {
    for (auto i : plan.outer_test[f]) ++seen[i];
    smallest = std::min(smallest, plan.outer_test[f].size());
    largest = std::max(largest, plan.outer_test[f].size());
  }
  CHECK(std::all_of(seen.begin(), seen.end(), [](int c) { return c == 1; }));
  CHECK(largest - smallest <= 1);
}

TEST_CASE("a fold's training set is the complement of its test set", "[resampling]") {
  const auto plan = make_resampling_plan(kfold_spec(4), 30);
  for (std::size_t f = 0; f < 4; ++f) {
    const auto train = plan.outer_train(f);
    CHECK(train.size() + plan.outer_test[f].size() == 30);
    for (auto i : plan.outer_test[f]) CHECK_FALSE(std::binary_search(train.begin(), train.end(), i));
  }
}

TEST_CASE("plans are deterministic from the seed", "[resampling]") {
  const auto a = make_resampling_plan(kfold_spec(5, 11), 200);
  const auto b = make_resampling_plan(kfold_spec(5, 11), 200);
  const auto c = make_resampling_plan(kfold_spec(5, 12), 200);
  CHECK(a.outer_test.indices == b.outer_test.indices);
  CHECK(a.outer_test.indices != c.outer_test.indices);
}

TEST_CASE("a stratified k-fold keeps class proportions within one sample per fold", "[resampling]") {
  const std::size_t n = 1003;
  const auto strata = labels_cycling(n, {"a", "b", "c"}, {7, 2, 1});
  const auto plan = make_resampling_plan(kfold_spec(10), n, strata);
  std::map<std::string, std::size_t> total;
  for (const auto& s : strata) ++total[s];
  for (std::size_t f = 0; f < 10; ++f) {
    std::map<std::string, std::size_t> in_fold;
    for (auto i : plan.outer_test[f]) ++in_fold[strata[i]];
    for (const auto& [label, count] : total) {
      const double expected = static_cast<double>(count) / 10.0;
      INFO("fold " << f << " class " << label);
      CHECK(std::abs(static_cast<double>(in_fold[label]) - expected) <= 1.0);
    }
  }
}

TEST_CASE("a grouped plan never splits a group", "[resampling]") {
  const std::size_t n = 500;
  std::vector<std::string> groups;
  for (std::size_t i = 0; i < n; ++i) groups.push_back("g" + std::to_string((i * 7919) % 37));
  ResamplingSpec spec = kfold_spec(5);
  spec.group_by = "family";
  const auto plan = make_resampling_plan(spec, n, {}, groups);
  std::map<std::string, std::set<std::size_t>> folds_of_group;
  for (std::size_t f = 0; f < 5; ++f) {
    for (auto i : plan.outer_test[f]) folds_of_group[groups[i]].insert(f);
  }
  CHECK(folds_of_group.size() == 37);
  for (const auto& [g, folds] : folds_of_group) CHECK(folds.size() == 1);
}

TEST_CASE("repeated holdout draws n independent splits of the requested size", "[resampling]") {
  ResamplingSpec spec;
  spec.outer.kind = FoldScheme::Kind::repeated_holdout;
  spec.outer.n = 50;
  spec.outer.test_fraction = 0.2;
  const auto plan = make_resampling_plan(spec, 400, {});
  REQUIRE(plan.outer_count() == 50);
  std::set<std::vector<std::uint32_t>> distinct;
  for (std::size_t r = 0; r < 50; ++r) {
    CHECK(plan.outer_test[r].size() == 80);
    distinct.emplace(plan.outer_test[r].begin(), plan.outer_test[r].end());
  }
  CHECK(distinct.size() == 50);
}

TEST_CASE("the inner plan splits only the outer training set", "[resampling]") {
  ResamplingSpec spec = kfold_spec(5);
  spec.inner = FoldScheme{FoldScheme::Kind::kfold, 3, 0, 0};
  const auto plan = make_resampling_plan(spec, 101);
  REQUIRE(plan.inner_count == 3);
  for (std::size_t f = 0; f < 5; ++f) {
    const auto outer_train = plan.outer_train(f);
    std::vector<int> seen(101, 0);
    for (std::size_t j = 0; j < 3; ++j) {
      for (auto i : plan.inner_test_of(f, j)) {
        CHECK(std::binary_search(outer_train.begin(), outer_train.end(), i));
        ++seen[i];
      }
      CHECK(plan.inner_train(f, j).size() + plan.inner_test_of(f, j).size() == outer_train.size());
    }
    for (auto i : outer_train) CHECK(seen[i] == 1);
  }
}

TEST_CASE("more folds than samples or groups is a clear error", "[resampling]") {
  CHECK_THROWS_WITH(make_resampling_plan(kfold_spec(10), 5), Catch::Contains("k = 10 folds but only 5 samples"));
  ResamplingSpec spec = kfold_spec(4);
  CHECK_THROWS_WITH(make_resampling_plan(spec, 6, {}, {"a", "a", "b", "b", "c", "c"}),
                    Catch::Contains("only 3 groups"));
}
