#include "common/search_space.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

namespace gridfold {
namespace {

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

std::uint64_t fnv1a(const std::string& text) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

// A uniform number in [0, 1) from (seed, sample, attempt, path), the same on every platform
// (the standard library's distributions are not).
double unit_draw(std::uint64_t seed, std::uint64_t sample, std::uint64_t attempt, const std::string& path) {
  const std::uint64_t x =
      splitmix64(splitmix64(splitmix64(seed) ^ sample) ^ (attempt * 0x632be59bd9b4e019ull)) ^ splitmix64(fnv1a(path));
  return static_cast<double>(splitmix64(x) >> 11) * 0x1.0p-53;
}

ParamValue draw(const Distribution& d, double u) {
  switch (d.kind) {
    case Distribution::Kind::uniform:
      return ParamValue{fmt::format("{:.4g}", d.low + u * (d.high - d.low)), {}};
    case Distribution::Kind::loguniform:
      return ParamValue{fmt::format("{:.4g}", std::exp(std::log(d.low) + u * (std::log(d.high) - std::log(d.low)))),
                        {}};
    case Distribution::Kind::integer: {
      const auto span = static_cast<long long>(d.high) - static_cast<long long>(d.low) + 1;
      const auto k = std::min(static_cast<long long>(u * static_cast<double>(span)), span - 1);
      return ParamValue{fmt::format("{}", static_cast<long long>(d.low) + k), {}};
    }
    case Distribution::Kind::choice: {
      const auto k =
          std::min(static_cast<std::size_t>(u * static_cast<double>(d.choices.size())), d.choices.size() - 1);
      return d.choices[k];
    }
  }
  throw std::logic_error("unknown distribution");
}

}  // namespace

GridAxis sample_search_space(const std::vector<SampledParam>& params, int samples, std::uint64_t seed) {
  constexpr int kAttempts = 1000;
  GridAxis axis;
  for (const auto& p : params) axis.paths.push_back(p.path);
  for (int i = 0; i < samples; ++i) {
    bool fresh = false;
    for (int attempt = 0; attempt < kAttempts && !fresh; ++attempt) {
      std::vector<ParamValue> row;
      for (const auto& p : params) row.push_back(draw(p.distribution, unit_draw(seed, i, attempt, p.path)));
      fresh = std::find(axis.values.begin(), axis.values.end(), row) == axis.values.end();
      if (fresh) axis.values.push_back(std::move(row));
    }
    if (!fresh) return {};
  }
  return axis;
}

}  // namespace gridfold
