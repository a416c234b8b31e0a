#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "common/metrics.hpp"

using namespace gridfold;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

MetricValues regression(const std::vector<double>& truth, const std::vector<double>& prediction) {
  return regression_metrics(truth, prediction);
}

MetricValues binary(const std::vector<double>& truth, const std::vector<double>& score, double threshold = 0.5) {
  return binary_metrics(truth, score, threshold);
}

MetricValues multiclass(const std::vector<double>& truth, const std::vector<double>& prediction, std::size_t classes) {
  return multiclass_metrics(truth, prediction, classes);
}

MetricValues positional(const std::vector<std::uint8_t>& truth, const std::vector<std::uint8_t>& predicted,
                        std::size_t tolerance) {
  return positional_f1(truth, predicted, tolerance);
}

}  // namespace

// --- regression ---------------------------------------------------------------------------

TEST_CASE("regression metrics match a hand-worked example", "[metrics]") {
  // errors 0.1 0.1 0.2 0.2 0.3: SS_res = 0.19, SS_tot = 10 -> r2 = 0.981;
  // rmse = sqrt(0.19 / 5); mae = 0.9 / 5; pearson from numpy.corrcoef.
  const auto m = regression({1, 2, 3, 4, 5}, {1.1, 1.9, 3.2, 3.8, 5.3});
  CHECK(m.at("r2") == Approx(0.981));
  CHECK(m.at("rmse") == Approx(std::sqrt(0.038)));
  CHECK(m.at("mae") == Approx(0.18));
  CHECK(m.at("pearson") == Approx(0.992405248250));
  CHECK(m.at("spearman") == Approx(1.0));
  CHECK(m.at("n") == 5);
}

TEST_CASE("spearman uses average ranks for ties", "[metrics]") {
  // truth ranks 1 2.5 2.5 4, prediction ranks 1 4 2.5 2.5; deviations from 2.5 give
  // covariance 2.25 over variances 4.5 and 4.5 -> 0.5
  const auto m = regression({1, 2, 2, 3}, {10, 30, 20, 20});
  CHECK(m.at("spearman") == Approx(0.5));
}

TEST_CASE("samples with a missing truth are skipped", "[metrics]") {
  const auto m = regression({1, kNaN, 2, 3}, {1, 100, 2, 3});
  CHECK(m.at("n") == 3);
  CHECK(m.at("r2") == Approx(1.0));
  CHECK(m.at("rmse") == 0.0);
}

TEST_CASE("r2 and pearson are NaN when the truth is constant", "[metrics]") {
  const auto m = regression({2, 2, 2}, {1, 2, 3});
  CHECK(std::isnan(m.at("r2")));
  CHECK(std::isnan(m.at("pearson")));
  CHECK(m.at("mae") == Approx(2.0 / 3.0));
}

TEST_CASE("a NaN prediction for a known truth makes every metric NaN", "[metrics]") {
  const auto m = regression({1, 2, 3}, {1, kNaN, 3});
  CHECK(std::isnan(m.at("r2")));
  CHECK(std::isnan(m.at("rmse")));
  CHECK(std::isnan(m.at("spearman")));
  CHECK(m.at("n") == 3);
}

TEST_CASE("metrics reject truth and prediction of different lengths", "[metrics]") {
  CHECK_THROWS_AS(regression({1, 2}, {1}), std::invalid_argument);
}

// --- binary -------------------------------------------------------------------------------

TEST_CASE("AUROC of a perfect ranking is 1 and of a reversed one 0", "[metrics]") {
  CHECK(binary({0, 0, 1, 1}, {0.1, 0.2, 0.8, 0.9}).at("auroc") == 1.0);
  CHECK(binary({1, 1, 0, 0}, {0.1, 0.2, 0.8, 0.9}).at("auroc") == 0.0);
}

TEST_CASE("binary metrics match scikit-learn's documented example", "[metrics]") {
  // The roc_auc_score and average_precision_score docs use truth 0 0 1 1 and scores
  // 0.1 0.4 0.35 0.8: AUROC 0.75, AP 0.8333. At threshold 0.5 only 0.8 is called
  // positive: TP 1, FN 1, TN 2, FP 0 -> accuracy 3/4, F1 2/3, MCC 2 / sqrt(1*2*2*3).
  const auto m = binary({0, 0, 1, 1}, {0.1, 0.4, 0.35, 0.8});
  CHECK(m.at("auroc") == Approx(0.75));
  CHECK(m.at("auprc") == Approx(0.8333333333));
  CHECK(m.at("accuracy") == Approx(0.75));
  CHECK(m.at("f1") == Approx(2.0 / 3.0));
  CHECK(m.at("mcc") == Approx(2.0 / std::sqrt(12.0)));
  CHECK(m.at("n") == 4);
}

