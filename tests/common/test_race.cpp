#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "common/paired_stats.hpp"
#include "common/race.hpp"

using namespace gridfold;

namespace {

// A config's scores: `base`, a fold effect shared by all configs (what pairing removes) and
// noise of its own (its phase).
std::vector<double> scores_of(double base, std::size_t folds, double noise, double phase = 0) {
  std::vector<double> v;
  for (std::size_t f = 0; f < folds; ++f) {
    v.push_back(base + 0.1 * std::sin(1.3 * static_cast<double>(f)) +
                noise * std::cos(2.9 * static_cast<double>(f) + phase));
  }
  return v;
}

RaceSettings settings(std::size_t min_folds = 5) {
  RaceSettings s;
  s.alpha = 0.05;
  s.min_folds = min_folds;
  s.test_train_ratio = 0.25;
  return s;
}

const std::vector<std::uint32_t> kThree{0, 1, 2};

}  // namespace

TEST_CASE("the corrected resampled t-test matches a hand-computed case", "[race][stats]") {
  // d = 1, 2, 3, 4; n_test/n_train = 0.25. mean 2.5, s^2 = 5/3, se = sqrt((1/4 + 1/4) 5/3)
  // = 0.912871, t = 2.738613 on 3 df. With 3 df, P(T <= t) = 1/2 + (x/(1+x^2) + atan x)/pi
  // for x = t/sqrt(3), so p = 0.0357108; t_{0.975, 3} = 3.182446 gives the interval
  // 2.5 -+ 2.905163.
  const std::vector<double> d{1, 2, 3, 4};
  const PairedDifference r = corrected_paired_difference(d, 0.25, 0.95);
  CHECK(r.folds == 4);
  CHECK(r.mean == Approx(2.5));
  CHECK(r.se == Approx(0.9128709).epsilon(1e-6));
  CHECK(r.t == Approx(2.7386128).epsilon(1e-6));
  CHECK(r.p_greater == Approx(0.0357108).epsilon(1e-5));
  CHECK(r.low == Approx(-0.4051627).epsilon(1e-5));
  CHECK(r.high == Approx(5.4051627).epsilon(1e-6));
}

TEST_CASE("without the correction the test is the plain paired t-test", "[race][stats]") {
  const std::vector<double> d{1, 2, 3, 4};
  const PairedDifference r = corrected_paired_difference(d, 0.0, 0.95);
  CHECK(r.se == Approx(std::sqrt(5.0 / 3.0 / 4.0)));
  CHECK(r.t == Approx(2.5 / std::sqrt(5.0 / 12.0)));
}

TEST_CASE("the t distribution's quantile inverts its distribution function", "[race][stats]") {
  CHECK(student_t_cdf(0.0, 7) == Approx(0.5));
  CHECK(student_t_quantile(0.975, 3) == Approx(3.182446).epsilon(1e-6));
  CHECK(student_t_quantile(0.975, 1e6) == Approx(1.959964).epsilon(1e-5));
  CHECK(student_t_cdf(student_t_quantile(0.1, 4.5), 4.5) == Approx(0.1));
}

TEST_CASE("identical differences are never told apart, and NaN folds are left out", "[race][stats]") {
  const std::vector<double> zero{0, 0, 0};
  CHECK(corrected_paired_difference(zero, 0.25, 0.95).p_greater == 1.0);
  const std::vector<double> with_nan{1, NAN, 3};
  const PairedDifference r = corrected_paired_difference(with_nan, 0.25, 0.95);
  CHECK(r.folds == 2);
  CHECK(r.mean == Approx(2.0));
}

TEST_CASE("a clearly worse config is eliminated and the leader kept", "[race]") {
  const std::vector<std::vector<double>> scores{scores_of(0.80, 10, 0.03), scores_of(0.50, 10, 0.03, 0.5),
                                                scores_of(0.795, 10, 0.03, 1.7)};
  const RaceDecision d = decide_round(kThree, scores, 10, settings());
  REQUIRE(d.leader == 0u);
  REQUIRE(d.eliminated.size() == 1);
  CHECK(d.eliminated[0].config == 1);
  CHECK(d.eliminated[0].reason == RaceElimination::Reason::worse);
  CHECK(d.eliminated[0].folds == 10);
  CHECK(d.eliminated[0].mean_difference == Approx(0.30).margin(0.01));
  CHECK(d.survivors == std::vector<std::uint32_t>{0, 2});
  CHECK(d.shared_folds == 10);
}

