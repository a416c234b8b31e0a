// ROC and precision-recall curves and confusion matrices from pooled test-set predictions,
// for the report's classification plots. Samples whose truth is NaN are left out.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace gridfold {

struct CurvePoint {
  double x = 0, y = 0;
};

// truth 0/1, score = predicted probability of class 1. One point per distinct score (tied
// scores move together, so the area under the curve counts ties one half, as
// binary_metrics' auroc does), from (0, 0) to (1, 1): x = false positive rate, y = true
// positive rate. Empty without both classes.
std::vector<CurvePoint> roc_curve(std::span<const double> truth, std::span<const double> score);

// x = recall, y = precision, one point per distinct score in decreasing order of score, up
// to the first threshold that reaches full recall. Empty without a positive sample.
std::vector<CurvePoint> precision_recall_curve(std::span<const double> truth, std::span<const double> score);

// Area under a curve by the trapezoid rule, in the order of its points.
double area_under(std::span<const CurvePoint> curve);

// counts[t][p]: samples of true class t predicted as class p. Values are class indices;
// predictions outside [0, classes) are left out.
std::vector<std::vector<std::size_t>> confusion_matrix(std::span<const double> truth, std::span<const double> predicted,
                                                       std::size_t classes);

}  // namespace gridfold
