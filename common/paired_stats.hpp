// Paired comparisons of two configurations over the folds both were scored on, for racing
// (common/race.hpp) and harvest's "indistinguishable from the best" (docs/harvest.md).
//
// The folds of a resampling plan overlap: two repeated-holdout training sets share most of
// their samples, so the fold differences are positively correlated and the plain paired t-test
// (variance s^2 / J) is far too confident. The corrected resampled t-test of Nadeau and Bengio
// (2003, "Inference for the generalization error") inflates the variance to
// (1/J + n_test/n_train) s^2, which accounts for that correlation under their model.
#pragma once

#include <cstddef>
#include <limits>
#include <span>

namespace gridfold {

// P(T <= t) for Student's t distribution with `df` > 0 degrees of freedom (regularized
// incomplete beta function; accurate to ~1e-12).
double student_t_cdf(double t, double df);
// The t with student_t_cdf(t, df) == p, for 0 < p < 1.
double student_t_quantile(double p, double df);

struct PairedDifference {
  static constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  std::size_t folds = 0;           // differences that were not NaN
  double mean = kNaN;              // mean difference
  double sd = kNaN;                // sample standard deviation of the differences
  double se = kNaN;                // corrected standard error sqrt((1/J + ratio) sd^2)
  double t = kNaN;                 // mean / se; +-inf when se is 0 and mean is not
  double p_greater = kNaN;         // one-sided p-value of "mean <= 0" (small: mean > 0)
  double low = kNaN, high = kNaN;  // two-sided confidence interval of the mean
};

// The corrected resampled t-test over `differences` (NaN entries are left out), with
// test_train_ratio = n_test / n_train of one fold (0 gives the plain paired t-test) and a
// `confidence` interval (0.95). Fewer than two differences give only `folds` and `mean`. When
// every difference is equal, se is 0: t is +-inf (p 0 or 1) for a non-zero mean and NaN with
// p_greater 1 for a zero one, so identical configs are never told apart.
PairedDifference corrected_paired_difference(std::span<const double> differences, double test_train_ratio,
                                             double confidence);

}  // namespace gridfold
