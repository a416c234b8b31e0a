#include <catch2/catch.hpp>

#include <cmath>

#include "common/boundary_tally.hpp"

using namespace gridfold;

namespace {

constexpr std::uint8_t N = kNoLabel;

// Two windows of width 10, classes other/start/end, tolerance 1.
//   row 0 (length 10): true start at 1 and 8, end at 6; predicted start at 2 and 4, end at 5 and 9
//   row 1 (length 7):  true start at 3; predicted start at 5; positions 7.. have no label
PositionLabels two_windows() {
  PositionLabels labels;
  labels.target = "labels";
  labels.classes = {"other", "start", "end"};
  labels.tolerance = 1;
  labels.width = 10;
  labels.lengths = {10, 7};
  labels.truth = {0, 1, 0, 0, 0, 0, 2, 0, 1, 0,  //
                  0, 0, 0, 1, 0, 0, 0, N, N, N};
  labels.prediction = {0, 0, 1, 0, 1, 2, 0, 0, 0, 2,  //
                       0, 0, 0, 0, 0, 1, 0, N, N, N};
  return labels;
}

}  // namespace

TEST_CASE("boundary F1 along the window matches a hand count per class and bin", "[boundary]") {
  // Class start: 2 takes 1 (hit), 4 has no true start within 1 (miss), 8 is not found; in
  // row 1, 5 is 2 away from 3 (miss). Class end: 5 takes 6 (hit), 9 misses.
  BoundaryTally tally(3, 1, 5);
  tally.add(two_windows());
  REQUIRE(tally.bins() == 2);
  const auto& start = tally.counts()[0];
  const auto& end = tally.counts()[1];

  // start, positions 0-4 of both rows: true 1 and 3, predicted 2 and 4; one match.
  CHECK(start[0].positions == 10);
  CHECK(start[0].truth == 2);
  CHECK(start[0].matched_truth == 1);
  CHECK(start[0].predicted == 2);
  CHECK(start[0].matched_predicted == 1);
  const MetricValues first = boundary_scores(start[0]);
  CHECK(first.at("precision") == Approx(0.5));
  CHECK(first.at("recall") == Approx(0.5));
  CHECK(first.at("f1") == Approx(0.5));
  CHECK(first.at("density") == Approx(200.0));

  // start, positions 5-9 (row 1 only up to 6): true 8 missed, predicted 5 missed.
  CHECK(start[1].positions == 7);
  const MetricValues second = boundary_scores(start[1]);
  CHECK(second.at("precision") == 0.0);
  CHECK(second.at("recall") == 0.0);
  CHECK(second.at("f1") == 0.0);

  // end: nothing in positions 0-4; in 5-9 true 6 found by 5, predicted 9 a miss.
  CHECK(std::isnan(boundary_scores(end[0]).at("f1")));
  CHECK(boundary_scores(end[0]).at("density") == 0.0);
  const MetricValues late = boundary_scores(end[1]);
  CHECK(late.at("precision") == Approx(0.5));
  CHECK(late.at("recall") == Approx(1.0));
  CHECK(late.at("f1") == Approx(2.0 / 3.0));
  CHECK(late.at("density") == Approx(1000.0 / 7.0));

  const BoundaryCounts all = tally.total(0);
  CHECK(all.positions == 17);
  CHECK(all.truth == 4);
  CHECK(all.predicted == 5);
  CHECK(all.matched_truth == 2);
}

TEST_CASE("a fold's boundary metrics pool the classes and name each one", "[boundary]") {
  const MetricValues m = boundary_metrics(two_windows());
  // 2 matches among 4 true and 5 predicted boundaries.
  CHECK(m.at("precision") == Approx(0.4));
  CHECK(m.at("recall") == Approx(0.5));
  CHECK(m.at("f1") == Approx(4.0 / 9.0));
  CHECK(m.at("f1_start") == Approx(1.0 / 3.0));
  CHECK(m.at("precision_end") == Approx(0.5));
  CHECK(m.at("f1_end") == Approx(2.0 / 3.0));
}

TEST_CASE("with tolerance 0 the boundary F1 of one class is the F1 over positions", "[boundary]") {
  PositionLabels labels = two_windows();
  labels.classes = {"0", "1"};
  labels.tolerance = 0;
  for (auto* values : {&labels.truth, &labels.prediction}) {
    for (auto& v : *values) v = v == N ? N : static_cast<std::uint8_t>(v != 0);
  }
  // Positives over the 17 labelled positions: true 1 3 6 8 (row 0: 1 6 8; row 1: 3),
  // predicted row 0: 2 4 5 9, row 1: 5; none coincide.
  const MetricValues m = boundary_metrics(labels);
  CHECK(m.at("f1") == 0.0);
  CHECK(m.count("f1_1") == 0);
  labels.prediction = labels.truth;
  CHECK(boundary_metrics(labels).at("f1") == 1.0);
}

TEST_CASE("a class index beyond the target's classes is refused", "[boundary]") {
  PositionLabels labels = two_windows();
  labels.prediction[0] = 3;
  BoundaryTally tally(3, 1, 5);
  CHECK_THROWS_WITH(tally.add(labels), Catch::Contains("class 3 at row 0 position 0"));
}
