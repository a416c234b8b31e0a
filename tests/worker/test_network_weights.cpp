#include <torch/torch.h>
#undef CHECK  // glog's, pulled in by Torch; Catch's is wanted
#include <catch2/catch.hpp>

#include <limits>
#include <numeric>
#include <random>

#include "common/encoding.hpp"
#include "common/model_file.hpp"
#include "tests/worker/toy_data.hpp"
#include "worker/encoded_data.hpp"
#include "worker/models.hpp"
#include "worker/network_weights.hpp"
#include "worker/predictor.hpp"
#include "worker/scoring.hpp"
#include "worker/torch_runtime.hpp"
#include "worker/trainer.hpp"

using namespace gridfold;
using namespace gridfold::worker;

namespace {

const char* kToySpec = R"(name: toy
data:
  path: toy.csv
  targets: [{name: gc, task: regression}, {name: a_rich, task: binary}]
model: {family: cnn1d, filters: [8, 8], kernel_size: 3, global_pooling: sum, dense: [8], dropout: 0}
training: {epochs: 3, batch_size: 32, lr: 0.003}
resampling: {outer: {kfold: {k: 2}}}
)";

// The model file finalize writes for a network trained on `data`.
ModelFile model_of(const TrainingOutcome& trained, const EncodedData& data) {
  ModelFile m;
  m.experiment = "toy";
  m.spec_text = kToySpec;
  m.spec_dir = "/nowhere";
  m.alphabet = Alphabet::dna;
  m.sequence_column = "sequence";
  m.sequence_length = data.input_shape().length;
  m.targets = {{"gc", TaskType::regression, {}}, {"a_rich", TaskType::binary, {}}};
  m.members.push_back(weights_of(*trained.network, trained.standardizer, 2, trained.thresholds));
  return m;
}

// What the trained network itself predicts, in prediction units: gc in original units, a_rich
// as a probability.
std::vector<float> in_memory_predictions(const TrainingOutcome& trained, const EncodedData& data) {
  torch::NoGradGuard no_grad;
  trained.network->set_training(false);
  const torch::Tensor out = trained.network->forward(data.inputs(), data.lengths());
  const torch::Tensor gc = out.select(1, 0) * trained.standardizer->scale[0] + trained.standardizer->mean[0];
  const torch::Tensor a_rich = torch::sigmoid(out.select(1, 1));
  const torch::Tensor both = torch::stack({gc, a_rich}, 1).contiguous();
  return std::vector<float>(both.data_ptr<float>(), both.data_ptr<float>() + both.numel());
}

}  // namespace

TEST_CASE("a network saved to a model file and loaded again predicts exactly what it predicted in memory", "[unit]") {
  use_threads(1);
  const ExperimentSpec spec = SpecDocument::parse(kToySpec, "toy.yaml", "/nowhere").base();
  const EncodedData data(test::toy_dataset(200), spec.data);
  std::vector<std::uint32_t> rows(data.size());
  std::iota(rows.begin(), rows.end(), 0u);
  const TrainingOutcome trained = train_and_evaluate(spec, data, rows, {}, 5);
  REQUIRE(trained.network);
  REQUIRE(trained.standardizer);

  const auto dir = test::fresh_directory("network-weights");
  write_model_file(dir / "model.h5", model_of(trained, data));
  const ModelFile loaded = read_model_file(dir / "model.h5");
  const std::vector<float> expected = in_memory_predictions(trained, data);
  CHECK(predict_samples(loaded, data.dataset(), static_cast<int>(data.size())) == expected);
  // Smaller batches may sum in another order, nothing more.
  const std::vector<float> batched = predict_samples(loaded, data.dataset(), 7);
  REQUIRE(batched.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) CHECK(batched[i] == Approx(expected[i]).epsilon(1e-5));
}

