#include "common/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

namespace gridfold {
namespace {

constexpr double kUndefined = std::numeric_limits<double>::quiet_NaN();

// The samples whose truth is known, as parallel arrays.
struct KnownPairs {
  std::vector<double> truth, prediction;
  // A NaN prediction for a known truth (a diverged model) makes every metric NaN, so that
  // such a model can never rank well.
  bool any_prediction_missing = false;
  std::size_t size() const { return truth.size(); }
};

KnownPairs known_pairs(std::span<const double> truth, std::span<const double> prediction) {
  if (truth.size() != prediction.size()) {
    throw std::invalid_argument(fmt::format("metrics need one prediction per truth, got {} truths and {} predictions",
                                            truth.size(), prediction.size()));
  }
  KnownPairs pairs;
  for (std::size_t i = 0; i < truth.size(); ++i) {
    if (std::isnan(truth[i])) continue;
    pairs.truth.push_back(truth[i]);
    pairs.prediction.push_back(prediction[i]);
    pairs.any_prediction_missing = pairs.any_prediction_missing || std::isnan(prediction[i]);
  }
  return pairs;
}

MetricValues all_undefined(std::initializer_list<const char*> names, std::size_t n) {
  MetricValues values{{"n", static_cast<double>(n)}};
  for (const char* name : names) values[name] = kUndefined;
  return values;
}

double ratio(double numerator, double denominator) {
  return denominator == 0.0 ? kUndefined : numerator / denominator;
}

double mean(const std::vector<double>& values) {
  return ratio(std::accumulate(values.begin(), values.end(), 0.0), static_cast<double>(values.size()));
}

double pearson(const std::vector<double>& x, const std::vector<double>& y) {
  const double mean_x = mean(x), mean_y = mean(y);
  double cross = 0.0, spread_x = 0.0, spread_y = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    cross += (x[i] - mean_x) * (y[i] - mean_y);
    spread_x += (x[i] - mean_x) * (x[i] - mean_x);
    spread_y += (y[i] - mean_y) * (y[i] - mean_y);
  }
  return ratio(cross, std::sqrt(spread_x * spread_y));
}

// 1-based ranks; tied values share the average of the ranks they span.
std::vector<double> average_ranks(const std::vector<double>& values) {
  std::vector<std::size_t> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return values[a] < values[b]; });
  std::vector<double> ranks(values.size());
  for (std::size_t start = 0; start < order.size();) {
    std::size_t end = start;
    while (end < order.size() && values[order[end]] == values[order[start]]) ++end;
    const double rank = (static_cast<double>(start + 1) + static_cast<double>(end)) / 2.0;
    for (std::size_t i = start; i < end; ++i) ranks[order[i]] = rank;
    start = end;
  }
  return ranks;
}

// --- binary -------------------------------------------------------------------------------

void require_binary_truth(const std::vector<double>& truth) {
  for (const double value : truth) {
    if (value != 0.0 && value != 1.0) {
      throw std::invalid_argument(fmt::format("binary truth must be 0 or 1, got {}", value));
    }
  }
}

double count_positives(const std::vector<double>& truth) {
  return static_cast<double>(std::count(truth.begin(), truth.end(), 1.0));
}

// Mann-Whitney U of the positives' score ranks, scaled to [0, 1]; a tie counts one half.
double auroc(const KnownPairs& pairs) {
  const double positives = count_positives(pairs.truth);
  const double negatives = static_cast<double>(pairs.size()) - positives;
  if (positives == 0.0 || negatives == 0.0) return kUndefined;
  const std::vector<double> ranks = average_ranks(pairs.prediction);
  double positive_rank_sum = 0.0;
  for (std::size_t i = 0; i < ranks.size(); ++i) {
    if (pairs.truth[i] == 1.0) positive_rank_sum += ranks[i];
  }
  return (positive_rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives);
}

// Average precision as scikit-learn defines it: sum over distinct score thresholds, from
// the highest, of (recall gained) x (precision at that threshold); tied scores step together.
double average_precision(const KnownPairs& pairs) {
  const double positives = count_positives(pairs.truth);
  if (positives == 0.0) return kUndefined;
  std::vector<std::size_t> order(pairs.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return pairs.prediction[a] > pairs.prediction[b]; });
  double true_positives = 0.0, predicted = 0.0, recall_before = 0.0, precision_sum = 0.0;
  for (std::size_t start = 0; start < order.size();) {
    std::size_t end = start;
    for (; end < order.size() && pairs.prediction[order[end]] == pairs.prediction[order[start]]; ++end) {
      true_positives += pairs.truth[order[end]];
      predicted += 1.0;
    }
    const double recall = true_positives / positives;
    precision_sum += (recall - recall_before) * (true_positives / predicted);
    recall_before = recall;
    start = end;
  }
  return precision_sum;
}

