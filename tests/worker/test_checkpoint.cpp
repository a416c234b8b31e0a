#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "tests/worker/toy_data.hpp"
#include "worker/checkpoint.hpp"
#include "worker/encoded_data.hpp"
#include "worker/torch_runtime.hpp"
#include "worker/trainer.hpp"

using namespace gridfold;
using namespace gridfold::worker;

namespace {

// Every source of training randomness on: dropout (torch's generator), reverse-complement
// draws and batch order (the order generator), early stopping with validation in mid-epoch.
ExperimentSpec toy_spec() {
  ExperimentSpec spec;
  spec.data = test::toy_data_spec();
  spec.model.filters = {8};
  spec.model.kernel_size = 3;
  spec.model.global_pooling = Pooling::sum;
  spec.model.dense = {8};
  spec.model.dropout = 0.2;
  spec.training.epochs = 4;
  spec.training.batch_size = 16;
  spec.training.lr = 3e-3;
  spec.training.patience = 3;
  spec.training.eval_every = 5;
  spec.training.reverse_complement = 0.5;
  return spec;
}

struct Split {
  std::vector<std::uint32_t> train, test;
};

Split split_rows(std::size_t count) {
  Split s;
  for (std::uint32_t i = 0; i < count; ++i) (i % 5 == 0 ? s.test : s.train).push_back(i);
  return s;
}

// Stops training at its `stop_at`-th step boundary, as SIGTERM does.
std::function<CheckpointRequest()> stop_at(int step) {
  return [calls = 0, step]() mutable {
    return ++calls == step ? CheckpointRequest::save_and_stop : CheckpointRequest::none;
  };
}

Checkpointing checkpoint_in(const std::filesystem::path& dir, const std::string& identity,
                            std::vector<std::string>* reports = nullptr) {
  Checkpointing c;
  c.file = dir / "checkpoints" / "task.pt";
  c.identity = identity;
  if (reports) c.report = [reports](const std::string& line) { reports->push_back(line); };
  return c;
}

void check_same_training(const TrainingOutcome& resumed, const TrainingOutcome& uninterrupted) {
  CHECK(resumed.history_step == uninterrupted.history_step);
  CHECK(resumed.train_loss == uninterrupted.train_loss);
  CHECK(resumed.validation_loss == uninterrupted.validation_loss);
  CHECK(resumed.best_index == uninterrupted.best_index);
  CHECK(resumed.samples_trained == uninterrupted.samples_trained);
  CHECK(resumed.prediction == uninterrupted.prediction);
  CHECK(resumed.metrics == uninterrupted.metrics);
  CHECK(resumed.diagnostics.series.step == uninterrupted.diagnostics.series.step);
  CHECK(resumed.diagnostics.series.gradient_norm == uninterrupted.diagnostics.series.gradient_norm);
  CHECK(resumed.diagnostics.series.group_update_ratio == uninterrupted.diagnostics.series.group_update_ratio);
  CHECK(resumed.diagnostics.series.groups == uninterrupted.diagnostics.series.groups);
  CHECK(resumed.diagnostics.firings == uninterrupted.diagnostics.firings);
}

}  // namespace

TEST_CASE("a training stopped mid-epoch and resumed from its checkpoint ends exactly like an uninterrupted one",
          "[unit]") {
  use_threads(1);
  const ExperimentSpec spec = toy_spec();
  const EncodedData data(test::toy_dataset(200), spec.data);
  const Split rows = split_rows(data.size());
  const TrainingOutcome uninterrupted = train_and_evaluate(spec, data, rows.train, rows.test, 5);
  REQUIRE(uninterrupted.history_step.size() > 3);

  // 144 fitting rows make an epoch of 9 steps: stop inside the first epoch, at its last step,
  // right after a validation (step 10), and inside the second epoch.
  const int stop_step = GENERATE(3, 9, 10, 13);
  const auto dir = test::fresh_directory("checkpoint-resume");
  Checkpointing stopping = checkpoint_in(dir, "task 1");
  stopping.request = stop_at(stop_step);
  CHECK_THROWS_AS(train_and_evaluate(spec, data, rows.train, rows.test, 5, {}, stopping), TrainingInterrupted);
  REQUIRE(std::filesystem::exists(stopping.file));

  std::vector<std::string> reports;
  const TrainingOutcome resumed =
      train_and_evaluate(spec, data, rows.train, rows.test, 5, {}, checkpoint_in(dir, "task 1", &reports));
  CHECK(resumed.resumed_from_step == stop_step);
  REQUIRE(reports.size() == 1);
  CHECK_THAT(reports[0], Catch::StartsWith("resuming from checkpoint at epoch") &&
                             Catch::EndsWith("step " + std::to_string(stop_step)));
  check_same_training(resumed, uninterrupted);
}

