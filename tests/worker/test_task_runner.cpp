#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "common/config_text.hpp"
#include "common/fold_result.hpp"
#include "common/plan.hpp"
#include "tests/worker/toy_data.hpp"
#include "worker/task_runner.hpp"
#include "worker/torch_runtime.hpp"

using namespace gridfold;
using namespace gridfold::worker;

namespace {

struct ToyExperiment {
  ExperimentLayout layout;
  ExperimentPlan plan;
};

// A planned three-fold experiment on toy data; `gc_value` replaces every gc target when set.
ToyExperiment toy_experiment(const std::string& name, std::optional<double> gc_value = {},
                             const std::string& device = "auto") {
  const auto dir = test::fresh_directory(name);
  const Dataset data = test::toy_dataset(120);
  std::ofstream csv(dir / "toy.csv");
  csv << "id,sequence,gc\n";
  for (std::size_t i = 0; i < data.size(); ++i) {
    csv << data.ids[i] << ',' << data.sequences[i] << ',' << (gc_value ? *gc_value : data.targets[0][i]) << '\n';
  }
  csv.close();
  ExperimentLayout layout(dir);
  std::ofstream(layout.spec()) << fmt::format(R"(name: toy_{}
data:
  path: toy.csv
  id_column: id
  sequence_column: sequence
  alphabet: dna
  standardize_targets: {}
  targets:
    - {{name: gc, task: regression}}
model: {{family: cnn1d, filters: [8], kernel_size: 3, global_pooling: sum, dense: [8], dropout: 0.0}}
training: {{epochs: 2, batch_size: 16, lr: 0.003, seed: 3, threads: 1, device: {}}}
resampling:
  outer: {{kfold: {{k: 3}}}}
  seed: 1
)",
                                              name, gc_value ? "false" : "true", device);
  const SpecDocument document = SpecDocument::load(layout.spec());
  ExperimentPlan plan = make_plan(document, data.size(), {}, {});
  plan.spec_dir = dir;
  plan.data_checksum = data_checksum(document.base().data);
  write_plan(layout.plan(), plan);
  return {layout, read_plan(layout.plan())};
}

std::string file_text(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TEST_CASE("a task writes its fold result, and a rerun skips it", "[unit]") {
  const ToyExperiment e = toy_experiment("runs");
  std::vector<std::string> lines;
  TaskOptions options;
  options.report = [&lines](const std::string& line) { lines.push_back(line); };
  const TaskOutcome first = run_task(e.layout, e.plan, 1, options);
  REQUIRE(first.status == TaskOutcome::Status::trained);
  const Task& task = e.plan.tasks[1];
  const Config& config = e.plan.configs[task.config];
  CHECK(first.file == e.layout.result(config.id, task.outer_fold, task.inner_fold));

  const FoldResult result = read_fold_result(first.file);
  CHECK(result.experiment == "toy_runs");
  CHECK(result.task == 1);
  const auto test_rows = e.plan.folds.outer_test[task.outer_fold];
  CHECK(result.sample_index == std::vector<std::uint32_t>(test_rows.begin(), test_rows.end()));
  CHECK(result.metrics.at("gc").count("r2") == 1);
  CHECK_FALSE(result.provenance.torch_version.empty());
  const CudaRuntime cuda = cuda_runtime();
  const std::string device = cuda.compiled && cuda.visible_devices > 0 ? "cuda:0" : "cpu";
  CHECK(result.provenance.device == device);
  CHECK(first.device == device);
  CHECK(result.history_step.size() == 2);

  REQUIRE(lines.size() >= 2);
  CHECK_THAT(lines.front(),
             Catch::StartsWith(fmt::format("task 1 config {} outer {}: training on {} (training.device auto", config.id,
                                           task.outer_fold, device)));
  lines.erase(lines.begin());
  for (const auto& line : lines) {
    CHECK(line.rfind(fmt::format("task 1 config {} outer {}: epoch ", config.id, task.outer_fold), 0) == 0);
    CHECK(line.find_first_of("\r\n") == std::string::npos);
  }
  CHECK(lines.back().find("epoch 2/2") != std::string::npos);

  CHECK(run_task(e.layout, e.plan, 1, options).status == TaskOutcome::Status::skipped);
}

TEST_CASE("a loss that becomes NaN or infinite fails the task with that reason", "[unit]") {
  const ToyExperiment e = toy_experiment("diverges", 1e30);
  const TaskOutcome outcome = run_task(e.layout, e.plan, 0, {});
  REQUIRE(outcome.status == TaskOutcome::Status::failed);
  CHECK_THAT(outcome.message, Catch::Contains("training loss became inf at epoch 1"));
  const Task& task = e.plan.tasks[0];
  CHECK(outcome.file == e.layout.failure(e.plan.configs[task.config].id, task.outer_fold, task.inner_fold));
  const std::string text = file_text(outcome.file);
  CHECK_THAT(text, Catch::Contains("task: 0\n"));
  CHECK_THAT(text, Catch::Contains("reason: training loss became inf"));
  CHECK_FALSE(std::filesystem::exists(e.layout.result(e.plan.configs[task.config].id, task.outer_fold, -1)));
}

TEST_CASE("training.device cuda without a usable GPU fails the task with the reason, never trains on the CPU",
          "[unit]") {
  const CudaRuntime cuda = cuda_runtime();
  if (cuda.compiled && cuda.visible_devices > 0) {
    WARN("skipped: this machine has a usable GPU, so training.device cuda trains");
    return;
  }
  const ToyExperiment e = toy_experiment("cuda_required", {}, "cuda");
  const TaskOutcome outcome = run_task(e.layout, e.plan, 0, {});
  REQUIRE(outcome.status == TaskOutcome::Status::failed);
  CHECK_THAT(outcome.message, Catch::Contains("training.device is cuda but"));
  CHECK_THAT(file_text(outcome.file), Catch::Contains("reason: training.device is cuda but"));
  const Task& task = e.plan.tasks[0];
  CHECK_FALSE(std::filesystem::exists(e.layout.result(e.plan.configs[task.config].id, task.outer_fold, -1)));
}

TEST_CASE("a task index outside the plan is a usage error", "[unit]") {
  const ToyExperiment e = toy_experiment("outside");
  CHECK_THROWS_AS(run_task(e.layout, e.plan, e.plan.tasks.size(), {}), std::out_of_range);
}

TEST_CASE("an interrupted task keeps a complete checkpoint, resumes from it and removes it with its result", "[unit]") {
  const ToyExperiment e = toy_experiment("resumes");
  const Task& task = e.plan.tasks[2];
  const std::string& config = e.plan.configs[task.config].id;
  const auto checkpoint = e.layout.checkpoint(config, task.outer_fold, task.inner_fold);
  TaskOptions stopping;
  stopping.checkpoint_request = [calls = 0]() mutable {
    return ++calls == 4 ? CheckpointRequest::save_and_stop : CheckpointRequest::none;
  };
  const TaskOutcome stopped = run_task(e.layout, e.plan, 2, stopping);
  REQUIRE(stopped.status == TaskOutcome::Status::interrupted);
  CHECK_THAT(stopped.message, Catch::Contains("step 4") && Catch::Contains(checkpoint.string()));
  CHECK_FALSE(std::filesystem::exists(e.layout.result(config, task.outer_fold, task.inner_fold)));
  CHECK_FALSE(std::filesystem::exists(e.layout.failure(config, task.outer_fold, task.inner_fold)));
  // Only the final name: the temporary file it was written under is gone.
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(checkpoint.parent_path())) files.push_back(entry.path());
  CHECK(files == std::vector<std::filesystem::path>{checkpoint});

  std::vector<std::string> lines;
  TaskOptions options;
  options.report = [&lines](const std::string& line) { lines.push_back(line); };
  const TaskOutcome resumed = run_task(e.layout, e.plan, 2, options);
  REQUIRE(resumed.status == TaskOutcome::Status::trained);
  REQUIRE(lines.size() >= 2);  // the first names the device
  CHECK(lines[1] ==
        fmt::format("task 2 config {} outer {}: resuming from checkpoint at epoch 1 step 4", config, task.outer_fold));
  CHECK_FALSE(std::filesystem::exists(checkpoint));
  CHECK(read_fold_result(resumed.file).history_step.size() == 2);
}

