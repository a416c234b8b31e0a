// Small in-memory datasets for the worker tests: random DNA with targets that a network can
// learn in a few seconds.
#pragma once

#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "common/dataset.hpp"
#include "common/spec.hpp"

namespace gridfold::test {

// Random sequences of 8..24 nt; target "gc" counts G and C, target "a_rich" is 1 when more
// than a quarter of the letters are A.
inline Dataset toy_dataset(std::size_t count, std::uint64_t seed = 7) {
  std::mt19937_64 rng(seed);
  Dataset d;
  d.target_names = {"gc", "a_rich"};
  d.targets.assign(2, {});
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t length = 8 + rng() % 17;
    std::string s;
    int gc = 0, a = 0;
    for (std::size_t p = 0; p < length; ++p) {
      const char letter = "ACGT"[rng() % 4];
      s.push_back(letter);
      gc += letter == 'G' || letter == 'C';
      a += letter == 'A';
    }
    d.ids.push_back("s" + std::to_string(i));
    d.sequences.push_back(s);
    d.targets[0].push_back(static_cast<float>(gc));
    d.targets[1].push_back(4 * a > static_cast<int>(length) ? 1.0f : 0.0f);
  }
  return d;
}

inline DataSpec toy_data_spec() {
  DataSpec spec;
  spec.path = "toy.csv";
  spec.targets = {{"gc", TaskType::regression, {}, 0.0, 1.0}, {"a_rich", TaskType::binary, {}, 0.0, 1.0}};
  return spec;
}

inline std::filesystem::path fresh_directory(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("gridfold-worker-tests-" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace gridfold::test
