// Resampling plans: which samples each outer (and inner) fold tests on. Deterministic from
// the seed. k-fold puts every sample in exactly one test fold; repeated holdout draws n
// independent splits; stratified plans keep class proportions within one sample per fold;
// grouped plans never split a group; inner folds split only the outer training set.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/spec.hpp"

namespace gridfold {

// Index sets stored compactly (CSR): set i is indices[offsets[i] .. offsets[i+1]), sorted.
struct IndexSets {
  std::vector<std::uint64_t> offsets{0};
  std::vector<std::uint32_t> indices;
  std::size_t size() const { return offsets.size() - 1; }
  std::span<const std::uint32_t> operator[](std::size_t i) const;
  void push_back(std::span<const std::uint32_t> sorted_set);
};

struct ResamplingPlan {
  std::size_t sample_count = 0;
  IndexSets outer_test;  // one set per outer fold
  int inner_count = 0;   // inner folds per outer fold; 0 = no inner loop
  IndexSets inner_test;  // set (outer * inner_count + inner), a subset of outer fold's training set
  // group_by similarity only (common/similarity.hpp), else empty: each test row's highest
  // similarity to its fold's training part, aligned with outer_test.indices / inner_test.indices.
  std::vector<float> outer_similarity, inner_similarity;

  std::size_t outer_count() const { return outer_test.size(); }
  std::vector<std::uint32_t> outer_train(std::size_t outer) const;
  std::span<const std::uint32_t> inner_test_of(std::size_t outer, std::size_t inner) const;
  std::vector<std::uint32_t> inner_train(std::size_t outer, std::size_t inner) const;
  // The similarity values of outer fold `outer`'s test rows (inner >= 0: of that inner fold's);
  // empty when the plan has none.
  std::span<const float> test_similarity(std::size_t outer, int inner) const;
};

// `strata` (for stratify_by) and `groups` (for group_by) are per-sample labels, or empty.
// Throws SpecError when the plan is impossible (more folds than samples or groups).
ResamplingPlan make_resampling_plan(const ResamplingSpec& spec, std::size_t sample_count,
                                    const std::vector<std::string>& strata = {},
                                    const std::vector<std::string>& groups = {});

}  // namespace gridfold
