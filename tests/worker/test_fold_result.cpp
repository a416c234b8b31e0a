#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>

#include "common/fold_result.hpp"
#include "common/hdf5.hpp"
#include "tests/worker/toy_data.hpp"

using namespace gridfold;

namespace {

FoldResult sample_result() {
  FoldResult r;
  r.experiment = "duplex";
  r.config_id = "0123456789abcdef";
  r.config_index = 3;
  r.outer_fold = 2;
  r.inner_fold = 1;
  r.task = 17;
  r.params = {{"model.filters", "[64, 64]"}, {"training.lr", "0.002"}};
  r.target_names = {"dG", "Tm"};
  r.metrics["dG"] = {{"r2", 0.99}, {"rmse", 0.5}, {"n", 3}};
  r.metrics["Tm"] = {{"r2", 0.95}, {"rmse", std::nan("")}};
  r.sample_index = {4, 9, 11};
  r.truth = {-25.5f, 50.0f, -30.0f, std::nanf(""), -12.0f, 40.0f};
  r.prediction = {-25.0f, 51.0f, -29.0f, 55.0f, -12.5f, 41.0f};
  r.history_step = {45, 90};
  r.history_epoch = {1.0, 2.0};
  r.train_loss = {0.8, 0.4};
  r.validation_loss = {0.9, 0.5};
  r.best_index = 1;
  r.train_seconds = 12.5;
  r.eval_seconds = 0.5;
  r.total_seconds = 13.25;
  r.samples_trained = 5760;
  r.provenance = {"node7",
                  "0.1.0",
                  "1.13.1",
                  "cuda:1",
                  "123",
                  "120",
                  "3",
                  "n7",
                  1,
                  4,
                  "2024-01-01T00:00:00Z",
                  "2024-01-01T00:01:00Z"};
  return r;
}

bool same_floats(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i])))) return false;
  }
  return true;
}

std::string run_command(const std::string& command) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  REQUIRE(pipe);
  std::string out;
  std::array<char, 256> buffer{};
  while (fgets(buffer.data(), buffer.size(), pipe.get())) out += buffer.data();
  return out;
}

}  // namespace

TEST_CASE("a fold result round-trips through HDF5", "[unit]") {
  const auto file = test::fresh_directory("roundtrip") / "results" / "c" / "outer002-inner01.h5";
  const FoldResult written = sample_result();
  write_fold_result(file, written);
  REQUIRE(is_complete_fold_result(file));
  const FoldResult read = read_fold_result(file);
  CHECK(read.experiment == written.experiment);
  CHECK(read.config_id == written.config_id);
  CHECK(read.config_index == 3);
  CHECK(read.outer_fold == 2);
  CHECK(read.inner_fold == 1);
  CHECK(read.task == 17);
  CHECK(read.params == written.params);
  CHECK(read.target_names == written.target_names);
  CHECK(read.metrics.at("dG") == written.metrics.at("dG"));
  CHECK(std::isnan(read.metrics.at("Tm").at("rmse")));
  CHECK(read.sample_index == written.sample_index);
  CHECK(same_floats(read.truth, written.truth));
  CHECK(same_floats(read.prediction, written.prediction));
  CHECK(read.history_step == written.history_step);
  CHECK(read.validation_loss == written.validation_loss);
  CHECK(read.best_index == 1);
  CHECK(read.total_seconds == 13.25);
  CHECK(read.samples_trained == 5760);
  CHECK(read.provenance.host == "node7");
  CHECK(read.provenance.mpi_size == 4);
  CHECK(read.provenance.device == "cuda:1");
  CHECK(read.provenance.finished_at == "2024-01-01T00:01:00Z");
}