// --- multiclass ---------------------------------------------------------------------------

std::size_t class_index(double value, std::size_t classes, const char* role) {
  if (!(value >= 0.0 && value < static_cast<double>(classes) && value == std::floor(value))) {
    throw std::invalid_argument(
        fmt::format("multiclass {} must be a class index in [0, {}), got {}", role, classes, value));
  }
  return static_cast<std::size_t>(value);
}

// confusion[truth * classes + prediction] = count
std::vector<double> confusion_matrix(const KnownPairs& pairs, std::size_t classes) {
  std::vector<double> confusion(classes * classes, 0.0);
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    confusion[class_index(pairs.truth[i], classes, "truth") * classes +
              class_index(pairs.prediction[i], classes, "prediction")] += 1.0;
  }
  return confusion;
}

// --- positional ---------------------------------------------------------------------------

std::vector<std::size_t> positive_positions(std::span<const std::uint8_t> flags) {
  std::vector<std::size_t> positions;
  for (std::size_t i = 0; i < flags.size(); ++i) {
    if (flags[i] != 0) positions.push_back(i);
  }
  return positions;
}

std::size_t distance(std::size_t a, std::size_t b) {
  return a > b ? a - b : b - a;
}

}  // namespace

// Predicted positives, left to right, each take the nearest unmatched true positive within
// `tolerance`; at equal distance the earlier one, a fixed rule so that scores reproduce.
BoundaryMatching match_positions(std::vector<std::size_t> truth, std::vector<std::size_t> predicted,
                                 std::size_t tolerance) {
  BoundaryMatching m;
  m.truth = std::move(truth);
  m.predicted = std::move(predicted);
  m.truth_matched.assign(m.truth.size(), false);
  m.predicted_matched.assign(m.predicted.size(), false);
  for (std::size_t p = 0; p < m.predicted.size(); ++p) {
    const std::size_t position = m.predicted[p];
    const std::size_t lowest = position > tolerance ? position - tolerance : 0;
    std::size_t best = m.truth.size();
    // Every candidate from `lowest` on is at or after position - tolerance, so the scan
    // stops at the first one too far to the right.
    for (auto candidate = std::lower_bound(m.truth.begin(), m.truth.end(), lowest);
         candidate != m.truth.end() && distance(*candidate, position) <= tolerance; ++candidate) {
      const auto index = static_cast<std::size_t>(candidate - m.truth.begin());
      if (m.truth_matched[index]) continue;
      if (best == m.truth.size() || distance(*candidate, position) < distance(m.truth[best], position)) best = index;
    }
    if (best == m.truth.size()) continue;
    m.truth_matched[best] = true;
    m.predicted_matched[p] = true;
  }
  return m;
}

BoundaryMatching match_boundaries(std::span<const std::uint8_t> truth, std::span<const std::uint8_t> predicted,
                                  std::size_t tolerance) {
  return match_positions(positive_positions(truth), positive_positions(predicted), tolerance);
}

MetricValues regression_metrics(std::span<const double> truth, std::span<const double> prediction) {
  const KnownPairs pairs = known_pairs(truth, prediction);
  if (pairs.any_prediction_missing) {
    return all_undefined({"r2", "rmse", "mae", "pearson", "spearman"}, pairs.size());
  }
  const double truth_mean = mean(pairs.truth);
  double squared_error = 0.0, absolute_error = 0.0, truth_spread = 0.0;
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    const double error = pairs.truth[i] - pairs.prediction[i];
    squared_error += error * error;
    absolute_error += std::abs(error);
    truth_spread += (pairs.truth[i] - truth_mean) * (pairs.truth[i] - truth_mean);
  }
  const auto n = static_cast<double>(pairs.size());
  return {
      {"r2", 1.0 - ratio(squared_error, truth_spread)},
      {"rmse", std::sqrt(ratio(squared_error, n))},
      {"mae", ratio(absolute_error, n)},
      {"pearson", pearson(pairs.truth, pairs.prediction)},
      {"spearman", pearson(average_ranks(pairs.truth), average_ranks(pairs.prediction))},
      {"n", n},
  };
}

