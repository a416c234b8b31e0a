#include "orchestrator/report/classification_curves.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

namespace gridfold {
namespace {

// (score, truth) of the samples with a truth, highest score first.
std::vector<std::pair<double, bool>> ranked(std::span<const double> truth, std::span<const double> score) {
  std::vector<std::pair<double, bool>> out;
  for (std::size_t i = 0; i < truth.size() && i < score.size(); ++i) {
    if (std::isnan(truth[i]) || std::isnan(score[i])) continue;
    out.emplace_back(score[i], truth[i] > 0.5);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  return out;
}

// Calls step(true positives, false positives) after each group of tied scores.
template <typename Step>
void sweep_thresholds(const std::vector<std::pair<double, bool>>& samples, Step step) {
  std::size_t tp = 0, fp = 0;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    (samples[i].second ? tp : fp) += 1;
    if (i + 1 == samples.size() || samples[i + 1].first != samples[i].first) step(tp, fp);
  }
}

}  // namespace

std::vector<CurvePoint> roc_curve(std::span<const double> truth, std::span<const double> score) {
  const auto samples = ranked(truth, score);
  const auto positives =
      static_cast<std::size_t>(std::count_if(samples.begin(), samples.end(), [](const auto& s) { return s.second; }));
  const std::size_t negatives = samples.size() - positives;
  if (positives == 0 || negatives == 0) return {};
  std::vector<CurvePoint> curve{{0, 0}};
  sweep_thresholds(samples, [&](std::size_t tp, std::size_t fp) {
    curve.push_back({static_cast<double>(fp) / negatives, static_cast<double>(tp) / positives});
  });
  return curve;
}

std::vector<CurvePoint> precision_recall_curve(std::span<const double> truth, std::span<const double> score) {
  const auto samples = ranked(truth, score);
  const auto positives =
      static_cast<std::size_t>(std::count_if(samples.begin(), samples.end(), [](const auto& s) { return s.second; }));
  if (positives == 0) return {};
  std::vector<CurvePoint> curve;
  sweep_thresholds(samples, [&](std::size_t tp, std::size_t fp) {
    // Lower thresholds only add false positives once recall is complete.
    if (!curve.empty() && curve.back().x == 1.0) return;
    curve.push_back({static_cast<double>(tp) / positives, static_cast<double>(tp) / (tp + fp)});
  });
  return curve;
}

double area_under(std::span<const CurvePoint> curve) {
  double area = 0;
  for (std::size_t i = 1; i < curve.size(); ++i) {
    area += (curve[i].x - curve[i - 1].x) * (curve[i].y + curve[i - 1].y) / 2;
  }
  return area;
}

std::vector<std::vector<std::size_t>> confusion_matrix(std::span<const double> truth, std::span<const double> predicted,
                                                       std::size_t classes) {
  std::vector<std::vector<std::size_t>> counts(classes, std::vector<std::size_t>(classes, 0));
  const auto as_class = [classes](double v) -> std::ptrdiff_t {
    if (std::isnan(v)) return -1;
    const double r = std::round(v);
    return r >= 0 && r < static_cast<double>(classes) ? static_cast<std::ptrdiff_t>(r) : -1;
  };
  for (std::size_t i = 0; i < truth.size() && i < predicted.size(); ++i) {
    const auto t = as_class(truth[i]), p = as_class(predicted[i]);
    if (t >= 0 && p >= 0) ++counts[static_cast<std::size_t>(t)][static_cast<std::size_t>(p)];
  }
  return counts;
}

}  // namespace gridfold