TEST_CASE("a fold result keeps its diagnostics series and rule firings, and reads without them", "[unit]") {
  const auto dir = test::fresh_directory("diagnostics");
  FoldResult written = sample_result();
  DiagnosticSeries& s = written.diagnostics.series;
  s.groups = {"trunk.0", "head"};
  s.step = {45, 90};
  s.gradient_norm = {0.5, 2e3};
  s.weight_norm = {10, 11};
  s.update_ratio = {std::nan(""), 1e-3};
  s.learning_rate = {1e-3, 1e-3};
  s.dead_relu = {0, 0.25};
  s.group_gradient_norm = {0.4f, 0.3f, 1.5e3f, 1e3f};
  s.group_weight_norm = {9, 4, 10, 4.5};
  s.group_update_ratio = {std::nanf(""), std::nanf(""), 1e-3f, 2e-3f};
  written.diagnostics.firings = {{DiagnosticRule::exploding_gradient, 1, 2, 90, 2e3, RuleAction::stop}};
  write_fold_result(dir / "with.h5", written);
  const FoldResult read = read_fold_result(dir / "with.h5");
  CHECK(read.diagnostics.series.groups == s.groups);
  CHECK(read.diagnostics.series.step == s.step);
  CHECK(read.diagnostics.series.gradient_norm == s.gradient_norm);
  CHECK(read.diagnostics.series.dead_relu == s.dead_relu);
  CHECK(std::isnan(read.diagnostics.series.update_ratio[0]));
  CHECK(read.diagnostics.series.group_gradient_norm == s.group_gradient_norm);
  CHECK(same_floats(read.diagnostics.series.group_update_ratio, s.group_update_ratio));
  CHECK(read.diagnostics.firings == written.diagnostics.firings);
  CHECK(read.diagnostics.stopped_by() == DiagnosticRule::exploding_gradient);
  CHECK(h5::File::open_read(dir / "with.h5").group("diagnostics").attr_string("stopped_by") == "exploding_gradient");

  write_fold_result(dir / "without.h5", sample_result());
  CHECK_FALSE(h5::File::open_read(dir / "without.h5").exists("diagnostics"));
  CHECK(read_fold_result(dir / "without.h5").diagnostics.empty());
}

TEST_CASE("a fold result reads from an in-memory image", "[unit]") {
  const auto file = test::fresh_directory("image") / "r.h5";
  write_fold_result(file, sample_result());
  std::ifstream in(file, std::ios::binary);
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const FoldResult read = read_fold_result_image(bytes.data(), bytes.size(), "archive/r.h5");
  CHECK(read.config_id == "0123456789abcdef");
  CHECK(read.metrics.at("dG").at("r2") == 0.99);
}

TEST_CASE("only a result with its completion marker counts as complete", "[unit]") {
  const auto dir = test::fresh_directory("complete");
  CHECK_FALSE(is_complete_fold_result(dir / "missing.h5"));
  std::ofstream(dir / "garbage.h5") << "not hdf5";
  CHECK_FALSE(is_complete_fold_result(dir / "garbage.h5"));
  {
    const auto unfinished = h5::File::create(dir / "unfinished.h5");
    unfinished.set_attr("schema_version", std::int64_t{1});
  }
  CHECK_FALSE(is_complete_fold_result(dir / "unfinished.h5"));
  CHECK_THROWS_WITH(read_fold_result(dir / "unfinished.h5"), Catch::Contains("no completion marker"));
}

TEST_CASE("a fold result is readable by h5py", "[unit]") {
  const auto file = test::fresh_directory("h5py") / "r.h5";
  write_fold_result(file, sample_result());
  const std::string script = fmt::format(
      "import h5py\n"
      "f = h5py.File('{}', 'r')\n"
      "print(f.attrs['config_id'], f.attrs['outer_fold'], f.attrs['complete'])\n"
      "print(round(float(f['metrics/dG'].attrs['r2']), 3))\n"
      "print(f['predictions/prediction'].shape, f['predictions/prediction'][2, 1])\n"
      "print([s.decode() for s in f['predictions/target_names'][:]], list(f['predictions/sample_index'][:]))\n"
      "print([s.decode() for s in f['config/paths'][:]], f['history'].attrs['best_index'])\n"
      "print(f['provenance'].attrs['host'])\n",
      file.string());
  const auto script_file = file.parent_path() / "read.py";
  std::ofstream(script_file) << script;
  const std::string out = run_command("/usr/bin/python3 " + script_file.string() + " 2>&1");
  CHECK(out ==
        "0123456789abcdef 2 1\n"
        "0.99\n"
        "(3, 2) 41.0\n"
        "['dG', 'Tm'] [4, 9, 11]\n"
        "['model.filters', 'training.lr'] 1\n"
        "node7\n");
}

TEST_CASE("a target name that cannot name an HDF5 group is refused", "[unit]") {
  FoldResult r = sample_result();
  r.metrics["a/b"] = {{"r2", 1.0}};
  const auto file = test::fresh_directory("badname") / "r.h5";
  CHECK_THROWS_WITH(write_fold_result(file, r), Catch::Contains("'a/b'"));
  CHECK_FALSE(std::filesystem::exists(file));
}
