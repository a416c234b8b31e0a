#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

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

TEST_CASE("eval_max_samples caps the rows every validation scores, and the training rows stay the same", "[unit]") {
  use_threads(1);
  ExperimentSpec spec = toy_spec();
  spec.training.epochs = 2;
  spec.training.validation_fraction = 0.25;  // 40 of the 160 training rows
  const EncodedData data(test::toy_dataset(200), spec.data);
  const Split rows = split_rows(data.size());
  const auto validated_rows = [&](int cap) {
    spec.training.eval_max_samples = cap;
    std::vector<std::int64_t> scored;
    const TrainingOutcome out =
        train_and_evaluate(spec, data, rows.train, rows.test, 5,
                           [&](const TrainingProgress& p) { scored.push_back(p.validation_rows); });
    CHECK(out.samples_trained == 2 * 120);
    return scored;
  };
  CHECK(validated_rows(0) == std::vector<std::int64_t>{40, 40});
  CHECK(validated_rows(7) == std::vector<std::int64_t>{7, 7});
  CHECK(validated_rows(100) == std::vector<std::int64_t>{40, 40});
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

TEST_CASE("with the non_finite rule set to stop, a loss that is non-finite before any validation still fails",
          "[unit]") {
  use_threads(1);
  ExperimentSpec spec = toy_spec();
  spec.data.standardize_targets = false;
  spec.diagnostics.non_finite.action = RuleAction::stop;
  Dataset dataset = test::toy_dataset(100);
  for (auto& v : dataset.targets[0]) v = 1e30f;
  const EncodedData data(std::move(dataset), spec.data);
  const Split rows = split_rows(data.size());
  CHECK_THROWS_WITH(train_and_evaluate(spec, data, rows.train, rows.test, 1),
                    Catch::Contains("the non_finite rule stopped training at epoch 1 step 1") &&
                        Catch::Contains("before any validation kept weights"));
}

TEST_CASE("every validation records gradient, weight and update norms per layer group", "[unit]") {
  use_threads(1);
  ExperimentSpec spec = toy_spec();
  spec.training.epochs = 3;
  spec.training.eval_every = 4;
  const EncodedData data(test::toy_dataset(200), spec.data);
  const Split rows = split_rows(data.size());
  const TrainingOutcome out = train_and_evaluate(spec, data, rows.train, rows.test, 5);
  const DiagnosticSeries& s = out.diagnostics.series;
  REQUIRE(s.size() == out.history_step.size());
  CHECK(s.step == out.history_step);
  const std::size_t groups = s.groups.size();
  REQUIRE(groups >= 4);  // conv blocks, batch norms, dense layer, head
  CHECK(std::find(s.groups.begin(), s.groups.end(), "branch0_head") != s.groups.end());
  REQUIRE(s.group_gradient_norm.size() == s.size() * groups);
  for (std::size_t v = 0; v < s.size(); ++v) {
    CHECK(s.gradient_norm[v] > 0);
    CHECK(std::isfinite(s.gradient_norm[v]));
    CHECK(s.update_ratio[v] > 0);
    CHECK(s.update_ratio[v] < 1);
    CHECK(s.learning_rate[v] == spec.training.lr);
    CHECK(s.dead_relu[v] >= 0);
    CHECK(s.dead_relu[v] <= 1);
    double squares = 0;
    for (std::size_t g = 0; g < groups; ++g) squares += std::pow(double(s.group_gradient_norm[v * groups + g]), 2);
    CHECK(std::sqrt(squares) == Approx(s.gradient_norm[v]).epsilon(1e-4));
  }
}

TEST_CASE("recording diagnostics leaves the training as it was", "[unit]") {
  use_threads(1);
  ExperimentSpec spec = toy_spec();
  spec.training.epochs = 3;
  spec.training.eval_every = 4;
  spec.training.weight_decay = 0.01;  // makes the optimizer reuse the gradient buffer
  const EncodedData data(test::toy_dataset(200), spec.data);
  const Split rows = split_rows(data.size());
  const TrainingOutcome recorded = train_and_evaluate(spec, data, rows.train, rows.test, 5);
  spec.diagnostics.enabled = false;
  const TrainingOutcome plain = train_and_evaluate(spec, data, rows.train, rows.test, 5);
  CHECK(plain.diagnostics.empty());
  CHECK_FALSE(recorded.diagnostics.empty());
  CHECK(recorded.prediction == plain.prediction);
  CHECK(recorded.validation_loss == plain.validation_loss);
}

TEST_CASE("a rule with action stop ends training at its firing and says which rule it was", "[unit]") {
  use_threads(1);
  ExperimentSpec spec = toy_spec();
  spec.training.epochs = 10;
  spec.training.patience = 0;
  spec.diagnostics.exploding_gradient = {RuleAction::stop, 1e-3, 0};  // every real gradient is larger
  const EncodedData data(test::toy_dataset(200), spec.data);
  const Split rows = split_rows(data.size());
  const TrainingOutcome out = train_and_evaluate(spec, data, rows.train, rows.test, 5);
  CHECK(out.history_step.size() == 1);
  REQUIRE(out.diagnostics.stopped_by() == DiagnosticRule::exploding_gradient);
  const RuleFiring& firing = out.diagnostics.firings.back();
  CHECK(firing.validation == 0);
  CHECK(firing.epoch == 1);
  CHECK(firing.step == out.history_step[0]);
  CHECK(firing.value == out.diagnostics.series.gradient_norm[0]);
  CHECK(out.best_index == 0);
  CHECK(out.metrics.at("gc").count("r2") == 1);  // scored as usual, with the kept weights

  spec.diagnostics.exploding_gradient.action = RuleAction::record;
  const TrainingOutcome recorded = train_and_evaluate(spec, data, rows.train, rows.test, 5);
  CHECK(recorded.history_step.size() == 10);
  CHECK_FALSE(recorded.diagnostics.stopped_by());
  REQUIRE_FALSE(recorded.diagnostics.firings.empty());
  CHECK(recorded.diagnostics.firings[0].rule == DiagnosticRule::exploding_gradient);
}

TEST_CASE("balanced sampling without a binary or multiclass target is refused by name", "[unit]") {
  ExperimentSpec spec = toy_spec();
  spec.data.targets.pop_back();  // only the regression target "gc" is left
  spec.training.balanced_sampling = true;
  Dataset dataset = test::toy_dataset(50);
  dataset.target_names.pop_back();
  dataset.targets.pop_back();
  const EncodedData data(std::move(dataset), spec.data);
  const Split rows = split_rows(data.size());
  CHECK_THROWS_AS(train_and_evaluate(spec, data, rows.train, rows.test, 1), SpecError);
  CHECK_THROWS_WITH(train_and_evaluate(spec, data, rows.train, rows.test, 1),
                    Catch::Contains("training.balanced_sampling") && Catch::Contains("gc (regression)"));
}

TEST_CASE("a model trained on random crops of long sequences finds a motif anywhere in them", "[unit]") {
  use_threads(1);
  // 150-300 nt of random DNA; in half of them a motif recurs every 40 nt or so, on either
  // strand, so most 50-nt crops of a positive show it and no crop of a negative does.
  std::mt19937_64 rng(21);
  const std::string motif = "GATTACAGG", motif_rc = "CCTGTAATC";
  Dataset d;
  d.target_names = {"motif"};
  d.targets.assign(1, {});
  for (std::size_t i = 0; i < 300; ++i) {
    std::string s;
    const std::size_t length = 150 + rng() % 151;
    for (std::size_t p = 0; p < length; ++p) s.push_back("ACGT"[rng() % 4]);
    const bool positive = i % 2 == 0;
    if (positive) {
      for (std::size_t at = rng() % 30; at + motif.size() <= length; at += 30 + rng() % 20) {
        s.replace(at, motif.size(), rng() % 2 ? motif : motif_rc);
      }
    }
    d.ids.push_back("s" + std::to_string(i));
    d.sequences.push_back(s);
    d.targets[0].push_back(positive ? 1.0f : 0.0f);
  }
  ExperimentSpec spec = toy_spec();
  spec.data.targets = {{"motif", TaskType::binary, {}, 0.0, 1.0}};
  spec.model.global_pooling = Pooling::max;
  spec.model.kernel_size = 9;
  spec.training.crop_length = 50;
  spec.training.reverse_complement = 0.5;
  spec.training.balanced_sampling = true;
  spec.training.epochs = 20;
  const EncodedData data(std::move(d), spec.data);
  const Split rows = split_rows(data.size());
  const TrainingOutcome out = train_and_evaluate(spec, data, rows.train, rows.test, 3);
  CHECK(out.metrics.at("motif").at("auroc") > 0.9);
  CHECK(out.metrics.at("motif").at("accuracy") > 0.8);
}

TEST_CASE("a task with crops, strand flips and balanced sampling trains identically twice with the same seed",
          "[unit]") {
  use_threads(1);
  ExperimentSpec spec = toy_spec();
  spec.training.epochs = 2;
  spec.training.crop_length = 12;
  spec.training.reverse_complement = 0.5;
  spec.training.balanced_sampling = true;
  const EncodedData data(test::toy_dataset(200), spec.data);
  const Split rows = split_rows(data.size());
  const TrainingOutcome a = train_and_evaluate(spec, data, rows.train, rows.test, 5);
  const TrainingOutcome b = train_and_evaluate(spec, data, rows.train, rows.test, 5);
  const TrainingOutcome c = train_and_evaluate(spec, data, rows.train, rows.test, 6);
  CHECK(a.prediction == b.prediction);
  CHECK(a.validation_loss == b.validation_loss);
  CHECK(a.validation_loss != c.validation_loss);
  CHECK(a.samples_trained == 2 * (rows.train.size() - std::size_t(std::llround(0.1 * double(rows.train.size())))));
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
