#include <torch/torch.h>
// glog, which Torch includes, defines CHECK as well; these tests mean Catch's.
#undef CHECK
#include <catch2/catch.hpp>

#include "common/encoding.hpp"
#include "worker/models.hpp"

using namespace gridfold;
using namespace gridfold::worker;

namespace {

std::vector<OutputHead> three_heads() {
  return {{"r", TaskType::regression, 1}, {"b", TaskType::binary, 1}, {"m", TaskType::multiclass, 3}};
}

torch::Tensor one_hot_batch(const std::vector<std::string>& sequences, std::size_t length) {
  EncodedBatch batch = encode_sequences(sequences, Alphabet::dna, length);
  return torch::from_blob(batch.values.data(), {static_cast<long>(batch.count), static_cast<long>(batch.channels),
                                                static_cast<long>(batch.length)})
      .clone();
}

// A one-filter network whose pooled value is readable: conv weights -1, batch-norm shift +5
// and a unit head, so a valid position yields 5 - (letters under the kernel) and a padded
// position yields up to 5.
std::shared_ptr<Network> transparent_network(Pooling pooling) {
  ModelSpec spec;
  spec.filters = {1};
  spec.kernel_size = 3;
  spec.dense = {};
  spec.dropout = 0;
  spec.global_pooling = pooling;
  auto network = build_network(spec, {4, 12, 0}, {{"r", TaskType::regression, 1}});
  torch::NoGradGuard no_grad;
  const auto parameters = network->parameters();
  REQUIRE(parameters.size() == 5);  // conv weight, bn weight, bn bias, head weight, head bias
  parameters[0].fill_(-1.0);
  parameters[1].fill_(1.0);
  parameters[2].fill_(5.0);
  parameters[3].fill_(1.0);
  parameters[4].fill_(0.0);
  network->set_training(false);
  return network;
}

}  // namespace

TEST_CASE("a cnn1d's output has one column per target", "[unit]") {
  torch::manual_seed(1);
  ModelSpec spec;
  const auto network = build_network(spec, {4, 20, 0}, three_heads());
  const auto out = network->forward(torch::rand({5, 4, 20}), torch::full({5}, 20, torch::kLong));
  CHECK(out.sizes() == torch::IntArrayRef({5, 5}));  // 1 + 1 + 3 classes
}

TEST_CASE("every model family maps a batch to the heads' columns", "[unit]") {
  torch::manual_seed(1);
  const auto lengths = torch::tensor({20, 7, 13}, torch::kLong);
  for (ModelFamily family : {ModelFamily::branched_cnn, ModelFamily::bilstm, ModelFamily::mlp}) {
    ModelSpec spec;
    spec.family = family;
    spec.block_pooling = family == ModelFamily::branched_cnn ? Pooling::max : Pooling::none;
    const auto network = build_network(spec, {4, 20, 0}, three_heads());
    CHECK(network->forward(torch::rand({3, 4, 20}), lengths).sizes() == torch::IntArrayRef({3, 5}));
  }
}

TEST_CASE("even kernels, dilation growth and block pooling keep the output shape", "[unit]") {
  torch::manual_seed(1);
  ModelSpec spec;
  spec.kernel_size = 4;
  spec.dilation_growth = true;
  spec.block_pooling = Pooling::mean;
  spec.global_pooling = Pooling::mean;
  const auto network = build_network(spec, {4, 20, 0}, three_heads());
  CHECK(network->forward(torch::rand({3, 4, 20}), torch::tensor({20L, 7L, 3L})).sizes() == torch::IntArrayRef({3, 5}));
}

TEST_CASE("global max pooling ignores padding", "[unit]") {
  const auto network = transparent_network(Pooling::max);
  const auto out = network->forward(one_hot_batch({"ACGTAC"}, 12), torch::tensor({6L}));
  // the best valid position sees two letters (the sequence edge): 5 - 2
  CHECK(out.item<float>() == Approx(3.0).epsilon(1e-4));
}

TEST_CASE("global mean pooling averages over the true length", "[unit]") {
  const auto network = transparent_network(Pooling::mean);
  const auto out = network->forward(one_hot_batch({"ACGTAC"}, 12), torch::tensor({6L}));
  CHECK(out.item<float>() == Approx((3 + 2 + 2 + 2 + 2 + 3) / 6.0).epsilon(1e-4));
}

TEST_CASE("a sequence's prediction does not depend on how far its batch is padded", "[unit]") {
  torch::manual_seed(3);
  ModelSpec spec;
  spec.filters = {16, 16};
  const auto network = build_network(spec, {4, 30, 0}, {{"r", TaskType::regression, 1}});
  network->set_training(false);
  const auto short_batch = network->forward(one_hot_batch({"ACGTTGCAAC"}, 10), torch::tensor({10L}));
  const auto long_batch = network->forward(one_hot_batch({"ACGTTGCAAC"}, 30), torch::tensor({10L}));
  CHECK(short_batch.item<float>() == Approx(long_batch.item<float>()).margin(1e-5));
}

TEST_CASE("per-position targets keep one output per position", "[unit]") {
  ModelSpec spec;
  spec.global_pooling = Pooling::none;
  const auto network = build_network(spec, {4, 16, 0}, {{"boundary", TaskType::per_position, 1}});
  CHECK(network->per_position());
  CHECK(network->forward(torch::rand({2, 4, 16}), torch::full({2}, 16, torch::kLong)).sizes() ==
        torch::IntArrayRef({2, 1, 16}));
}

