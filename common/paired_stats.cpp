#include "common/paired_stats.hpp"

#include <cmath>
#include <stdexcept>

namespace gridfold {
namespace {

// Continued fraction of the incomplete beta function (modified Lentz's method).
double beta_continued_fraction(double a, double b, double x) {
  constexpr double kTiny = 1e-300, kEpsilon = 1e-15;
  double c = 1.0, d = 1.0 - (a + b) * x / (a + 1.0);
  if (std::fabs(d) < kTiny) d = kTiny;
  d = 1.0 / d;
  double h = d;
  for (int m = 1; m <= 500; ++m) {
    const double m2 = 2.0 * m;
    double aa = m * (b - m) * x / ((a + m2 - 1.0) * (a + m2));
    d = 1.0 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1.0 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    h *= d * c;
    aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0));
    d = 1.0 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1.0 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    const double step = d * c;
    h *= step;
    if (std::fabs(step - 1.0) < kEpsilon) break;
  }
  return h;
}

// I_x(a, b), the regularized incomplete beta function.
double regularized_beta(double a, double b, double x) {
  if (x <= 0.0) return 0.0;
  if (x >= 1.0) return 1.0;
  const double front =
      std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x));
  if (x < (a + 1.0) / (a + b + 2.0)) return front * beta_continued_fraction(a, b, x) / a;
  return 1.0 - front * beta_continued_fraction(b, a, 1.0 - x) / b;
}

}  // namespace

double student_t_cdf(double t, double df) {
  if (std::isnan(t) || !(df > 0)) return std::nan("");
  if (std::isinf(t)) return t > 0 ? 1.0 : 0.0;
  const double tail = 0.5 * regularized_beta(df / 2.0, 0.5, df / (df + t * t));  // P(T > |t|)
  return t >= 0 ? 1.0 - tail : tail;
}

double student_t_quantile(double p, double df) {
  if (!(p > 0 && p < 1) || !(df > 0)) throw std::invalid_argument("student_t_quantile: p outside (0, 1) or df <= 0");
  // Bisection on the monotone CDF: 200 halvings of a bracket that grows until it holds p.
  double low = -1.0, high = 1.0;
  while (student_t_cdf(low, df) > p) low *= 2.0;
  while (student_t_cdf(high, df) < p) high *= 2.0;
  for (int i = 0; i < 200 && high - low > 1e-13 * std::max(1.0, std::fabs(high)); ++i) {
    const double mid = 0.5 * (low + high);
    (student_t_cdf(mid, df) < p ? low : high) = mid;
  }
  return 0.5 * (low + high);
}

PairedDifference corrected_paired_difference(std::span<const double> differences, double test_train_ratio,
                                             double confidence) {
  PairedDifference r;
  double sum = 0;
  for (double d : differences) {
    if (std::isnan(d)) continue;
    sum += d;
    ++r.folds;
  }
  if (r.folds == 0) return r;
  const auto n = static_cast<double>(r.folds);
  r.mean = sum / n;
  if (r.folds < 2) return r;
  double squares = 0;
  for (double d : differences) {
    if (!std::isnan(d)) squares += (d - r.mean) * (d - r.mean);
  }
  r.sd = std::sqrt(squares / (n - 1));
  r.se = std::sqrt((1.0 / n + test_train_ratio) * r.sd * r.sd);
  const double df = n - 1;
  if (r.se == 0) {
    r.t = r.mean == 0 ? PairedDifference::kNaN : std::copysign(INFINITY, r.mean);
    r.p_greater = r.mean > 0 ? 0.0 : 1.0;
    r.low = r.high = r.mean;
    return r;
  }
  r.t = r.mean / r.se;
  r.p_greater = 1.0 - student_t_cdf(r.t, df);
  const double half = student_t_quantile(0.5 + confidence / 2.0, df) * r.se;
  r.low = r.mean - half;
  r.high = r.mean + half;
  return r;
}

}  // namespace gridfold