TEST_CASE("a config tied with the leader is not eliminated", "[race]") {
  // Config 1 is config 0 plus noise of mean zero: the paired differences straddle zero.
  std::vector<std::vector<double>> scores{scores_of(0.8, 10, 0.0), scores_of(0.8, 10, 0.0)};
  for (std::size_t f = 0; f < 10; ++f) scores[1][f] += (f % 2 ? 0.02 : -0.02);
  const std::vector<std::uint32_t> two{0, 1};
  const RaceDecision d = decide_round(two, scores, 10, settings());
  CHECK(d.eliminated.empty());
  CHECK(d.survivors == two);
}

TEST_CASE("when smaller is better the race keeps the smallest error", "[race]") {
  const std::vector<std::vector<double>> scores{scores_of(0.2, 8, 0.01), scores_of(0.9, 8, 0.01)};
  RaceSettings s = settings();
  s.larger_is_better = false;
  const RaceDecision d = decide_round(std::vector<std::uint32_t>{0, 1}, scores, 8, s);
  REQUIRE(d.leader == 0u);
  REQUIRE(d.eliminated.size() == 1);
  CHECK(d.eliminated[0].config == 1);
  CHECK(d.eliminated[0].mean_difference == Approx(0.7).margin(0.01));
}

TEST_CASE("nothing is eliminated before the minimum folds", "[race]") {
  const std::vector<std::vector<double>> scores{scores_of(0.9, 10, 0.01), scores_of(0.1, 10, 0.01),
                                                scores_of(0.2, 10, 0.01)};
  CHECK(decide_round(kThree, scores, 4, settings(5)).eliminated.empty());
  CHECK(decide_round(kThree, scores, 4, settings(5)).survivors == kThree);
  CHECK(decide_round(kThree, scores, 5, settings(5)).eliminated.size() == 2);
}

TEST_CASE("only folds all survivors share count, and too few shared folds eliminate nobody", "[race]") {
  std::vector<std::vector<double>> scores{scores_of(0.9, 6, 0.01), scores_of(0.1, 6, 0.01), scores_of(0.2, 6, 0.01)};
  scores[2][0] = NAN;  // config 2 failed on fold 0: 5 usable scores, 5 shared folds
  const RaceDecision five = decide_round(kThree, scores, 6, settings(5));
  CHECK(five.shared_folds == 5);
  CHECK(five.eliminated.size() == 2);
  scores[1][1] = NAN;  // now only 4 folds are shared by all three
  const RaceDecision four = decide_round(kThree, scores, 6, settings(5));
  CHECK(four.shared_folds == 4);
  CHECK(four.eliminated.empty());
}

TEST_CASE("a config without enough usable scores is eliminated as unscored", "[race]") {
  std::vector<std::vector<double>> scores{scores_of(0.8, 6, 0.03), scores_of(0.79, 6, 0.03, 2.0),
                                          std::vector<double>(6, NAN)};
  const RaceDecision d = decide_round(kThree, scores, 6, settings(5));
  REQUIRE(d.eliminated.size() == 1);
  CHECK(d.eliminated[0].config == 2);
  CHECK(d.eliminated[0].reason == RaceElimination::Reason::unscored);
  CHECK(d.survivors == std::vector<std::uint32_t>{0, 1});
}

TEST_CASE("Holm's correction keeps a config that only an uncorrected test would drop", "[race]") {
  // Four challengers whose one-sided p-values are each just below alpha but above alpha / 4.
  const std::size_t folds = 6;
  std::vector<std::vector<double>> scores{std::vector<double>(folds, 0.8)};
  for (int c = 0; c < 4; ++c) {
    std::vector<double> v(folds, 0.8);
    for (std::size_t f = 0; f < folds; ++f) v[f] -= 0.01 + (f % 2 ? 0.009 : -0.009) + 0.0001 * c;
    scores.push_back(v);
  }
  RaceSettings s = settings(5);
  s.test_train_ratio = 0.0;
  const std::vector<std::uint32_t> all{0, 1, 2, 3, 4};
  // Each alone is significant at alpha 0.05 ...
  const RaceDecision alone = decide_round(std::vector<std::uint32_t>{0, 1}, scores, folds, s);
  REQUIRE(alone.eliminated.size() == 1);
  REQUIRE(alone.eliminated[0].p_value > 0.05 / 4);
  // ... but not all four together.
  CHECK(decide_round(all, scores, folds, s).eliminated.empty());
}