TEST_CASE("tied scores count one half in AUROC and step together in AUPRC", "[metrics]") {
  // Worked with exact fractions in Python: AUROC by counting positive/negative pairs
  // (ties 1/2) = 7/10; AP summing (recall gain) x precision over distinct thresholds
  // 0.9 0.8 0.7 0.6 0.3 0.2 0.1 = 893/1260. At threshold 0.6: TP 4, FP 3, FN 1, TN 2 ->
  // accuracy 0.6, F1 8/12, MCC 5 / sqrt(7*5*5*3).
  const std::vector<double> truth{1, 0, 1, 1, 0, 0, 1, 0, 1, 0};
  const std::vector<double> score{0.9, 0.8, 0.8, 0.7, 0.6, 0.6, 0.6, 0.3, 0.2, 0.1};
  const auto m = binary(truth, score, 0.6);
  CHECK(m.at("auroc") == Approx(0.7));
  CHECK(m.at("auprc") == Approx(893.0 / 1260.0));
  CHECK(m.at("accuracy") == Approx(0.6));
  CHECK(m.at("f1") == Approx(8.0 / 12.0));
  CHECK(m.at("mcc") == Approx(5.0 / std::sqrt(525.0)));
}

TEST_CASE("AUPRC of all-tied scores is the positive rate", "[metrics]") {
  // one threshold: recall 1 at precision 2/4
  CHECK(binary({1, 0, 1, 0}, {0.3, 0.3, 0.3, 0.3}).at("auprc") == Approx(0.5));
  CHECK(binary({1, 0, 1, 0}, {0.3, 0.3, 0.3, 0.3}).at("auroc") == Approx(0.5));
}

TEST_CASE("a score equal to the threshold is called positive", "[metrics]") {
  const auto m = binary({1, 0}, {0.5, 0.4});
  CHECK(m.at("accuracy") == 1.0);
  CHECK(m.at("f1") == 1.0);
}

TEST_CASE("ranking metrics are NaN when the truth holds one class", "[metrics]") {
  const auto m = binary({1, 1, 1}, {0.2, 0.6, 0.9});
  CHECK(std::isnan(m.at("auroc")));
  CHECK(std::isnan(m.at("mcc")));
  CHECK(binary({0, 0}, {0.2, 0.6}).count("auprc") == 1);
  CHECK(std::isnan(binary({0, 0}, {0.2, 0.6}).at("auprc")));
}

TEST_CASE("F1 is NaN when there are no positives in truth or prediction", "[metrics]") {
  const auto m = binary({0, 0, 0}, {0.1, 0.2, 0.3});
  CHECK(std::isnan(m.at("f1")));
  CHECK(m.at("accuracy") == 1.0);
}

TEST_CASE("binary metrics skip missing truths and reject truths other than 0 and 1", "[metrics]") {
  CHECK(binary({0, kNaN, 1}, {0.1, 0.5, 0.9}).at("n") == 2);
  CHECK_THROWS_AS(binary({0, 2}, {0.1, 0.9}), std::invalid_argument);
}

// --- multiclass ---------------------------------------------------------------------------

TEST_CASE("multiclass metrics match a hand-worked confusion matrix", "[metrics]") {
  // truth  0 0 1 1 2 2, prediction 0 1 1 1 2 0: 4 of 6 correct.
  // per-class F1 = 2 TP / (true + predicted): 2/4, 4/5, 2/3 -> macro 0.655556.
  // Gorodkin MCC: (correct*n - t.p) / sqrt((n^2 - t.t)(n^2 - p.p)) with true counts
  // t = 2 2 2 and predicted counts p = 2 3 1: (24 - 12) / sqrt(24 * 22) = 0.522233.
  const auto m = multiclass({0, 0, 1, 1, 2, 2}, {0, 1, 1, 1, 2, 0}, 3);
  CHECK(m.at("accuracy") == Approx(4.0 / 6.0));
  CHECK(m.at("macro_f1") == Approx((0.5 + 0.8 + 2.0 / 3.0) / 3.0));
  CHECK(m.at("mcc") == Approx(12.0 / std::sqrt(528.0)));
  CHECK(m.at("n") == 6);
}

TEST_CASE("macro F1 averages only over classes present in truth or prediction", "[metrics]") {
  // class 3 never occurs, so the result equals the three-class example
  const auto m = multiclass({0, 0, 1, 1, 2, 2}, {0, 1, 1, 1, 2, 0}, 4);
  CHECK(m.at("macro_f1") == Approx((0.5 + 0.8 + 2.0 / 3.0) / 3.0));
  CHECK(m.at("mcc") == Approx(12.0 / std::sqrt(528.0)));
}

TEST_CASE("multiclass MCC of a perfect prediction is 1 and of a constant one NaN", "[metrics]") {
  CHECK(multiclass({0, 1, 2}, {0, 1, 2}, 3).at("mcc") == Approx(1.0));
  CHECK(std::isnan(multiclass({0, 1, 2}, {1, 1, 1}, 3).at("mcc")));
}

