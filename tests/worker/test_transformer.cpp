#include <torch/script.h>
#include <torch/torch.h>
// glog, which Torch includes, defines CHECK as well; these tests mean Catch's.
#undef CHECK
#include <catch2/catch.hpp>

#include <random>

#include "common/encoding.hpp"
#include "tests/temp_dir.hpp"
#include "worker/models.hpp"
#include "worker/transformer.hpp"

using namespace gridfold;
using namespace gridfold::worker;
using gridfold::testing::TempDir;

namespace {

struct Batch {
  torch::Tensor inputs, lengths;
};

Batch encoded(const std::vector<std::string>& sequences, std::size_t length, Alphabet alphabet = Alphabet::dna) {
  EncodedBatch batch = encode_sequences(sequences, alphabet, length);
  Batch b;
  b.inputs = torch::from_blob(batch.values.data(), {static_cast<long>(batch.count), static_cast<long>(batch.channels),
                                                    static_cast<long>(batch.length)})
                 .clone();
  b.lengths = torch::from_blob(batch.lengths.data(), {static_cast<long>(batch.count)}, torch::kInt).to(torch::kLong);
  return b;
}

ModelSpec small_transformer(int kmer, Pooling pooling) {
  ModelSpec spec;
  spec.family = ModelFamily::transformer;
  spec.kmer = kmer;
  spec.layers = 2;
  spec.heads = 2;
  spec.d_model = 16;
  spec.ff = 32;
  spec.dense = {8};
  spec.dropout = 0.1;
  spec.global_pooling = pooling;
  return spec;
}

const std::vector<OutputHead> kHeads{{"r", TaskType::regression, 1}, {"m", TaskType::multiclass, 3}};

}  // namespace

TEST_CASE("transformer tokens are overlapping k-mers, unknown over ambiguous letters, padding past the end", "[unit]") {
  torch::manual_seed(1);
  torch::jit::Module module = transformer_module(small_transformer(2, Pooling::mean), {4, 8, 0}, 1, false);
  const Batch b = encoded({"ACGTN", "GG"}, 8);
  const auto out = module.get_method("tokens")({b.inputs, b.lengths}).toTuple();
  const torch::Tensor tokens = out->elements()[0].toTensor();
  const torch::Tensor valid = out->elements()[1].toTensor();
  // 3 + base-4 number of the 2-mer's letters (A0 C1 G2 T3); 2 = unknown; 0 = padding.
  CHECK(tokens[0].equal(torch::tensor({3 + 1, 3 + 6, 3 + 11, 2, 0, 0, 0}, torch::kLong)));
  CHECK(tokens[1].equal(torch::tensor({3 + 10, 0, 0, 0, 0, 0, 0}, torch::kLong)));
  CHECK(valid.sum(1).equal(torch::tensor({4, 1}, torch::kLong)));
}

TEST_CASE("a transformer maps a batch to the heads' columns with every pooling, or to every position", "[unit]") {
  torch::manual_seed(1);
  const Batch b = encoded({"ACGTACGTACGTACGTACGT", "ACGTAC", "GGGCCCAT"}, 20);
  for (Pooling pooling : {Pooling::mean, Pooling::cls, Pooling::max, Pooling::sum}) {
    const auto network = build_network(small_transformer(3, pooling), {4, 20, 0}, kHeads);
    CHECK(network->forward(b.inputs, b.lengths).sizes() == torch::IntArrayRef({3, 4}));
  }
  const auto per_position =
      build_network(small_transformer(3, Pooling::none), {4, 20, 0}, {{"boundary", TaskType::per_position, 3}});
  per_position->set_training(false);
  const torch::Tensor out = per_position->forward(b.inputs, b.lengths);
  CHECK(out.sizes() == torch::IntArrayRef({3, 3, 20}));
  // No token covers a position past a sequence's end.
  CHECK(out[1].narrow(1, 6, 14).abs().max().item<float>() == 0.0f);
  CHECK(out[1].narrow(1, 0, 6).abs().min().item<float>() > 0.0f);
}

TEST_CASE("a transformer's output for a sequence does not depend on its batch's padding", "[unit]") {
  torch::manual_seed(2);
  for (Pooling pooling : {Pooling::mean, Pooling::cls}) {
    const auto network = build_network(small_transformer(3, pooling), {4, 24, 0}, kHeads);
    network->set_training(false);
    torch::NoGradGuard no_grad;
    const Batch alone = encoded({"ACGGTCAAGT"}, 10);
    const Batch padded = encoded({"ACGGTCAAGT", "ACGTACGTACGTACGTACGTACGT"}, 24);
    CHECK(torch::allclose(network->forward(alone.inputs, alone.lengths)[0],
                          network->forward(padded.inputs, padded.lengths)[0], 1e-5, 1e-6));
  }
}

