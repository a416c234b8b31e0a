// Boundary detection scored along sequences, per boundary class and per bin of positions: the
// counts behind a per_position target's F1 with a tolerance (its metrics in each fold result,
// and harvest's F1 along the window). Class 0 is the background; a predicted position of class
// c is a hit when it is matched one-to-one (match_boundaries, metrics.hpp) with a true position
// of class c at most `tolerance` positions away. Positions without a true label are not scored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/metrics.hpp"
#include "common/position_labels.hpp"

namespace gridfold {

struct BoundaryCounts {
  std::uint64_t positions = 0;             // scored positions
  std::uint64_t truth = 0, predicted = 0;  // true and predicted boundaries
  std::uint64_t matched_truth = 0, matched_predicted = 0;
  BoundaryCounts& operator+=(const BoundaryCounts& o);
};

// precision = matched_predicted / predicted, recall = matched_truth / truth, and
// f1 = (matched_truth + matched_predicted) / (truth + predicted), which over whole sequences
// is the usual 2 matches / (truth + predicted) and stays defined in a bin where only one of
// precision and recall is; each NaN when its denominator is 0. density = truth per 1000
// positions.
MetricValues boundary_scores(const BoundaryCounts& c);

class BoundaryTally {
 public:
  // Bin b holds positions [b * bin_width, (b + 1) * bin_width); classes 1 .. classes - 1 are
  // tallied. The bins grow with the longest sequence added.
  BoundaryTally(std::size_t classes, std::size_t tolerance, std::size_t bin_width);

  // Every row of `labels`; throws std::invalid_argument for a class index >= classes.
  void add(const PositionLabels& labels);

  std::size_t bin_width() const { return bin_width_; }
  std::size_t bins() const { return counts_.empty() ? 0 : counts_.front().size(); }
  // counts()[c - 1][b]: class c in bin b.
  const std::vector<std::vector<BoundaryCounts>>& counts() const { return counts_; }
  // Class c over all bins; c == 0 sums every boundary class.
  BoundaryCounts total(std::size_t c) const;

 private:
  std::size_t tolerance_, bin_width_;
  std::vector<std::vector<BoundaryCounts>> counts_;
};

// A fold's metrics of a per_position target, on top of those over single positions:
// precision, recall and f1 over every boundary class, and with several boundary classes the
// same per class, named precision_<class>, recall_<class>, f1_<class>.
MetricValues boundary_metrics(const PositionLabels& labels);

}  // namespace gridfold