TEST_CASE("multiclass metrics reject indices outside the classes", "[metrics]") {
  CHECK_THROWS_AS(multiclass({0, 3}, {0, 1}, 3), std::invalid_argument);
  CHECK_THROWS_AS(multiclass({0, 1}, {0, 1.5}, 3), std::invalid_argument);
  CHECK(multiclass({0, kNaN}, {0, 7}, 3).at("n") == 1);
}

// --- positional ---------------------------------------------------------------------------

TEST_CASE("a predicted boundary within tolerance of a true one is a hit", "[metrics]") {
  // true 2 5 10, predicted 3 4 11, tolerance 1: 3->2, 4->5, 11->10
  std::vector<std::uint8_t> truth(12, 0), predicted(12, 0);
  truth[2] = truth[5] = truth[10] = 1;
  predicted[3] = predicted[4] = predicted[11] = 1;
  const auto m = positional(truth, predicted, 1);
  CHECK(m.at("precision") == 1.0);
  CHECK(m.at("recall") == 1.0);
  CHECK(m.at("f1") == 1.0);
  CHECK(m.at("n") == 12);
}

TEST_CASE("each true boundary matches at most one prediction", "[metrics]") {
  // true 5, predicted 4 and 6: 4 takes 5, 6 finds it taken -> precision 1/2, recall 1,
  // F1 = 2*1 / (2 + 1)
  std::vector<std::uint8_t> truth(10, 0), predicted(10, 0);
  truth[5] = 1;
  predicted[4] = predicted[6] = 1;
  const auto m = positional(truth, predicted, 1);
  CHECK(m.at("precision") == Approx(0.5));
  CHECK(m.at("recall") == Approx(1.0));
  CHECK(m.at("f1") == Approx(2.0 / 3.0));
}

TEST_CASE("a prediction takes the nearest unmatched true boundary", "[metrics]") {
  // true 2 and 5, tolerance 2. Matching is greedy, left to right: predicted 4 takes 5
  // (distance 1) over 2 (distance 2), which leaves predicted 6 without a partner.
  std::vector<std::uint8_t> truth(8, 0), predicted(8, 0);
  truth[2] = truth[5] = 1;
  predicted[4] = predicted[6] = 1;
  const auto m = positional(truth, predicted, 2);
  CHECK(m.at("precision") == 0.5);
  CHECK(m.at("recall") == 0.5);
}

TEST_CASE("at equal distance a prediction takes the earlier true boundary", "[metrics]") {
  // true 3 and 5, tolerance 1: predicted 4 is 1 from both and takes 3, so 6 takes 5.
  std::vector<std::uint8_t> truth(8, 0), predicted(8, 0);
  truth[3] = truth[5] = 1;
  predicted[4] = predicted[6] = 1;
  CHECK(positional(truth, predicted, 1).at("recall") == 1.0);
}

TEST_CASE("a prediction beyond the tolerance is a miss", "[metrics]") {
  std::vector<std::uint8_t> truth(10, 0), predicted(10, 0);
  truth[2] = 1;
  predicted[5] = 1;
  const auto m = positional(truth, predicted, 2);
  CHECK(m.at("precision") == 0.0);
  CHECK(m.at("recall") == 0.0);
  CHECK(m.at("f1") == 0.0);
}

TEST_CASE("positional F1 is NaN with no true and no predicted boundaries and 0 with one side empty", "[metrics]") {
  const std::vector<std::uint8_t> none(6, 0);
  std::vector<std::uint8_t> some(6, 0);
  some[2] = 1;
  const auto empty = positional(none, none, 1);
  CHECK(std::isnan(empty.at("f1")));
  CHECK(std::isnan(empty.at("precision")));
  const auto nothing_predicted = positional(some, none, 1);
  CHECK(nothing_predicted.at("f1") == 0.0);
  CHECK(nothing_predicted.at("recall") == 0.0);
  CHECK(std::isnan(nothing_predicted.at("precision")));
  const auto nothing_true = positional(none, some, 1);
  CHECK(nothing_true.at("f1") == 0.0);
  CHECK(nothing_true.at("precision") == 0.0);
  CHECK(std::isnan(nothing_true.at("recall")));
}

// --- ranking direction --------------------------------------------------------------------

TEST_CASE("errors and losses are minimised, every other metric maximised", "[metrics]") {
  CHECK_FALSE(larger_is_better("rmse"));
  CHECK_FALSE(larger_is_better("mae"));
  CHECK_FALSE(larger_is_better("loss"));
  CHECK_FALSE(larger_is_better("validation_loss"));
  for (const char* metric : {"r2", "pearson", "spearman", "accuracy", "f1", "mcc", "auroc", "auprc", "macro_f1"}) {
    CHECK(larger_is_better(metric));
  }
}
