#include "common/resampling.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <random>

#include <fmt/format.h>

namespace gridfold {

std::span<const std::uint32_t> IndexSets::operator[](std::size_t i) const {
  return {indices.data() + offsets[i], indices.data() + offsets[i + 1]};
}

void IndexSets::push_back(std::span<const std::uint32_t> sorted_set) {
  indices.insert(indices.end(), sorted_set.begin(), sorted_set.end());
  offsets.push_back(indices.size());
}

namespace {

// Complement of a sorted subset within a sorted universe.
std::vector<std::uint32_t> difference(std::span<const std::uint32_t> universe, std::span<const std::uint32_t> remove) {
  std::vector<std::uint32_t> out;
  out.reserve(universe.size() - std::min(universe.size(), remove.size()));
  std::set_difference(universe.begin(), universe.end(), remove.begin(), remove.end(), std::back_inserter(out));
  return out;
}

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Shuffles with mt19937_64 and an unbiased bounded draw written out here, because
// std::shuffle and std::uniform_int_distribution differ between standard libraries and the
// plan must be the same wherever it is made.
class Shuffler {
 public:
  explicit Shuffler(std::uint64_t seed) : rng_(seed) {}
  std::uint64_t below(std::uint64_t n) {
    const std::uint64_t limit =
        std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % n;
    std::uint64_t x;
    do x = rng_();
    while (x >= limit);
    return x % n;
  }
  template <typename T>
  void shuffle(std::vector<T>& v) {
    for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(i)]);
  }

 private:
  std::mt19937_64 rng_;
};

// Samples of the population grouped by a label, groups in order of first appearance.
std::vector<std::vector<std::uint32_t>> partition_by(std::span<const std::uint32_t> population,
                                                     const std::vector<std::string>& labels) {
  std::map<std::string_view, std::size_t> slot;
  std::vector<std::vector<std::uint32_t>> parts;
  for (std::uint32_t i : population) {
    auto [it, inserted] = slot.emplace(labels[i], parts.size());
    if (inserted) parts.emplace_back();
    parts[it->second].push_back(i);
  }
  return parts;
}

struct Labels {
  const std::vector<std::string>& strata;
  const std::vector<std::string>& groups;
};

// k test folds over the population; every member lands in exactly one.
std::vector<std::vector<std::uint32_t>> kfold(std::span<const std::uint32_t> population, int k, Shuffler& rng,
                                              const Labels& labels, const std::string& what) {
  std::vector<std::vector<std::uint32_t>> folds(k);
  if (!labels.groups.empty()) {
    auto groups = partition_by(population, labels.groups);
    if (groups.size() < static_cast<std::size_t>(k)) {
      throw SpecError(fmt::format("{}: k = {} folds but only {} groups to put in them", what, k, groups.size()));
    }
    rng.shuffle(groups);
    // Largest groups first onto the emptiest fold keeps fold sizes even without splitting a group.
    std::stable_sort(groups.begin(), groups.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
    for (auto& g : groups) {
      auto smallest = std::min_element(folds.begin(), folds.end(),
                                       [](const auto& a, const auto& b) { return a.size() < b.size(); });
      smallest->insert(smallest->end(), g.begin(), g.end());
    }
  } else {
    if (population.size() < static_cast<std::size_t>(k)) {
      throw SpecError(fmt::format("{}: k = {} folds but only {} samples", what, k, population.size()));
    }
    auto strata = labels.strata.empty()
                      ? std::vector<std::vector<std::uint32_t>>{{population.begin(), population.end()}}
                      : partition_by(population, labels.strata);
    // Dealing each shuffled stratum round-robin, continuing where the last stratum stopped,
    // puts n_c/k (+-1) of every class in each fold and keeps fold sizes within one.
    std::size_t next = 0;
    for (auto& stratum : strata) {
      rng.shuffle(stratum);
      for (std::uint32_t i : stratum) folds[next++ % k].push_back(i);
    }
  }
  for (auto& f : folds) std::sort(f.begin(), f.end());
  return folds;
}

std::size_t rounded_share(std::size_t count, double fraction) {
  return static_cast<std::size_t>(std::llround(static_cast<double>(count) * fraction));
}

// One random test set of about test_fraction of the population.
std::vector<std::uint32_t> holdout(std::span<const std::uint32_t> population, double test_fraction, Shuffler& rng,
                                   const Labels& labels, const std::string& what) {
  const std::size_t target =
      std::clamp<std::size_t>(rounded_share(population.size(), test_fraction), 1, population.size() - 1);
  if (population.size() < 2) throw SpecError(fmt::format("{}: a holdout split needs at least 2 samples", what));
  std::vector<std::uint32_t> test;
  if (!labels.groups.empty()) {
    auto groups = partition_by(population, labels.groups);
    if (groups.size() < 2) throw SpecError(fmt::format("{}: a grouped holdout split needs at least 2 groups", what));
    rng.shuffle(groups);
    for (std::size_t g = 0; g + 1 < groups.size() && test.size() < target; ++g) {
      test.insert(test.end(), groups[g].begin(), groups[g].end());
    }
  } else if (!labels.strata.empty()) {
    for (auto& stratum : partition_by(population, labels.strata)) {
      rng.shuffle(stratum);
      const std::size_t take = rounded_share(stratum.size(), test_fraction);
      test.insert(test.end(), stratum.begin(), stratum.begin() + static_cast<std::ptrdiff_t>(take));
    }
    if (test.empty()) test.push_back(population[rng.below(population.size())]);
  } else {
    std::vector<std::uint32_t> order(population.begin(), population.end());
    rng.shuffle(order);
    test.assign(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(target));
  }
  std::sort(test.begin(), test.end());
  return test;
}

IndexSets test_sets(const FoldScheme& scheme, std::span<const std::uint32_t> population, std::uint64_t seed,
                    const Labels& labels, const std::string& what) {
  IndexSets sets;
  if (scheme.kind == FoldScheme::Kind::kfold) {
    Shuffler rng(seed);
    for (const auto& fold : kfold(population, scheme.k, rng, labels, what)) sets.push_back(fold);
  } else {
    for (int r = 0; r < scheme.n; ++r) {
      Shuffler rng(splitmix64(seed ^ splitmix64(static_cast<std::uint64_t>(r) + 1)));
      sets.push_back(holdout(population, scheme.test_fraction, rng, labels, what));
    }
  }
  return sets;
}

void check_labels(const std::vector<std::string>& labels, std::size_t n, const char* what) {
  if (!labels.empty() && labels.size() != n) {
    throw std::invalid_argument(fmt::format("{} has {} labels for {} samples", what, labels.size(), n));
  }
}

}  // namespace

