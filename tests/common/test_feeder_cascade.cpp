#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "common/feeder_cascade.hpp"

using namespace gridfold;

namespace {

constexpr float kUnknown = std::numeric_limits<float>::quiet_NaN();

// Five windows: probability of holding a boundary, and whether one does (row 3 unknown).
const std::vector<float> kProbability{0.9f, 0.6f, 0.4f, 0.2f, 0.05f};
const std::vector<float> kTruth{1, 0, 1, kUnknown, 0};

ModelFile model_of(std::vector<ModelTarget> targets, Alphabet alphabet = Alphabet::dna) {
  ModelFile m;
  m.alphabet = alphabet;
  m.sequence_column = "sequence";
  m.targets = std::move(targets);
  return m;
}

const ModelTarget kFeeder{"has_boundary", TaskType::binary, {}};
const ModelTarget kLabels{"labels", TaskType::per_position, {"other", "exon_start", "exon_end"}};

}  // namespace

TEST_CASE("feeder trade-off: recall over boundary windows, precision over passed windows of known truth",
          "[feeder_cascade]") {
  const FeederPoint half = feeder_point(kProbability, kTruth, 0.5);
  CHECK(half.rows == 5);
  CHECK(half.passed == 2);
  CHECK(half.positives == 2);
  CHECK(half.passed_positives == 1);
  CHECK(half.recall() == Approx(0.5));
  CHECK(half.precision() == Approx(0.5));
  CHECK(half.share_passed() == Approx(0.4));

  // The unknown row passes at 0.1: it counts in the share passed, not in the precision.
  const FeederPoint low = feeder_point(kProbability, kTruth, 0.1);
  CHECK(low.passed == 4);
  CHECK(low.passed_known == 3);
  CHECK(low.recall() == Approx(1.0));
  CHECK(low.precision() == Approx(2.0 / 3.0));
  CHECK(low.share_passed() == Approx(0.8));

  const FeederPoint none = feeder_point(kProbability, kTruth, 0.95);
  CHECK(none.passed == 0);
  CHECK(std::isnan(none.precision()));
  CHECK(feeder_sweep_thresholds().size() == 9);
  CHECK(feeder_sweep_thresholds().front() == Approx(0.1));
  CHECK(feeder_sweep_thresholds().back() == Approx(0.9));
  CHECK_THROWS_AS(feeder_point(kProbability, std::vector<float>{1, 0}, 0.5), std::invalid_argument);
}

TEST_CASE("a window holds a boundary when its labels hold a boundary digit; flank dots are unlabelled",
          "[feeder_cascade]") {
  const std::vector<float> windows = boundary_windows({"010020", "000000", "..0000", "...."});
  REQUIRE(windows.size() == 4);
  CHECK(windows[0] == 1.0f);
  CHECK(windows[1] == 0.0f);
  CHECK(windows[2] == 0.0f);
  CHECK(std::isnan(windows[3]));
}

TEST_CASE("boundaries with and without the filter: held-back rows predict none and lose their boundaries",
          "[feeder_cascade]") {
  // Tolerance 1. Row 0: starts at 1 (hit), end at 4 called at 5 (hit). Row 1 (held back): a
  // start at 3 called at 3. Row 2: a call on a flank position (unscored) and a false start at 4.
  const PositionLabels alone =
      position_labels_of("labels", kLabels.classes, 1, {"010020", "000100", "..0000"}, {"010002", "000100", "010010"});
  const std::vector<std::uint8_t> passed{1, 0, 1};
  const CascadeBoundaries b = cascade_boundaries(alone, passed);
  CHECK(b.truth == 3);
  CHECK(b.lost == 1);
  CHECK(b.without_filter.at("precision") == Approx(3.0 / 4.0));
  CHECK(b.without_filter.at("recall") == Approx(1.0));
  CHECK(b.without_filter.at("f1") == Approx(6.0 / 7.0));
  CHECK(b.with_filter.at("precision") == Approx(2.0 / 3.0));
  CHECK(b.with_filter.at("recall") == Approx(2.0 / 3.0));
  CHECK(b.with_filter.at("f1") == Approx(2.0 / 3.0));
  CHECK_THROWS_AS(cascade_boundaries(alone, std::vector<std::uint8_t>{1}), std::invalid_argument);
}

TEST_CASE("the cascade summary gives the rows passed and, with the truth, the trade-off", "[feeder_cascade]") {
  CascadeSummary s;
  s.filter_target = "has_boundary";
  s.target = "labels";
  s.chosen = feeder_point(kProbability, kTruth, 0.5);
  CHECK(render_cascade_text(s) == "filter has_boundary >= 0.5: 2 of 5 rows passed to the labels model (40.0%)\n");
  CHECK_THAT(cascade_json(s), !Catch::Contains("sweep"));

  s.window_truth = "has_boundary";
  for (const double t : feeder_sweep_thresholds()) s.sweep.push_back(feeder_point(kProbability, kTruth, t));
  const std::string text = render_cascade_text(s);
  CHECK_THAT(text, Catch::Contains("recall 50.0% (1 of 2 boundary windows passed)"));
  CHECK_THAT(text, Catch::Contains("      0.1  100.0%      66.7%   80.0%"));
  CHECK_THAT(cascade_json(s), Catch::Contains("\"passed\": 2") && Catch::Contains("\"sweep\""));
}

TEST_CASE("a filter model must be one binary target reading the boundary model's sequences", "[feeder_cascade]") {
  const ModelFile boundary = model_of({kLabels});
  CHECK_NOTHROW(check_cascade(model_of({kFeeder}), "feeder.h5", boundary, "model.h5"));
  CHECK_THROWS_WITH(check_cascade(model_of({{"kind", TaskType::multiclass, {"a", "b"}}}), "feeder.h5", boundary,
                                  "model.h5"),
                    Catch::Contains("feeder.h5 predicts kind (multiclass)") && Catch::Contains("one binary target"));
  CHECK_THROWS_AS(check_cascade(model_of({kFeeder, kFeeder}), "feeder.h5", boundary, "model.h5"), FilterModelError);
  CHECK_THROWS_WITH(check_cascade(model_of({kFeeder}, Alphabet::protein), "feeder.h5", boundary, "model.h5"),
                    Catch::Contains("protein") && Catch::Contains("the same sequences"));
  ModelFile features = model_of({kFeeder});
  features.sequence_column.clear();
  features.feature_columns = {"gc"};
  CHECK_THROWS_WITH(check_cascade(features, "feeder.h5", boundary, "model.h5"), Catch::Contains("feature columns gc"));
  CHECK_THROWS_WITH(check_cascade(model_of({kFeeder}), "feeder.h5", model_of({kFeeder}), "model.h5"),
                    Catch::Contains("model.h5 has no per_position target"));
  // A bad filter is bad input: exit 3.
  try {
    check_cascade(model_of({}), "feeder.h5", boundary, "model.h5");
    FAIL("an empty filter model was accepted");
  } catch (const BadInputError& e) {
    CHECK(e.exit_code() == kExitBadInput);
  }
}