TEST_CASE("an ensemble predicts the mean of its members", "[unit]") {
  use_threads(1);
  const ExperimentSpec spec = SpecDocument::parse(kToySpec, "toy.yaml", "/nowhere").base();
  const EncodedData data(test::toy_dataset(120), spec.data);
  std::vector<std::uint32_t> rows(data.size());
  std::iota(rows.begin(), rows.end(), 0u);
  const TrainingOutcome first = train_and_evaluate(spec, data, rows, {}, 1);
  const TrainingOutcome second = train_and_evaluate(spec, data, rows, {}, 2);
  ModelFile a = model_of(first, data), b = model_of(second, data), both = model_of(first, data);
  both.members.push_back(b.members.front());
  const auto pa = predict_samples(a, data.dataset(), 64), pb = predict_samples(b, data.dataset(), 64);
  const auto mean = predict_samples(both, data.dataset(), 64);
  REQUIRE(mean.size() == pa.size());
  CHECK(pa != pb);
  for (std::size_t i = 0; i < mean.size(); ++i) CHECK(mean[i] == Approx((pa[i] + pb[i]) / 2).epsilon(1e-5));
}

TEST_CASE("weights of another architecture are refused by tensor name and shape", "[unit]") {
  const ExperimentSpec spec = SpecDocument::parse(kToySpec, "toy.yaml", "/nowhere").base();
  const EncodedData data(test::toy_dataset(50), spec.data);
  const auto network = build_network(spec.model, data.input_shape(), data.heads());
  ModelWeights w = weights_of(*network, std::nullopt, 2, {});
  w.tensors.front().shape.back() += 1;
  w.tensors.front().values.resize(w.tensors.front().values.size() / 3 * 4);
  CHECK_THROWS_WITH(load_weights(*network, w), Catch::Contains(w.tensors.front().name) && Catch::Contains("shape"));
  w.tensors.front().name = "renamed";
  CHECK_THROWS_WITH(load_weights(*network, w), Catch::Contains("another architecture"));
}

TEST_CASE("a sequence longer than the model's encoding is refused by its id", "[unit]") {
  const ExperimentSpec spec = SpecDocument::parse(kToySpec, "toy.yaml", "/nowhere").base();
  const EncodedData data(test::toy_dataset(50), spec.data);
  const auto network = build_network(spec.model, data.input_shape(), data.heads());
  ModelFile m;
  m.spec_text = kToySpec;
  m.alphabet = Alphabet::dna;
  m.sequence_column = "sequence";
  m.sequence_length = data.input_shape().length;
  m.targets = {{"gc", TaskType::regression, {}}, {"a_rich", TaskType::binary, {}}};
  m.members.push_back(weights_of(*network, std::nullopt, 2, {}));
  Dataset samples;
  samples.ids = {"long_one"};
  samples.sequences = {std::string(static_cast<std::size_t>(m.sequence_length) + 1, 'A')};
  CHECK_THROWS_WITH(predict_samples(m, samples, 8),
                    Catch::Contains("long_one") && Catch::Contains("at most " + std::to_string(m.sequence_length)));
}

namespace {

const char* kBoundarySpec = R"(name: boundaries
data:
  path: windows.csv
  targets: [{name: labels, task: per_position, classes: [other, start, end], tolerance: 2}]
model: {family: resnet1d, filters: [8, 8], kernel_size: 5, dilations: [1, 2], global_pooling: none, dense: [], dropout: 0}
resampling: {outer: {kfold: {k: 2}}}
)";

}  // namespace