TEST_CASE("a checkpoint left by a different spec text is not resumed", "[unit]") {
  ToyExperiment e = toy_experiment("stale-checkpoint");
  TaskOptions stopping;
  stopping.checkpoint_request = [] { return CheckpointRequest::save_and_stop; };
  REQUIRE(run_task(e.layout, e.plan, 0, stopping).status == TaskOutcome::Status::interrupted);
  std::ofstream(e.layout.spec(), std::ios::app) << "# edited after the interruption\n";

  std::vector<std::string> lines;
  TaskOptions options;
  options.report = [&lines](const std::string& line) { lines.push_back(line); };
  REQUIRE(run_task(e.layout, e.plan, 0, options).status == TaskOutcome::Status::trained);
  REQUIRE(lines.size() >= 2);  // the first names the device
  CHECK_THAT(lines[1], Catch::Contains("ignoring checkpoint") && Catch::Contains("training from the start"));
}

TEST_CASE("a result made from another resampling plan is stale: its task trains again and the old result is kept",
          "[unit]") {
  const ToyExperiment e = toy_experiment("stale-result");
  REQUIRE(run_task(e.layout, e.plan, 1, {}).status == TaskOutcome::Status::trained);
  const Task& task = e.plan.tasks[1];
  const auto file = e.layout.result(e.plan.configs[task.config].id, task.outer_fold, task.inner_fold);
  FoldResult old = read_fold_result(file);
  old.fingerprint.resampling = "resampling.seed=2\n";  // as if planned with another seed
  write_fold_result(file, old);

  const TaskOutcome rerun = run_task(e.layout, e.plan, 1, {});
  CHECK(rerun.status == TaskOutcome::Status::trained);
  CHECK(read_fold_result(file).fingerprint == expected_fingerprint(e.plan, 1));
  const auto kept = e.layout.superseded_dir() / "stale" / e.plan.configs[task.config].id /
                    fmt::format("outer{:03d}.{}.h5", task.outer_fold, old.fingerprint.digest());
  REQUIRE(std::filesystem::exists(kept));
  CHECK(read_fold_result(kept).fingerprint.resampling == "resampling.seed=2\n");
  CHECK(run_task(e.layout, e.plan, 1, {}).status == TaskOutcome::Status::skipped);
}

TEST_CASE("a data file edited after planning fails the task instead of training on unplanned data", "[unit]") {
  const ToyExperiment e = toy_experiment("edited-data");
  const auto csv = e.layout.root() / "toy.csv";
  std::string text = file_text(csv);
  // One target value of the first sample changes; the row count stays.
  const std::size_t end_of_row = text.find('\n', text.find('\n') + 1);
  text[end_of_row - 1] = text[end_of_row - 1] == '1' ? '2' : '1';
  std::ofstream(csv) << text;
  const TaskOutcome outcome = run_task(e.layout, e.plan, 0, {});
  REQUIRE(outcome.status == TaskOutcome::Status::failed);
  CHECK_THAT(outcome.message, Catch::Contains("the data changed since planning") && Catch::Contains("--replan"));
}
