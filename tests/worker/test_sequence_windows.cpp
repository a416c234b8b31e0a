#include <torch/torch.h>
// glog, which Torch includes, defines CHECK as well; these tests mean Catch's.
#undef CHECK
#include <catch2/catch.hpp>

#include <random>
#include <set>

#include "common/encoding.hpp"
#include "worker/encoded_data.hpp"
#include "worker/models.hpp"
#include "worker/row_prediction.hpp"
#include "worker/sequence_windows.hpp"

using namespace gridfold;
using namespace gridfold::worker;

namespace {

// Random DNA of lengths shortest..shortest+179 (default 20..199, so that a 50-base window
// fits some sequences and not others).
EncodedData long_sequences(std::size_t count, std::size_t shortest = 20) {
  std::mt19937_64 rng(3);
  Dataset d;
  for (std::size_t i = 0; i < count; ++i) {
    std::string s;
    const std::size_t length = shortest + rng() % 180;
    for (std::size_t p = 0; p < length; ++p) s.push_back("ACGT"[rng() % 4]);
    d.ids.push_back("s" + std::to_string(i));
    d.sequences.push_back(s);
  }
  DataSpec spec;
  spec.path = "long.fa";
  return EncodedData(std::move(d), spec);
}

torch::Tensor one_hot(const std::string& sequence, std::size_t length) {
  EncodedBatch batch = encode_sequences({sequence}, Alphabet::dna, length);
  return torch::from_blob(batch.values.data(), {static_cast<long>(batch.channels), static_cast<long>(batch.length)})
      .clone();
}

torch::Tensor all_rows(const EncodedData& data) {
  return torch::arange(static_cast<std::int64_t>(data.size()), torch::kLong);
}

}  // namespace

TEST_CASE("random crops lie inside each sequence's true length and hold its letters", "[unit]") {
  const EncodedData data = long_sequences(200);
  const std::int64_t window = 50;
  std::mt19937_64 rng(1);
  const torch::Tensor rows = all_rows(data);
  const torch::Tensor starts = draw_window_starts(data.lengths(), window, rng);
  const torch::Tensor crops = gather_windows(data.inputs(), rows, starts, window);
  REQUIRE(crops.sizes() == torch::IntArrayRef({200, 4, window}));
  int shorter = 0;
  for (std::int64_t i = 0; i < 200; ++i) {
    const std::int64_t length = data.lengths()[i].item<std::int64_t>();
    const std::int64_t start = starts[i].item<std::int64_t>();
    const std::string& sequence = data.dataset().sequences[static_cast<std::size_t>(i)];
    if (length <= window) {
      ++shorter;
      CHECK(start == 0);
      CHECK(torch::equal(crops[i], one_hot(sequence, window)));  // the whole sequence, then padding
    } else {
      CHECK(start >= 0);
      CHECK(start + window <= length);
      CHECK(torch::equal(crops[i], one_hot(sequence.substr(static_cast<std::size_t>(start), window), window)));
    }
  }
  CHECK(shorter > 0);
  CHECK(shorter < 200);
}

