#include <catch2/catch.hpp>

#include <fstream>
#include <string>
#include <vector>

#include "common/file_bytes.hpp"
#include "common/fold_result.hpp"
#include "common/hdf5.hpp"
#include "common/result_completeness.hpp"
#include "tests/support/test_experiment.hpp"
#include "tests/temp_dir.hpp"

using namespace gridfold;
using gridfold::testing::TempDir;
using gridfold::testing::TestExperiment;
namespace fs = std::filesystem;

namespace {

const std::string kSpec = R"(name: complete
data: {path: d.csv, targets: [y]}
grid:
  training.lr: [0.1]
resampling:
  outer: {kfold: {k: 2}}
)";

std::vector<std::byte> bytes_of(const fs::path& file) {
  std::vector<std::byte> bytes;
  REQUIRE(read_file_bytes(file, bytes));
  return bytes;
}

void write_bytes(const fs::path& file, std::span<const std::byte> bytes) {
  std::ofstream(file, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// The answer from the bytes must be the HDF5 library's answer for a file holding them.
bool agrees_with_library(const fs::path& scratch, std::span<const std::byte> bytes) {
  write_bytes(scratch, bytes);
  return is_complete_fold_result(scratch, bytes) == is_complete_fold_result(scratch);
}

}  // namespace

TEST_CASE("a result as write_fold_result writes it is found complete from its bytes alone", "[completeness]") {
  TempDir dir;
  const TestExperiment e(dir / "exp", kSpec, 20);
  const std::vector<std::byte> bytes = bytes_of(e.write_result(0));
  CHECK(read_completion_marker(bytes) == MarkerReading::complete);
  const fs::path copy = dir / "copy.h5";
  write_bytes(copy, bytes);
  CHECK(is_complete_fold_result(copy, bytes));
  CHECK(is_complete_fold_result(copy));
}

TEST_CASE("every truncated copy of a result is incomplete, from its bytes as for the HDF5 library", "[completeness]") {
  TempDir dir;
  const TestExperiment e(dir / "exp", kSpec, 20);
  const std::vector<std::byte> bytes = bytes_of(e.write_result(0));
  for (std::size_t length = 0; length < bytes.size(); length += length < 64 ? 1 : 97) {
    INFO("first " << length << " of " << bytes.size() << " bytes");
    const std::span<const std::byte> prefix(bytes.data(), length);
    CHECK(read_completion_marker(prefix) != MarkerReading::complete);
    write_bytes(dir / "truncated.h5", prefix);
    CHECK_FALSE(is_complete_fold_result(dir / "truncated.h5", prefix));
    CHECK_FALSE(is_complete_fold_result(dir / "truncated.h5"));
  }
}

TEST_CASE("a file without the marker on its root group, or with a marker other than 1, is incomplete",
          "[completeness]") {
  TempDir dir;
  const fs::path file = dir / "result.h5";
  const auto write = [&](auto fill) {
    {
      const h5::File f = h5::File::create(file);
      f.set_attr("schema_version", kFoldResultSchemaVersion);
      fill(f);
    }
    return bytes_of(file);
  };
  SECTION("no marker") {
    const auto bytes = write([](const h5::File&) {});
    CHECK(read_completion_marker(bytes) == MarkerReading::ask_library);
    CHECK_FALSE(is_complete_fold_result(file, bytes));
  }
  SECTION("marker 0") {
    const auto bytes = write([](const h5::File& f) { f.set_attr("complete", std::int64_t{0}); });
    CHECK(read_completion_marker(bytes) == MarkerReading::ask_library);
    CHECK_FALSE(is_complete_fold_result(file, bytes));
  }
  SECTION("the marker on a group, not on the root") {
    const auto bytes = write([](const h5::File& f) { f.create_group("g").set_attr("complete", std::int64_t{1}); });
    CHECK(read_completion_marker(bytes) == MarkerReading::ask_library);
    CHECK_FALSE(is_complete_fold_result(file, bytes));
  }
  SECTION("marker 1 after many other attributes") {
    const auto bytes = write([](const h5::File& f) {
      for (int i = 0; i < 40; ++i) f.set_attr("attribute_" + std::to_string(i), std::string(50, 'x'));
      f.set_attr("complete", std::int64_t{1});
    });
    CHECK(read_completion_marker(bytes) == MarkerReading::complete);
    CHECK(is_complete_fold_result(file, bytes));
  }
}

TEST_CASE("bytes the direct reading does not decide get the HDF5 library's answer", "[completeness]") {
  TempDir dir;
  const TestExperiment e(dir / "exp", kSpec, 20);
  std::vector<std::byte> bytes = bytes_of(e.write_result(0));
  SECTION("a result with bytes appended") {
    bytes.resize(bytes.size() + 100, std::byte{0});
    CHECK(read_completion_marker(bytes) == MarkerReading::ask_library);
    CHECK(agrees_with_library(dir / "longer.h5", bytes));
  }
  SECTION("not HDF5 at all") {
    const std::string text = "a result whose writer died";
    const auto* p = reinterpret_cast<const std::byte*>(text.data());
    const std::vector<std::byte> other(p, p + text.size());
    CHECK(read_completion_marker(other) == MarkerReading::ask_library);
    CHECK(agrees_with_library(dir / "text.h5", other));
    CHECK_FALSE(is_complete_fold_result(dir / "text.h5", other));
  }
}
