#include "worker/seeding.hpp"

#include <utility>

namespace gridfold::worker {
namespace {

template <typename T>
void fisher_yates(std::span<T> values, std::mt19937_64& rng) {
  for (std::size_t i = values.size(); i > 1; --i) std::swap(values[i - 1], values[rng() % i]);
}

}  // namespace

std::uint64_t derive_seed(std::uint64_t seed, SeedStream stream) {
  std::uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (static_cast<std::uint64_t>(stream) + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void shuffle_in_place(std::span<std::uint32_t> values, std::mt19937_64& rng) {
  fisher_yates(values, rng);
}

void shuffle_in_place(std::span<std::int64_t> values, std::mt19937_64& rng) {
  fisher_yates(values, rng);
}

}  // namespace gridfold::worker
