// The decision rule of per_position targets: from each position's class probabilities to
// boundary calls. A boundary of class c is called at the peaks of its probability: positions
// where it reaches the class's threshold and no stronger position of the class was called
// within the target's tolerance (greedy non-maximum suppression, strongest first), so one
// site gives one call however wide the model's bump of probability around it. A 0.5 cut on
// each position instead calls a site two or three times, and at a rare class's calibration
// no fixed cut suits every model: the thresholds are chosen per class on the validation
// split, to maximise that class's boundary F1 (choose_threshold), and stored with the fold
// result and the model file so that `gridfold predict` calls as the scores were measured.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace gridfold {

// The threshold of a class whose validation split holds no boundary of it (or no split):
// the plain majority cut.
inline constexpr double kDefaultBoundaryThreshold = 0.5;

// The peaks of one class's probability along one sequence, ascending: positions whose
// probability is >= threshold, taken strongest first (at equal probability the earlier one),
// each suppressing every position within `tolerance` of it.
std::vector<std::size_t> call_peaks(std::span<const float> probability, double threshold, std::size_t tolerance);

// One sequence's predicted class at every position. `probability` is [classes][length]
// row-major (class 0 is the background and is not called), `thresholds` has one entry per
// class (entry 0 unused). Every position is 0 except the peaks of each boundary class; where
// two classes call the same position, the more probable one (the lower class at a tie) wins.
// Throws std::invalid_argument when the sizes disagree.
void call_boundaries(std::span<const float> probability, std::size_t classes, std::span<const double> thresholds,
                     std::size_t tolerance, std::span<std::uint8_t> out);

// One boundary class's probability and true class indices along each of a split's sequences
// (as long as each other; kNoLabel positions are not scored).
struct ClassEvidence {
  std::vector<std::span<const float>> probability;
  std::vector<std::span<const std::uint8_t>> truth;
};

struct ThresholdChoice {
  double threshold = kDefaultBoundaryThreshold;
  double f1 = 0.0;  // the class's boundary F1 on the evidence at that threshold; NaN without true boundaries
};

// The threshold that maximises the boundary F1 of class `boundary_class` (calls matched
// one-to-one within `tolerance`, as in the fold's metrics) over the evidence: tried at the
// probability of every peak above 0.001, or at 256 quantiles of them when there are more; at
// equal F1 the higher threshold (fewer calls). kDefaultBoundaryThreshold when the evidence has
// no true boundary of the class.
ThresholdChoice choose_threshold(const ClassEvidence& evidence, std::uint8_t boundary_class, std::size_t tolerance);

}  // namespace gridfold