TEST_CASE("a model that cannot fit its targets is refused with the setting to change", "[unit]") {
  ModelSpec spec;  // global max pooling
  CHECK_THROWS_WITH(build_network(spec, {4, 16, 0}, {{"boundary", TaskType::per_position, 1}}),
                    Catch::Contains("global_pooling: none"));
  spec.block_pooling = Pooling::max;
  spec.filters = {8, 8, 8, 8, 8};
  CHECK_THROWS_WITH(build_network(spec, {4, 16, 0}, {{"r", TaskType::regression, 1}}),
                    Catch::Contains("block_pooling"));
}

TEST_CASE("a watched network reports the share of ReLU units that never fire", "[unit]") {
  ModelSpec spec;
  spec.family = ModelFamily::mlp;
  spec.dense = {8, 4};
  spec.dropout = 0;
  auto network = build_network(spec, {0, 0, 3}, {{"r", TaskType::regression, 1}});
  network->set_training(false);
  const torch::Tensor inputs = torch::randn({16, 3}), lengths = torch::ones({16}, torch::kLong);
  CHECK(std::isnan(network->dead_relu_share()));  // nothing watched yet
  network->watch_relus(true);
  network->forward(inputs, lengths);
  const double share = network->dead_relu_share();
  CHECK(share >= 0);
  CHECK(share < 1);
  {
    // Dense layers biased far below zero silence all their 8 + 4 units.
    torch::NoGradGuard no_grad;
    const auto names = network->state_names();
    const auto state = network->state();
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (names[i].starts_with("dense.") && names[i].ends_with(".bias")) state[i].fill_(-1e3);
    }
  }
  network->watch_relus(true);  // forgets what the earlier forward saw
  network->forward(inputs, lengths);
  CHECK(network->dead_relu_share() == 1.0);
  network->watch_relus(false);
}

TEST_CASE("a network without ReLUs to watch has no dead ReLU share", "[unit]") {
  ModelSpec spec;
  spec.family = ModelFamily::bilstm;
  spec.hidden_size = 4;
  spec.dense = {};
  spec.global_pooling = Pooling::mean;
  auto network = build_network(spec, {4, 10, 0}, {{"r", TaskType::regression, 1}});
  network->watch_relus(true);
  network->forward(one_hot_batch({"ACGTACGTAC"}, 10), torch::full({1}, 10, torch::kLong));
  CHECK(std::isnan(network->dead_relu_share()));
}

TEST_CASE("a resnet1d keeps one output per position through blocks of changing width", "[unit]") {
  torch::manual_seed(2);
  ModelSpec spec;
  spec.family = ModelFamily::resnet1d;
  spec.filters = {8, 8, 12};
  spec.dilations = {1, 2, 4};
  spec.global_pooling = Pooling::none;
  spec.dense = {};
  const auto network = build_network(spec, {4, 40, 0}, {{"labels", TaskType::per_position, 3}});
  CHECK(network->per_position());
  CHECK(network->forward(torch::rand({2, 4, 40}), torch::tensor({40L, 25L})).sizes() == torch::IntArrayRef({2, 3, 40}));
  // Pooled targets work too (a window-level classifier such as the feeder model).
  spec.global_pooling = Pooling::max;
  const auto pooled = build_network(spec, {4, 40, 0}, three_heads());
  CHECK(pooled->forward(torch::rand({2, 4, 40}), torch::tensor({40L, 25L})).sizes() == torch::IntArrayRef({2, 5}));
}

TEST_CASE("a resnet1d output position depends on exactly its receptive field", "[unit]") {
  // Kernel 3, dilations 1 and 3: receptive field 1 + 2 x 2 x (1 + 3) = 17, 8 positions each
  // side. A change at 8 positions from the centre moves the centre's output; one at 9 does not.
  torch::manual_seed(4);
  ModelSpec spec;
  spec.family = ModelFamily::resnet1d;
  spec.filters = {6, 6};
  spec.kernel_size = 3;
  spec.dilations = {1, 3};
  spec.global_pooling = Pooling::none;
  spec.dense = {};
  spec.dropout = 0;
  REQUIRE(receptive_field(spec) == 17);
  const auto network = build_network(spec, {4, 41, 0}, {{"labels", TaskType::per_position, 2}});
  network->set_training(false);
  torch::NoGradGuard no_grad;
  const torch::Tensor lengths = torch::tensor({41L});
  const torch::Tensor base = torch::rand({1, 4, 41});
  const auto centre_after_change_at = [&](std::int64_t position) {
    torch::Tensor changed = base.clone();
    changed[0].select(1, position) += 1.0;
    return network->forward(changed, lengths)[0].select(1, 20);
  };
  const torch::Tensor centre = network->forward(base, lengths)[0].select(1, 20);
  CHECK_FALSE(torch::allclose(centre_after_change_at(20 - 8), centre));
  CHECK_FALSE(torch::allclose(centre_after_change_at(20 + 8), centre));
  CHECK(torch::allclose(centre_after_change_at(20 - 9), centre));
  CHECK(torch::allclose(centre_after_change_at(20 + 9), centre));
}
