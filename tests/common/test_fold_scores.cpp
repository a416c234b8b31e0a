#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "common/fold_result.hpp"
#include "common/fold_scores.hpp"
#include "common/hdf5.hpp"
#include "tests/temp_dir.hpp"

using namespace gridfold;
using gridfold::testing::TempDir;

TEST_CASE("read_fold_scores_image reads what read_fold_result_image reads", "[fold_scores]") {
  TempDir dir;
  FoldResult r;
  r.experiment = "e";
  r.config_id = "00112233445566ff";
  r.outer_fold = 4;
  r.inner_fold = 2;
  r.target_names = {"dG", "binds"};
  r.metrics["dG"] = {{"r2", 0.5}, {"rmse", 0.25}, {"n", 3}};
  r.metrics["binds"] = {{"auroc", 0.75}, {"accuracy", std::numeric_limits<double>::quiet_NaN()}};
  r.sample_index = {1, 2, 3};
  r.truth = {1, 0, 2, 1, 3, 0};
  r.prediction = {1.5f, 0.2f, 2.5f, 0.9f, 2.0f, 0.1f};
  write_fold_result(dir / "r.h5", r);
  std::ifstream in(dir / "r.h5", std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  const std::string image = bytes.str();

  const FoldScores s = read_fold_scores_image(image.data(), image.size(), "r.h5");
  const FoldResult full = read_fold_result_image(image.data(), image.size(), "r.h5");
  CHECK(s.config_id == full.config_id);
  CHECK(s.outer_fold == full.outer_fold);
  CHECK(s.inner_fold == full.inner_fold);
  REQUIRE(s.metrics.size() == full.metrics.size());
  for (const auto& [target, metrics] : full.metrics) {
    REQUIRE(s.metrics.at(target).size() == metrics.size());
    for (const auto& [name, value] : metrics) {
      INFO(target << "/" << name);
      CHECK((std::isnan(value) ? std::isnan(s.metrics.at(target).at(name)) : s.metrics.at(target).at(name) == value));
    }
  }
}

TEST_CASE("read_fold_scores_image refuses a file that is not a complete result", "[fold_scores]") {
  const std::string junk(4096, 'x');
  CHECK_THROWS_AS(read_fold_scores_image(junk.data(), junk.size(), "junk.h5"), h5::Error);
}