TEST_CASE("checkpoint_every saves periodically, so a killed training resumes from the last multiple", "[unit]") {
  use_threads(1);
  const ExperimentSpec spec = toy_spec();
  const EncodedData data(test::toy_dataset(200), spec.data);
  const Split rows = split_rows(data.size());
  const TrainingOutcome uninterrupted = train_and_evaluate(spec, data, rows.train, rows.test, 5);

  const auto dir = test::fresh_directory("checkpoint-every");
  Checkpointing killed = checkpoint_in(dir, "task 1");
  killed.every_steps = 4;
  // An exception at the 11th step boundary stands in for SIGKILL: nothing is saved then.
  killed.request = [calls = 0]() mutable {
    if (++calls == 11) throw std::runtime_error("killed");
    return CheckpointRequest::none;
  };
  CHECK_THROWS_WITH(train_and_evaluate(spec, data, rows.train, rows.test, 5, {}, killed), "killed");

  const TrainingOutcome resumed =
      train_and_evaluate(spec, data, rows.train, rows.test, 5, {}, checkpoint_in(dir, "task 1"));
  CHECK(resumed.resumed_from_step == 8);
  check_same_training(resumed, uninterrupted);
}

TEST_CASE("a checkpoint requested without stopping lets training go on unchanged", "[unit]") {
  use_threads(1);
  const ExperimentSpec spec = toy_spec();
  const EncodedData data(test::toy_dataset(200), spec.data);
  const Split rows = split_rows(data.size());
  const TrainingOutcome uninterrupted = train_and_evaluate(spec, data, rows.train, rows.test, 5);

  const auto dir = test::fresh_directory("checkpoint-save");
  Checkpointing saving = checkpoint_in(dir, "task 1");
  saving.request = [calls = 0]() mutable { return ++calls == 6 ? CheckpointRequest::save : CheckpointRequest::none; };
  const TrainingOutcome saved = train_and_evaluate(spec, data, rows.train, rows.test, 5, {}, saving);
  check_same_training(saved, uninterrupted);
  CHECK(std::filesystem::exists(saving.file));
  const TrainingOutcome resumed =
      train_and_evaluate(spec, data, rows.train, rows.test, 5, {}, checkpoint_in(dir, "task 1"));
  CHECK(resumed.resumed_from_step == 6);
  check_same_training(resumed, uninterrupted);
}

TEST_CASE("a checkpoint of another task or spec is ignored and said so, not resumed", "[unit]") {
  use_threads(1);
  const ExperimentSpec spec = toy_spec();
  const EncodedData data(test::toy_dataset(200), spec.data);
  const Split rows = split_rows(data.size());
  const TrainingOutcome uninterrupted = train_and_evaluate(spec, data, rows.train, rows.test, 5);

  const auto dir = test::fresh_directory("checkpoint-stale");
  Checkpointing other = checkpoint_in(dir, "config a outer 0 spec 1234");
  other.request = stop_at(5);
  CHECK_THROWS_AS(train_and_evaluate(spec, data, rows.train, rows.test, 5, {}, other), TrainingInterrupted);
  REQUIRE(std::filesystem::exists(other.file));

  std::vector<std::string> reports;
  const TrainingOutcome fresh = train_and_evaluate(spec, data, rows.train, rows.test, 5, {},
                                                   checkpoint_in(dir, "config a outer 0 spec 5678", &reports));
  CHECK(fresh.resumed_from_step == 0);
  REQUIRE(reports.size() == 1);
  CHECK_THAT(reports[0], Catch::Contains("ignoring checkpoint") && Catch::Contains("spec 1234") &&
                             Catch::Contains("training from the start"));
  check_same_training(fresh, uninterrupted);
}

TEST_CASE("an unreadable checkpoint is ignored and said so", "[unit]") {
  use_threads(1);
  ExperimentSpec spec = toy_spec();
  spec.training.epochs = 1;
  const EncodedData data(test::toy_dataset(100), spec.data);
  const Split rows = split_rows(data.size());
  const auto dir = test::fresh_directory("checkpoint-unreadable");
  std::vector<std::string> reports;
  const Checkpointing c = checkpoint_in(dir, "task 1", &reports);
  std::filesystem::create_directories(c.file.parent_path());
  std::ofstream(c.file) << "not a checkpoint";
  const TrainingOutcome out = train_and_evaluate(spec, data, rows.train, rows.test, 5, {}, c);
  CHECK(out.resumed_from_step == 0);
  REQUIRE(reports.size() == 1);
  CHECK_THAT(reports[0], Catch::Contains("cannot be read"));
}