MetricValues binary_metrics(std::span<const double> truth, std::span<const double> score, double threshold) {
  const KnownPairs pairs = known_pairs(truth, score);
  require_binary_truth(pairs.truth);
  if (pairs.any_prediction_missing) {
    return all_undefined({"accuracy", "f1", "mcc", "auroc", "auprc"}, pairs.size());
  }
  double tp = 0.0, fp = 0.0, tn = 0.0, fn = 0.0;
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    const bool called_positive = pairs.prediction[i] >= threshold;
    if (pairs.truth[i] == 1.0) {
      (called_positive ? tp : fn) += 1.0;
    } else {
      (called_positive ? fp : tn) += 1.0;
    }
  }
  // F1 and MCC are NaN where scikit-learn substitutes 0 (no positives at all; a constant
  // call or truth): the value is undefined, and a made-up 0 would rank as a real result.
  return {
      {"accuracy", ratio(tp + tn, static_cast<double>(pairs.size()))},
      {"f1", ratio(2.0 * tp, 2.0 * tp + fp + fn)},
      {"mcc", ratio(tp * tn - fp * fn, std::sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)))},
      {"auroc", auroc(pairs)},
      {"auprc", average_precision(pairs)},
      {"n", static_cast<double>(pairs.size())},
  };
}

MetricValues multiclass_metrics(std::span<const double> truth, std::span<const double> prediction,
                                std::size_t classes) {
  const KnownPairs pairs = known_pairs(truth, prediction);
  if (pairs.any_prediction_missing) return all_undefined({"accuracy", "macro_f1", "mcc"}, pairs.size());
  const std::vector<double> confusion = confusion_matrix(pairs, classes);
  std::vector<double> true_count(classes, 0.0), predicted_count(classes, 0.0);
  double correct = 0.0;
  for (std::size_t t = 0; t < classes; ++t) {
    for (std::size_t p = 0; p < classes; ++p) {
      true_count[t] += confusion[t * classes + p];
      predicted_count[p] += confusion[t * classes + p];
    }
    correct += confusion[t * classes + t];
  }
  // Macro F1 averages over the classes present in truth or prediction, as scikit-learn does.
  double f1_sum = 0.0, classes_present = 0.0;
  for (std::size_t k = 0; k < classes; ++k) {
    if (true_count[k] + predicted_count[k] == 0.0) continue;
    f1_sum += 2.0 * confusion[k * classes + k] / (true_count[k] + predicted_count[k]);
    classes_present += 1.0;
  }
  // Gorodkin's K-class MCC in scikit-learn's covariance form; NaN where it divides by zero.
  const auto n = static_cast<double>(pairs.size());
  const double truth_prediction_dot =
      std::inner_product(true_count.begin(), true_count.end(), predicted_count.begin(), 0.0);
  const double truth_dot = std::inner_product(true_count.begin(), true_count.end(), true_count.begin(), 0.0);
  const double prediction_dot =
      std::inner_product(predicted_count.begin(), predicted_count.end(), predicted_count.begin(), 0.0);
  const double covariance = correct * n - truth_prediction_dot;
  const double spread = (n * n - truth_dot) * (n * n - prediction_dot);
  return {
      {"accuracy", ratio(correct, n)},
      {"macro_f1", ratio(f1_sum, classes_present)},
      {"mcc", ratio(covariance, std::sqrt(spread))},
      {"n", n},
  };
}

MetricValues positional_f1(std::span<const std::uint8_t> truth, std::span<const std::uint8_t> predicted,
                           std::size_t tolerance) {
  if (truth.size() != predicted.size()) {
    throw std::invalid_argument(
        fmt::format("positional F1 needs one prediction per position, got {} and {}", truth.size(), predicted.size()));
  }
  const BoundaryMatching m = match_boundaries(truth, predicted, tolerance);
  const auto matched = static_cast<double>(std::count(m.truth_matched.begin(), m.truth_matched.end(), true));
  const auto true_count = static_cast<double>(m.truth.size());
  const auto predicted_count = static_cast<double>(m.predicted.size());
  // 2 matched / (predicted + true) equals 2PR / (P + R) and stays defined (0) when only one
  // side is empty; with no positives on either side there is nothing to score, so NaN.
  return {
      {"precision", ratio(matched, predicted_count)},
      {"recall", ratio(matched, true_count)},
      {"f1", ratio(2.0 * matched, predicted_count + true_count)},
      {"n", static_cast<double>(truth.size())},
  };
}

bool larger_is_better(const std::string& metric) {
  // Any loss ("loss", "train_loss", "validation_loss") is minimised, like the error metrics.
  return metric != "rmse" && metric != "mae" && !metric.ends_with("loss");
}

}  // namespace gridfold
