#include <catch2/catch.hpp>

#include <cmath>

#include "common/boundary_calls.hpp"
#include "common/position_labels.hpp"

using namespace gridfold;

TEST_CASE("a bump of probability around one site gives one call, at its top", "[unit]") {
  // Positions 3-7 all pass 0.5; within tolerance 2 only the top (5) is called, and the bump
  // at 11-12, 6 away, is a second site.
  const std::vector<float> p{0.0f, 0.1f, 0.2f, 0.6f, 0.8f, 0.9f, 0.7f, 0.55f, 0.1f, 0.0f, 0.2f, 0.65f, 0.6f, 0.0f};
  CHECK(call_peaks(p, 0.5, 2) == std::vector<std::size_t>{5, 11});
  // A 0.5 cut on each position would call 7 positions; tolerance 0 keeps every passing one.
  CHECK(call_peaks(p, 0.5, 0).size() == 7);
  CHECK(call_peaks(p, 0.95, 2).empty());
}

TEST_CASE("suppression takes the strongest first, and the earlier position at a tie", "[unit]") {
  // 8 suppresses 4 (4 away), but 0 is 8 away from 8 and 4 is suppressed, so 0 stays.
  const std::vector<float> p{0.7f, 0.0f, 0.0f, 0.0f, 0.8f, 0.0f, 0.0f, 0.0f, 0.9f};
  CHECK(call_peaks(p, 0.5, 5) == std::vector<std::size_t>{0, 8});
  const std::vector<float> tie{0.0f, 0.6f, 0.0f, 0.6f, 0.0f};
  CHECK(call_peaks(tie, 0.5, 2) == std::vector<std::size_t>{1});
}

TEST_CASE("two classes calling one position leave it to the more probable", "[unit]") {
  // [3 classes][6 positions]: class 1 peaks at 1 and 4, class 2 at 4 (stronger) only.
  const std::vector<float> p{
      0.2f, 0.3f, 0.9f, 0.9f, 0.1f, 0.9f,  // background
      0.1f, 0.6f, 0.1f, 0.0f, 0.6f, 0.0f,  // class 1
      0.0f, 0.1f, 0.0f, 0.1f, 0.7f, 0.1f,  // class 2
  };
  const double nan = std::nan("");
  std::vector<std::uint8_t> out(6);
  call_boundaries(p, 3, std::vector<double>{nan, 0.5, 0.5}, 1, out);
  CHECK(out == std::vector<std::uint8_t>{0, 1, 0, 0, 2, 0});
  // Thresholds are per class: class 1 at 0.65 calls nothing.
  call_boundaries(p, 3, std::vector<double>{nan, 0.65, 0.5}, 1, out);
  CHECK(out == std::vector<std::uint8_t>{0, 0, 0, 0, 2, 0});
  CHECK_THROWS_AS(call_boundaries(p, 3, std::vector<double>{nan, 0.5}, 1, out), std::invalid_argument);
}

TEST_CASE("the threshold chosen on validation rows maximises the class's boundary F1", "[unit]") {
  // Row 0: true boundaries of class 1 at 2 and 12; the model gives them 0.4 and 0.3, and a
  // decoy at 7 gets 0.35. Row 1: a true one at 4 (0.6), decoys at 9 (0.5) and 14 (0.2).
  // Thresholds: 0.6 -> 1 call, 1 hit: F1 2/(1+3) = 0.5; 0.5 -> 2 calls, 1 hit: 0.4;
  // 0.4 -> 3 calls, 2 hits: 4/6 = 0.667; 0.35 -> 4, 2: 4/7; 0.3 -> 5 calls, 3 hits: 6/8 = 0.75;
  // 0.2 -> 6 calls, 3 hits: 6/9. Best: 0.3.
  std::vector<float> row0(16, 0.0f), row1(16, 0.0f);
  row0[2] = 0.4f, row0[7] = 0.35f, row0[12] = 0.3f;
  row1[4] = 0.6f, row1[9] = 0.5f, row1[14] = 0.2f;
  std::vector<std::uint8_t> truth0(16, 0), truth1(16, 0);
  truth0[2] = truth0[12] = 1;
  truth1[4] = 1;
  truth1[15] = kNoLabel;
  ClassEvidence evidence;
  evidence.probability = {row0, row1};
  evidence.truth = {truth0, truth1};
  const ThresholdChoice choice = choose_threshold(evidence, 1, 1);
  CHECK(choice.threshold == Approx(0.3));
  CHECK(choice.f1 == Approx(0.75));

  SECTION("calls at unscored positions do not count against it") {
    // A strong decoy at an unlabelled position (a flank) changes nothing.
    row1[15] = 0.95f;
    evidence.probability = {row0, row1};
    CHECK(choose_threshold(evidence, 1, 1).threshold == Approx(0.3));
  }
  SECTION("a class without true boundaries keeps the default") {
    const ThresholdChoice none = choose_threshold(evidence, 2, 1);
    CHECK(none.threshold == kDefaultBoundaryThreshold);
    CHECK(std::isnan(none.f1));
  }
}