TEST_CASE("a transformer trains: every parameter gets a gradient and a few steps fit a motif", "[unit]") {
  torch::manual_seed(3);
  // Label: does the sequence hold GAATTC? Random 20-mers, half with the motif planted.
  std::mt19937 rng(5);
  std::vector<std::string> sequences;
  std::vector<float> labels;
  for (int i = 0; i < 64; ++i) {
    std::string s(20, 'A');
    for (char& c : s) c = "ACGT"[rng() % 4];
    const bool motif = i % 2 == 0;
    if (motif) s.replace(rng() % 14, 6, "GAATTC");
    sequences.push_back(s);
    labels.push_back(s.find("GAATTC") != std::string::npos ? 1.0f : 0.0f);
  }
  const Batch b = encoded(sequences, 20);
  const torch::Tensor y = torch::tensor(labels).unsqueeze(1);
  ModelSpec spec = small_transformer(3, Pooling::mean);
  spec.dropout = 0.0;
  const auto network = build_network(spec, {4, 20, 0}, {{"motif", TaskType::binary, 1}});
  torch::optim::Adam optimizer(network->parameters(), torch::optim::AdamOptions(3e-3));
  const auto loss_now = [&] {
    return torch::binary_cross_entropy_with_logits(network->forward(b.inputs, b.lengths), y);
  };
  const double first = loss_now().item<double>();
  for (int step = 0; step < 150; ++step) {
    optimizer.zero_grad();
    torch::Tensor loss = loss_now();
    loss.backward();
    if (step == 0) {
      for (const auto& p : network->parameters()) CHECK(p.grad().defined());
    }
    optimizer.step();
  }
  CHECK(loss_now().item<double>() < 0.5 * first);
}

TEST_CASE("a transformer exports to TorchScript that predicts as the network does, with its metadata", "[unit]") {
  torch::manual_seed(4);
  const auto network = build_network(small_transformer(3, Pooling::cls), {4, 16, 0}, kHeads);
  network->set_training(false);
  const TempDir dir;
  const auto path = dir.path() / "model.pt";
  network->save_torchscript(path, R"({"targets": ["r", "m"]})");

  torch::jit::ExtraFilesMap extra{{"gridfold.json", ""}};
  torch::jit::Module loaded = torch::jit::load(path.string(), torch::kCPU, extra);
  CHECK(extra["gridfold.json"] == R"({"targets": ["r", "m"]})");
  const Batch b = encoded({"ACGTTGCA", "GGGATTACAGGGATTA"}, 16);
  torch::NoGradGuard no_grad;
  CHECK(torch::allclose(loaded.forward({b.inputs, b.lengths}).toTensor(), network->forward(b.inputs, b.lengths)));
}

TEST_CASE("only transformer and torchscript networks export; a CNN says why not", "[unit]") {
  const auto network = build_network(ModelSpec{}, {4, 16, 0}, kHeads);
  const TempDir dir;
  CHECK_THROWS_WITH(network->save_torchscript(dir.path() / "cnn.pt", "{}"),
                    Catch::Contains("only transformer and torchscript models export"));
}

TEST_CASE("a transformer refuses feature inputs, too many k-mers, and sequences longer than it was built for",
          "[unit]") {
  CHECK_THROWS_WITH(build_network(small_transformer(3, Pooling::mean), {0, 0, 10}, kHeads),
                    Catch::Contains("reads sequences"));
  // 21 protein channels: 21^4 four-mers would be an embedding mostly never trained.
  CHECK_THROWS_WITH(build_network(small_transformer(4, Pooling::mean), {21, 30, 0}, kHeads),
                    Catch::Contains("model.kmer 4 makes 194481 tokens of 21 letters"));
  CHECK_NOTHROW(build_network(small_transformer(3, Pooling::mean), {21, 30, 0}, kHeads));
  const auto network = build_network(small_transformer(3, Pooling::mean), {4, 10, 0}, kHeads);
  const Batch longer = encoded({"ACGTACGTACGTACGT"}, 16);
  CHECK_THROWS_WITH(network->forward(longer.inputs, longer.lengths), Catch::Contains("position embeddings for 8"));
}
