#include "common/boundary_tally.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace gridfold {
namespace {

double ratio(std::uint64_t numerator, std::uint64_t denominator) {
  return denominator == 0 ? std::numeric_limits<double>::quiet_NaN()
                          : static_cast<double>(numerator) / static_cast<double>(denominator);
}

}  // namespace

BoundaryCounts& BoundaryCounts::operator+=(const BoundaryCounts& o) {
  positions += o.positions;
  truth += o.truth;
  predicted += o.predicted;
  matched_truth += o.matched_truth;
  matched_predicted += o.matched_predicted;
  return *this;
}

MetricValues boundary_scores(const BoundaryCounts& c) {
  return {{"precision", ratio(c.matched_predicted, c.predicted)},
          {"recall", ratio(c.matched_truth, c.truth)},
          {"f1", ratio(c.matched_truth + c.matched_predicted, c.truth + c.predicted)},
          {"density", 1000.0 * ratio(c.truth, c.positions)}};
}

BoundaryTally::BoundaryTally(std::size_t classes, std::size_t tolerance, std::size_t bin_width)
    : tolerance_(tolerance), bin_width_(bin_width) {
  if (classes < 2)
    throw std::invalid_argument(
        fmt::format("boundary classes need a background and a boundary class, got {}", classes));
  if (bin_width == 0) throw std::invalid_argument("bins of boundary counts need a width of at least one position");
  counts_.resize(classes - 1);
}

void BoundaryTally::add(const PositionLabels& labels) {
  if (labels.truth.size() != labels.rows() * labels.width || labels.prediction.size() != labels.truth.size()) {
    throw std::invalid_argument(
        fmt::format("per-position labels of '{}': {} true and {} predicted values for {} rows x {} positions",
                    labels.target, labels.truth.size(), labels.prediction.size(), labels.rows(), labels.width));
  }
  const std::size_t classes = counts_.size() + 1;
  const std::size_t bins = (labels.width + bin_width_ - 1) / bin_width_;
  for (auto& per_class : counts_) {
    if (per_class.size() < bins) per_class.resize(bins);
  }
  std::vector<std::uint8_t> truth, predicted;
  for (std::size_t row = 0; row < labels.rows(); ++row) {
    const std::size_t length = std::min<std::size_t>(labels.lengths[row], labels.width);
    const std::uint8_t* t = labels.truth.data() + row * labels.width;
    const std::uint8_t* p = labels.prediction.data() + row * labels.width;
    for (std::size_t i = 0; i < length; ++i) {
      if (t[i] == kNoLabel) continue;
      if (t[i] >= classes || (p[i] >= classes && p[i] != kNoLabel)) {
        throw std::invalid_argument(
            fmt::format("per-position labels of '{}': class {} at row {} position {}; "
                        "the target has {} classes",
                        labels.target, t[i] >= classes ? t[i] : p[i], row, i, classes));
      }
      for (auto& per_class : counts_) ++per_class[i / bin_width_].positions;
    }
    for (std::size_t c = 1; c < classes; ++c) {
      truth.assign(length, 0);
      predicted.assign(length, 0);
      for (std::size_t i = 0; i < length; ++i) {
        if (t[i] == kNoLabel) continue;
        truth[i] = t[i] == c;
        predicted[i] = p[i] == c;
      }
      const BoundaryMatching m = match_boundaries(truth, predicted, tolerance_);
      std::vector<BoundaryCounts>& bins_of_class = counts_[c - 1];
      for (std::size_t k = 0; k < m.truth.size(); ++k) {
        BoundaryCounts& bin = bins_of_class[m.truth[k] / bin_width_];
        ++bin.truth;
        bin.matched_truth += m.truth_matched[k];
      }
      for (std::size_t k = 0; k < m.predicted.size(); ++k) {
        BoundaryCounts& bin = bins_of_class[m.predicted[k] / bin_width_];
        ++bin.predicted;
        bin.matched_predicted += m.predicted_matched[k];
      }
    }
  }
}

BoundaryCounts BoundaryTally::total(std::size_t c) const {
  BoundaryCounts sum;
  for (std::size_t k = 0; k < counts_.size(); ++k) {
    if (c != 0 && k + 1 != c) continue;
    for (const BoundaryCounts& bin : counts_[k]) sum += bin;
  }
  // Every class counts the same positions; a sum over classes counts them once.
  if (c == 0 && !counts_.empty()) {
    sum.positions = 0;
    for (const BoundaryCounts& bin : counts_.front()) sum.positions += bin.positions;
  }
  return sum;
}

MetricValues boundary_metrics(const PositionLabels& labels) {
  BoundaryTally tally(labels.classes.size(), static_cast<std::size_t>(labels.tolerance),
                      std::max<std::size_t>(labels.width, 1));
  tally.add(labels);
  MetricValues out;
  const auto take = [&out](const BoundaryCounts& counts, const std::string& suffix) {
    const MetricValues scores = boundary_scores(counts);
    for (const char* name : {"precision", "recall", "f1"}) out[name + suffix] = scores.at(name);
  };
  take(tally.total(0), "");
  if (labels.classes.size() > 2) {
    for (std::size_t c = 1; c < labels.classes.size(); ++c) take(tally.total(c), "_" + labels.classes[c]);
  }
  return out;
}

}  // namespace gridfold
