#include <catch2/catch.hpp>

#include <numeric>

#include "tests/worker/toy_data.hpp"
#include "worker/encoded_data.hpp"
#include "worker/torch_runtime.hpp"
#include "worker/trainer.hpp"

using namespace gridfold;
using namespace gridfold::worker;

namespace {

ExperimentSpec toy_spec() {
  ExperimentSpec spec;
  spec.data = test::toy_data_spec();
  spec.model.filters = {16, 16};
  spec.model.kernel_size = 3;
  spec.model.global_pooling = Pooling::sum;
  spec.model.dense = {16};
  spec.model.dropout = 0;
  spec.training.epochs = 30;
  spec.training.batch_size = 32;
  spec.training.lr = 3e-3;
  spec.training.patience = 5;
  return spec;
}

struct Split {
  std::vector<std::uint32_t> train, test;
};

Split split_rows(std::size_t count, std::size_t test_every = 5) {
  Split s;
  for (std::uint32_t i = 0; i < count; ++i) (i % test_every == 0 ? s.test : s.train).push_back(i);
  return s;
}

}  // namespace

TEST_CASE("training learns a counting target and a binary target", "[unit]") {
  use_threads(1);
  const ExperimentSpec spec = toy_spec();
  const EncodedData data(test::toy_dataset(600), spec.data);
  const Split rows = split_rows(data.size());
  const TrainingOutcome out = train_and_evaluate(spec, data, rows.train, rows.test, 11);
  CHECK(out.target_names == std::vector<std::string>{"gc", "a_rich"});
  CHECK(out.metrics.at("gc").at("r2") > 0.9);
  CHECK(out.metrics.at("a_rich").at("auroc") > 0.8);
  REQUIRE(out.truth.size() == rows.test.size() * 2);
  CHECK(out.truth[0] == data.dataset().targets[0][rows.test[0]]);  // original units
  CHECK(out.history_step.size() == out.validation_loss.size());
  CHECK(out.best_index >= 0);
  CHECK(out.samples_trained > 0);
}

TEST_CASE("a task trains identically twice with the same seed", "[unit]") {
  use_threads(1);
  ExperimentSpec spec = toy_spec();
  spec.training.epochs = 2;
  spec.model.dropout = 0.2;  // dropout draws from the seeded generator too
  const EncodedData data(test::toy_dataset(200), spec.data);
  const Split rows = split_rows(data.size());
  const TrainingOutcome a = train_and_evaluate(spec, data, rows.train, rows.test, 5);
  const TrainingOutcome b = train_and_evaluate(spec, data, rows.train, rows.test, 5);
  CHECK(a.prediction == b.prediction);
  CHECK(a.validation_loss == b.validation_loss);
}

TEST_CASE("eval_every validates every N steps and patience stops early", "[unit]") {
  use_threads(1);
  ExperimentSpec spec = toy_spec();
  spec.training.epochs = 50;
  spec.training.eval_every = 3;
  spec.training.patience = 2;
  spec.training.lr = 1e-6;  // too small to improve, so patience runs out
  const EncodedData data(test::toy_dataset(200), spec.data);
  const Split rows = split_rows(data.size());
  const TrainingOutcome out = train_and_evaluate(spec, data, rows.train, rows.test, 5);
  REQUIRE(!out.history_step.empty());
  for (std::size_t i = 0; i < out.history_step.size(); ++i) CHECK(out.history_step[i] == 3 * std::int64_t(i + 1));
  CHECK(out.history_step.size() < 50);
}

TEST_CASE("a loss that becomes NaN or infinite fails training with that reason", "[unit]") {
  use_threads(1);
  ExperimentSpec spec = toy_spec();
  spec.data.standardize_targets = false;
  Dataset dataset = test::toy_dataset(100);
  for (auto& v : dataset.targets[0]) v = 1e30f;  // its square overflows float
  const EncodedData data(std::move(dataset), spec.data);
  const Split rows = split_rows(data.size());
  CHECK_THROWS_AS(train_and_evaluate(spec, data, rows.train, rows.test, 1), TrainingError);
  CHECK_THROWS_WITH(train_and_evaluate(spec, data, rows.train, rows.test, 1),
                    Catch::Contains("training loss became inf at epoch 1 step 1"));
}

TEST_CASE("training settings the worker cannot honour are refused by name", "[unit]") {
  ExperimentSpec spec = toy_spec();
  spec.training.crop_length = 10;
  const EncodedData data(test::toy_dataset(50), spec.data);
  const Split rows = split_rows(data.size());
  CHECK_THROWS_WITH(train_and_evaluate(spec, data, rows.train, rows.test, 1),
                    Catch::Contains("training.crop_length"));
}

TEST_CASE("reverse-complement augmentation trains", "[unit]") {
  use_threads(1);
  ExperimentSpec spec = toy_spec();
  spec.training.epochs = 2;
  spec.training.reverse_complement = 0.5;
  const EncodedData data(test::toy_dataset(200), spec.data);
  const Split rows = split_rows(data.size());
  const TrainingOutcome out = train_and_evaluate(spec, data, rows.train, rows.test, 5);
  CHECK(std::isfinite(out.train_loss.back()));
}
