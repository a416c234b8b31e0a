// Sampled search spaces (search.samples, docs/spec.md): configs drawn from distributions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/spec.hpp"

namespace gridfold {

// A parameter of a sampled search space.
struct Distribution {
  enum class Kind { uniform, loguniform, integer, choice };
  Kind kind = Kind::choice;
  double low = 0, high = 0;         // uniform, loguniform (low > 0), integer (both inclusive)
  std::vector<ParamValue> choices;  // choice: a list in the grid is a choice too
};

struct SampledParam {
  std::string path;
  Distribution distribution;
};

// The drawn configs as one zip axis over `params` (in their order) with `samples` steps.
// Sample i is a pure function of (seed, i, path) and of the samples before it (a draw that
// repeats an earlier sample's values is drawn again), never of `samples`: raising `samples`
// keeps the configs (and ids) drawn before. Numbers are
// written with 4 significant digits, integers exactly. Returns nothing (an empty axis) when the
// space holds fewer than `samples` distinct combinations; the caller reports it.
GridAxis sample_search_space(const std::vector<SampledParam>& params, int samples, std::uint64_t seed);

}  // namespace gridfold
