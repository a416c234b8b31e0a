#include <catch2/catch.hpp>

#include <hdf5.h>

#include <fstream>
#include <iterator>
#include <limits>

#include "common/fold_result.hpp"
#include "common/fold_scores.hpp"
#include "common/hdf5.hpp"
#include "tests/temp_dir.hpp"

using namespace gridfold;
using gridfold::testing::TempDir;

namespace {

FoldResult boundary_result() {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  FoldResult r;
  r.experiment = "intron_exon";
  r.config_id = "00112233445566ff";
  r.outer_fold = 1;
  r.target_names = {"labels"};
  r.metrics["labels"] = {{"f1", 0.5}, {"f1_exon_start", 0.25}, {"accuracy", 0.99}};
  r.sample_index = {3, 8};
  r.truth = {nan, nan};
  r.prediction = {nan, nan};
  PositionLabels labels;
  labels.target = "labels";
  labels.classes = {"other", "exon_start", "exon_end"};
  labels.tolerance = 5;
  labels.width = 6;
  labels.lengths = {6, 4};
  labels.truth = {0, 1, 0, 0, 2, 0, 0, 0, 1, 0, kNoLabel, kNoLabel};
  labels.prediction = {0, 0, 1, 0, 2, 0, 1, 0, 0, 0, kNoLabel, kNoLabel};
  r.positions = {labels};
  return r;
}

std::string file_bytes(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// What a result written before schema version 4 looks like: the same layout without
// /fingerprint, and before version 3 also without /positions.
void make_older_version(const std::filesystem::path& file, std::int64_t version) {
  const hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  REQUIRE(f >= 0);
  REQUIRE(H5Ldelete(f, "fingerprint", H5P_DEFAULT) >= 0);
  if (version < 3) REQUIRE(H5Ldelete(f, "positions", H5P_DEFAULT) >= 0);
  const hid_t attr = H5Aopen(f, "schema_version", H5P_DEFAULT);
  REQUIRE(H5Awrite(attr, H5T_NATIVE_INT64, &version) >= 0);
  H5Aclose(attr);
  H5Fclose(f);
}

}  // namespace

TEST_CASE("per-position classes round-trip through a fold result", "[fold_result]") {
  TempDir dir;
  const FoldResult written = boundary_result();
  write_fold_result(dir / "r.h5", written);
  const FoldResult read = read_fold_result(dir / "r.h5");
  REQUIRE(read.positions.size() == 1);
  const PositionLabels& want = written.positions.front();
  const PositionLabels& got = read.positions.front();
  CHECK(got.target == want.target);
  CHECK(got.classes == want.classes);
  CHECK(got.tolerance == 5);
  CHECK(got.width == 6);
  CHECK(got.lengths == want.lengths);
  CHECK(got.truth == want.truth);
  CHECK(got.prediction == want.prediction);
  CHECK(read.metrics.at("labels").at("f1_exon_start") == 0.25);

  const h5::File file = h5::File::open_read(dir / "r.h5");
  CHECK(file.attr_int("schema_version") == 4);
  CHECK(file.group("positions").group("labels").shape("truth") == std::vector<std::size_t>{2, 6});
}

TEST_CASE("a version 2 result, without per-position classes, still reads", "[fold_result]") {
  TempDir dir;
  write_fold_result(dir / "r.h5", boundary_result());
  make_older_version(dir / "r.h5", 2);
  const FoldResult read = read_fold_result(dir / "r.h5");
  CHECK(read.positions.empty());
  CHECK(read.metrics.at("labels").at("f1") == 0.5);
  const std::string bytes = file_bytes(dir / "r.h5");
  const FoldScores scores = read_fold_scores_image(bytes.data(), bytes.size(), "r.h5");
  CHECK(scores.metrics.at("labels").at("accuracy") == 0.99);
}

TEST_CASE("a result's fingerprint round-trips, and its digest is what the scores reader sees", "[fold_result]") {
  TempDir dir;
  FoldResult written = boundary_result();
  written.fingerprint = {"training.epochs=2\n", "0123456789abcdef", "resampling.seed=1\n", "fedcba9876543210", "9.9"};
  write_fold_result(dir / "r.h5", written);
  CHECK(read_fold_result(dir / "r.h5").fingerprint == written.fingerprint);
  const std::string bytes = file_bytes(dir / "r.h5");
  CHECK(read_fold_scores_image(bytes.data(), bytes.size(), "r.h5").fingerprint == written.fingerprint.digest());
  ResultFingerprint other = written.fingerprint;
  other.resampling = "resampling.seed=2\n";
  CHECK(other.digest() != written.fingerprint.digest());
}

TEST_CASE("a version 3 result still reads, without a fingerprint, so it can only be stale", "[fold_result]") {
  TempDir dir;
  FoldResult written = boundary_result();
  written.fingerprint = {"training.epochs=2\n", "0123456789abcdef", "resampling.seed=1\n", "fedcba9876543210", "9.9"};
  write_fold_result(dir / "r.h5", written);
  make_older_version(dir / "r.h5", 3);
  const FoldResult read = read_fold_result(dir / "r.h5");
  CHECK(read.positions.size() == 1);
  CHECK(read.fingerprint == ResultFingerprint{});
  const std::string bytes = file_bytes(dir / "r.h5");
  CHECK(read_fold_scores_image(bytes.data(), bytes.size(), "r.h5").fingerprint.empty());
}

TEST_CASE("a result of a newer schema version is refused, naming the versions read", "[fold_result]") {
  TempDir dir;
  write_fold_result(dir / "r.h5", boundary_result());
  {
    const hid_t f = H5Fopen((dir / "r.h5").c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    const std::int64_t five = 5;
    const hid_t attr = H5Aopen(f, "schema_version", H5P_DEFAULT);
    H5Awrite(attr, H5T_NATIVE_INT64, &five);
    H5Aclose(attr);
    H5Fclose(f);
  }
  CHECK_THROWS_WITH(read_fold_result(dir / "r.h5"),
                    Catch::Contains("schema version 5") && Catch::Contains("reads versions 2 to 4"));
}

TEST_CASE("per-position labels that do not fill their rows are not written", "[fold_result]") {
  TempDir dir;
  FoldResult r = boundary_result();
  r.positions.front().prediction.pop_back();
  CHECK_THROWS_WITH(write_fold_result(dir / "r.h5", r), Catch::Contains("per-position labels of 'labels'"));
  CHECK_FALSE(std::filesystem::exists(dir / "r.h5"));
}
