// The per-position classes of one target on a fold's test rows, true and predicted: what a
// fold result stores for a per_position target (docs/result-schema.md, /positions/<target>),
// so that harvest can score boundaries along the window.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace gridfold {

// A position without a label: past the end of its sequence, or a missing label.
inline constexpr std::uint8_t kNoLabel = 255;
// The label character of a position that is context only (a window's flank): the model reads
// its letter, but it is neither trained on nor scored.
inline constexpr char kUnlabelledPosition = '.';

struct PositionLabels {
  std::string target;
  // Name of each class index; class 0 is the background, every other class a kind of boundary.
  std::vector<std::string> classes;
  std::int64_t tolerance = 0;          // positions a predicted boundary may be off by (data.targets[].tolerance)
  std::size_t width = 0;               // positions per row: the longest sequence of the data
  std::vector<std::uint32_t> lengths;  // [row] the sequence's length
  std::vector<std::uint8_t> truth, prediction;  // [row][width], class indices or kNoLabel
  // [class] the probability a peak of the class had to reach to be predicted (the decision
  // rule of common/boundary_calls.hpp, thresholds chosen on the validation split); entry 0,
  // the background, is NaN. Empty in results made before the rule (argmax predictions).
  std::vector<double> thresholds;

  std::size_t rows() const { return lengths.size(); }
};

}  // namespace gridfold
