// Class-balanced epochs (training.balanced_sampling): rows drawn with replacement, each with
// a probability inversely proportional to the frequency of its class, so that every class
// present is drawn equally often on average however imbalanced the data is.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace gridfold::worker {

class BalancedSampler {
 public:
  // `labels[row]` is the class of a row (a class index or 0/1; NaN = missing). Only `rows`
  // take part, and rows whose label is missing are never drawn.
  BalancedSampler(std::span<const std::uint32_t> rows, std::span<const float> labels);

  // Number of classes among the rows with a label (0 when no row has one).
  std::size_t class_count() const { return members_.size(); }

  // `count` rows: for each, a class uniformly among those present, then a row of it
  // uniformly, which gives each row probability 1 / (classes x rows of its class). Modulo
  // draws from `rng`, identical with every standard library.
  std::vector<std::int64_t> draw(std::size_t count, std::mt19937_64& rng) const;

 private:
  std::vector<std::vector<std::int64_t>> members_;  // rows of each class present, ascending
};

}  // namespace gridfold::worker
