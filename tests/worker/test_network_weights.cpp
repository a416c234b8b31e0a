#include <torch/torch.h>
#undef CHECK  // glog's, pulled in by Torch; Catch's is wanted
#include <catch2/catch.hpp>

#include <numeric>

#include "common/model_file.hpp"
#include "tests/worker/toy_data.hpp"
#include "worker/encoded_data.hpp"
#include "worker/models.hpp"
#include "worker/network_weights.hpp"
#include "worker/predictor.hpp"
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