std::vector<std::uint32_t> ResamplingPlan::outer_train(std::size_t outer) const {
  std::vector<std::uint32_t> all(sample_count);
  std::iota(all.begin(), all.end(), 0u);
  return difference(all, outer_test[outer]);
}

std::span<const std::uint32_t> ResamplingPlan::inner_test_of(std::size_t outer, std::size_t inner) const {
  return inner_test[outer * static_cast<std::size_t>(inner_count) + inner];
}

std::vector<std::uint32_t> ResamplingPlan::inner_train(std::size_t outer, std::size_t inner) const {
  return difference(outer_train(outer), inner_test_of(outer, inner));
}

std::span<const float> ResamplingPlan::test_similarity(std::size_t outer, int inner) const {
  if (inner < 0) {
    if (outer_similarity.empty()) return {};
    return {outer_similarity.data() + outer_test.offsets[outer], outer_test[outer].size()};
  }
  if (inner_similarity.empty()) return {};
  const std::size_t set = outer * static_cast<std::size_t>(inner_count) + static_cast<std::size_t>(inner);
  return {inner_similarity.data() + inner_test.offsets[set], inner_test[set].size()};
}

ResamplingPlan make_resampling_plan(const ResamplingSpec& spec, std::size_t sample_count,
                                    const std::vector<std::string>& strata, const std::vector<std::string>& groups) {
  check_labels(strata, sample_count, "stratify_by");
  check_labels(groups, sample_count, "group_by");
  if (!strata.empty() && !groups.empty()) {
    throw SpecError(
        "resampling: stratify_by and group_by together are not supported; grouped folds are "
        "balanced by size only, so choose one of them");
  }
  if (sample_count > std::numeric_limits<std::uint32_t>::max()) {
    throw SpecError(fmt::format("resampling: {} samples exceed the 2^32 a plan can index", sample_count));
  }
  const Labels labels{strata, groups};
  ResamplingPlan plan;
  plan.sample_count = sample_count;
  std::vector<std::uint32_t> all(sample_count);
  std::iota(all.begin(), all.end(), 0u);
  plan.outer_test = test_sets(spec.outer, all, spec.seed, labels, "resampling.outer");
  if (spec.inner) {
    plan.inner_count = spec.inner->count();
    for (std::size_t f = 0; f < plan.outer_count(); ++f) {
      const auto train = plan.outer_train(f);
      const std::uint64_t seed = splitmix64(spec.seed ^ splitmix64(0x1000000ull + f));
      const IndexSets inner =
          test_sets(*spec.inner, train, seed, labels, fmt::format("resampling.inner (outer fold {})", f));
      for (std::size_t j = 0; j < inner.size(); ++j) plan.inner_test.push_back(inner[j]);
    }
  }
  return plan;
}

}  // namespace gridfold