TEST_CASE("per_position predictions: the decision rule over the members' mean probabilities and thresholds", "[unit]") {
  use_threads(1);
  torch::manual_seed(7);
  const ExperimentSpec spec = SpecDocument::parse(kBoundarySpec, "b.yaml", "/nowhere").base();
  const std::vector<OutputHead> heads{{"labels", TaskType::per_position, 3}};
  const auto first = build_network(spec.model, {4, 60, 0}, heads);
  const auto second = build_network(spec.model, {4, 60, 0}, heads);
  Dataset samples;
  std::mt19937 rng(3);
  for (const std::size_t length : {60, 41, 60, 17, 55}) {
    samples.ids.push_back("w" + std::to_string(samples.ids.size()));
    std::string sequence;
    for (std::size_t i = 0; i < length; ++i) sequence += "ACGT"[rng() % 4];
    samples.sequences.push_back(sequence);
  }
  // What the rule should see: the mean of the two networks' class probabilities.
  const EncodedBatch batch = encode_sequences(samples.sequences, Alphabet::dna, 60);
  const torch::Tensor inputs = torch::from_blob(const_cast<float*>(batch.values.data()), {5, 4, 60}, torch::kFloat);
  const torch::Tensor lengths =
      torch::from_blob(const_cast<std::int32_t*>(batch.lengths.data()), {5}, torch::kInt).to(torch::kLong);
  torch::Tensor mean;
  {
    torch::NoGradGuard no_grad;
    first->set_training(false);
    second->set_training(false);
    mean = ((class_probabilities(first->forward(inputs, lengths)) +
             class_probabilities(second->forward(inputs, lengths))) /
            2)
               .contiguous();
  }
  // Member thresholds around the probabilities the untrained networks give, so that the mean
  // thresholds call other boundaries than either member's would.
  const double low = mean.select(1, 1).quantile(0.6).item<double>();
  const double high = mean.select(1, 1).quantile(0.9).item<double>();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  ModelFile m;
  m.experiment = "boundaries";
  m.spec_text = kBoundarySpec;
  m.spec_dir = "/nowhere";
  m.alphabet = Alphabet::dna;
  m.sequence_column = "sequence";
  m.sequence_length = 60;
  m.targets = {{"labels", TaskType::per_position, {"other", "start", "end"}}};
  m.members.push_back(weights_of(*first, std::nullopt, 1, {{nan, low, 0.4}}));
  m.members.push_back(weights_of(*second, std::nullopt, 1, {{nan, high, 0.2}}));
  const std::vector<double> averaged{nan, (low + high) / 2, 0.3};

  const torch::Tensor expected = call_classes(mean, averaged, 2);
  REQUIRE(!call_classes(mean, {nan, low, 0.4}, 2).equal(expected));
  REQUIRE(!call_classes(mean, {nan, high, 0.2}, 2).equal(expected));
  REQUIRE(expected.gt(0).any().item<bool>());
  for (const int batch_size : {5, 2}) {
    const auto classes = predict_position_classes(m, samples, batch_size);
    REQUIRE(classes.size() == 1);
    REQUIRE(classes[0].size() == 5);
    for (std::size_t r = 0; r < 5; ++r) {
      const std::string& digits = classes[0][r];
      CHECK(digits.size() == samples.sequences[r].size());
      std::string want;
      for (std::size_t p = 0; p < digits.size(); ++p) {
        want +=
            static_cast<char>('0' + expected[static_cast<std::int64_t>(r)][static_cast<std::int64_t>(p)].item<int>());
      }
      CHECK(digits == want);
    }
  }
}

TEST_CASE("per_position predictions of a network trained on crops are refused", "[unit]") {
  const std::string text = std::string(kBoundarySpec) + "training: {crop_length: 20}\n";
  const ExperimentSpec spec = SpecDocument::parse(text, "b.yaml", "/nowhere").base();
  const auto network = build_network(spec.model, {4, 20, 0}, {{"labels", TaskType::per_position, 3}});
  ModelFile m;
  m.spec_text = text;
  m.alphabet = Alphabet::dna;
  m.sequence_column = "sequence";
  m.sequence_length = 60;
  m.targets = {{"labels", TaskType::per_position, {"other", "start", "end"}}};
  m.members.push_back(weights_of(*network, std::nullopt, 1, {}));
  Dataset samples;
  samples.ids = {"w"};
  samples.sequences = {std::string(60, 'A')};
  CHECK_THROWS_WITH(predict_position_classes(m, samples, 4), Catch::Contains("crop_length"));
}