TEST_CASE("crop starts cover every position a window can start at, and repeat for a seed", "[unit]") {
  const torch::Tensor lengths = torch::full({4000}, 60, torch::kLong);
  std::mt19937_64 a(9), b(9);
  const torch::Tensor starts = draw_window_starts(lengths, 50, a);
  CHECK(torch::equal(starts, draw_window_starts(lengths, 50, b)));
  std::set<std::int64_t> seen;
  for (std::int64_t i = 0; i < starts.size(0); ++i) seen.insert(starts[i].item<std::int64_t>());
  CHECK(seen == std::set<std::int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
}

TEST_CASE("a crop of the reverse-complement strand is the reverse complement of a forward crop", "[unit]") {
  const EncodedData data = long_sequences(50);
  const std::int64_t window = 30;
  std::mt19937_64 rng(4);
  const torch::Tensor rows = all_rows(data);
  const torch::Tensor starts = draw_window_starts(data.lengths(), window, rng);
  const torch::Tensor crops = gather_windows(data.reverse_complement_inputs(), rows, starts, window);
  for (std::int64_t i = 0; i < 50; ++i) {
    const std::int64_t length = data.lengths()[i].item<std::int64_t>();
    const std::int64_t start = starts[i].item<std::int64_t>();
    // Start s on the other strand is the forward window that ends s bases before the end; a
    // sequence no longer than the window is its whole self on either strand.
    const std::string& sequence = data.dataset().sequences[static_cast<std::size_t>(i)];
    const std::string forward =
        length <= window ? sequence : sequence.substr(static_cast<std::size_t>(length - start - window), window);
    CHECK(torch::equal(crops[i], one_hot(reverse_complement(forward, Alphabet::dna), window)));
  }
}

TEST_CASE("tiles cover a whole sequence, the last one ending at its end", "[unit]") {
  CHECK(tile_starts(300, 100) == std::vector<std::int64_t>{0, 100, 200});
  CHECK(tile_starts(250, 100) == std::vector<std::int64_t>{0, 100, 150});
  CHECK(tile_starts(101, 100) == std::vector<std::int64_t>{0, 1});
  CHECK(tile_starts(100, 100) == std::vector<std::int64_t>{0});
  CHECK(tile_starts(40, 100) == std::vector<std::int64_t>{0});
  CHECK(window_length(100, 4000) == 100);
  CHECK(window_length(100, 80) == 0);  // every sequence fits: no cropping
  CHECK(window_length(0, 4000) == 0);
}

TEST_CASE("tiled evaluation gives each sequence the mean output over its tiles", "[unit]") {
  torch::manual_seed(2);
  const EncodedData data = long_sequences(30);
  const std::int64_t window = 50;
  ModelSpec model;
  model.filters = {8};
  model.kernel_size = 5;
  model.dense = {8};
  const std::vector<OutputHead> heads = {{"b", TaskType::binary, 1}, {"m", TaskType::multiclass, 3}};
  const auto network = build_network(model, InputShape{4, static_cast<int>(window), 0}, heads);
  network->set_training(false);
  torch::NoGradGuard no_grad;
  const torch::Tensor rows = torch::tensor({3, 0, 7, 12, 29}, torch::kLong);
  // Chunks of 4 tiles: a row's tiles are split across chunks.
  const torch::Tensor tiled = predict_tiled(*network, data.inputs(), data.lengths(), rows, window, 4);
  REQUIRE(tiled.sizes() == torch::IntArrayRef({5, 4}));
  for (std::int64_t r = 0; r < rows.size(0); ++r) {
    const std::int64_t row = rows[r].item<std::int64_t>();
    const std::int64_t length = data.lengths()[row].item<std::int64_t>();
    const std::vector<std::int64_t> starts = tile_starts(length, window);
    const auto tiles = static_cast<std::int64_t>(starts.size());
    const torch::Tensor outputs =
        network->forward(gather_windows(data.inputs(), torch::full({tiles}, row, torch::kLong),
                                        torch::tensor(at::ArrayRef<std::int64_t>(starts), torch::kLong), window),
                         torch::full({tiles}, std::min(length, window), torch::kLong));
    CHECK(torch::allclose(tiled[r], outputs.mean(0), 1e-5, 1e-6));
  }
}

TEST_CASE("evaluation gives every row the outputs it gets alone, in passes bounded by positions", "[unit]") {
  torch::manual_seed(5);
  // Padded to about 3000 positions: a forward pass takes 21 rows, so 70 rows take four.
  const EncodedData data = long_sequences(70, 2820);
  ModelSpec model;
  model.filters = {8, 8};
  model.kernel_size = 5;
  model.batch_norm = true;
  model.dense = {8};
  model.global_pooling = Pooling::none;
  const std::vector<OutputHead> heads = {{"labels", TaskType::per_position, 3}};
  const auto network = build_network(model, data.input_shape(), heads);
  {
    // Running statistics other than the initial 0 and 1, so that evaluation mode matters.
    torch::NoGradGuard no_grad;
    network->forward(data.inputs().narrow(0, 0, 8), data.lengths().narrow(0, 0, 8));
  }
  const torch::Tensor rows = torch::arange(69, -1, -1, torch::kLong);  // every row, in reverse
  const torch::Tensor all = predict_rows(*network, data.inputs(), data.lengths(), rows, 0);
  REQUIRE(all.sizes() == torch::IntArrayRef({70, 3, data.input_shape().length}));
  for (std::int64_t r = 0; r < 70; ++r) {
    const torch::Tensor alone = predict_rows(*network, data.inputs(), data.lengths(), rows.narrow(0, r, 1), 0);
    CHECK(torch::allclose(all[r], alone[0], 1e-5, 1e-6));
  }
  // The outputs are those of evaluation mode: running statistics, not the batch's.
  network->set_training(false);
  torch::NoGradGuard no_grad;
  const torch::Tensor eval = network->forward(data.inputs().index_select(0, rows.narrow(0, 0, 2)),
                                              data.lengths().index_select(0, rows.narrow(0, 0, 2)));
  CHECK(torch::allclose(all.narrow(0, 0, 2), eval, 1e-5, 1e-6));
}
