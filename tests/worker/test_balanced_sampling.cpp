#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <map>
#include <random>

#include "worker/balanced_sampling.hpp"

using namespace gridfold::worker;

namespace {

// 700 rows of class 0, 200 of class 1, 100 of class 2, then 50 without a label.
std::vector<float> imbalanced_labels() {
  std::vector<float> labels;
  for (int i = 0; i < 700; ++i) labels.push_back(0);
  for (int i = 0; i < 200; ++i) labels.push_back(1);
  for (int i = 0; i < 100; ++i) labels.push_back(2);
  for (int i = 0; i < 50; ++i) labels.push_back(std::numeric_limits<float>::quiet_NaN());
  return labels;
}

std::vector<std::uint32_t> every_row(std::size_t count) {
  std::vector<std::uint32_t> rows(count);
  for (std::uint32_t i = 0; i < count; ++i) rows[i] = i;
  return rows;
}

}  // namespace

TEST_CASE("a balanced epoch draws every class about equally often and never an unlabelled row", "[unit]") {
  const std::vector<float> labels = imbalanced_labels();
  const std::vector<std::uint32_t> rows = every_row(labels.size());
  const BalancedSampler sampler(rows, labels);
  CHECK(sampler.class_count() == 3);
  std::mt19937_64 rng(5);
  const std::vector<std::int64_t> drawn = sampler.draw(30000, rng);
  REQUIRE(drawn.size() == 30000);
  std::map<float, int> per_class;
  for (const std::int64_t row : drawn) {
    REQUIRE(row >= 0);
    REQUIRE(row < static_cast<std::int64_t>(labels.size()));
    REQUIRE_FALSE(std::isnan(labels[static_cast<std::size_t>(row)]));
    ++per_class[labels[static_cast<std::size_t>(row)]];
  }
  for (const auto& [label, count] : per_class) {
    INFO("class " << label);
    CHECK(std::abs(count / 30000.0 - 1.0 / 3) < 0.02);
  }
}

TEST_CASE("a balanced epoch draws only the rows it is given, and the same rows for the same seed", "[unit]") {
  const std::vector<float> labels = imbalanced_labels();
  std::vector<std::uint32_t> rows;
  for (std::uint32_t i = 0; i < labels.size(); i += 3) rows.push_back(i);  // a fold's training part
  const BalancedSampler sampler(rows, labels);
  std::mt19937_64 a(8), b(8), c(9);
  const std::vector<std::int64_t> first = sampler.draw(500, a);
  CHECK(first == sampler.draw(500, b));
  CHECK(first != sampler.draw(500, c));
  for (const std::int64_t row : first) CHECK(row % 3 == 0);
}

TEST_CASE("a binary target is balanced too, and rows without any label leave nothing to draw", "[unit]") {
  std::vector<float> labels(100, 0.0f);
  for (int i = 0; i < 5; ++i) labels[static_cast<std::size_t>(i * 20)] = 1.0f;
  const BalancedSampler sampler(every_row(labels.size()), labels);
  std::mt19937_64 rng(1);
  int positives = 0;
  for (const std::int64_t row : sampler.draw(10000, rng)) positives += labels[static_cast<std::size_t>(row)] == 1.0f;
  CHECK(std::abs(positives / 10000.0 - 0.5) < 0.03);

  const std::vector<float> missing(10, std::numeric_limits<float>::quiet_NaN());
  const BalancedSampler nothing(every_row(missing.size()), missing);
  CHECK(nothing.class_count() == 0);
  CHECK(nothing.draw(10, rng).empty());
}
