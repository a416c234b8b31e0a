#include <catch2/catch.hpp>

#include <set>

#include "common/grid.hpp"

using namespace gridfold;

namespace {

SpecDocument parse_grid(const std::string& grid_yaml, const std::string& training = "{epochs: 2}") {
  const std::string text = "name: g\ndata: {path: d.csv, targets: [y]}\ntraining: " + training +
                           "\nresampling: {outer: {kfold: {k: 2}}}\ngrid:\n" + grid_yaml;
  return SpecDocument::parse(text, "g.yaml", "/");
}

std::string only_id(const std::string& spec_text) {
  const auto configs = expand_grid(SpecDocument::parse(spec_text, "g.yaml", "/"));
  REQUIRE(configs.size() == 1);
  return configs[0].id;
}

}  // namespace

TEST_CASE("a grid expands to the cartesian product of its axes", "[grid]") {
  const auto configs = expand_grid(parse_grid("  training.lr: [0.1, 0.01, 0.001]\n  model.kernel_size: [3, 5]\n"));
  REQUIRE(configs.size() == 6);
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& c : configs) seen.emplace(c.params.at("training.lr").yaml, c.params.at("model.kernel_size").yaml);
  CHECK(seen.size() == 6);
  CHECK(configs[0].params.at("training.lr").yaml == "0.1");
  CHECK(configs[1].params.at("model.kernel_size").yaml == "5");
}

TEST_CASE("zip axes vary together instead of multiplying", "[grid]") {
  const auto configs = expand_grid(parse_grid(
      "  zip:\n    - {model.kernel_size: [3, 5, 7], model.dilation: [1, 2, 4]}\n  training.lr: [0.1, 0.2]\n"));
  REQUIRE(configs.size() == 6);
  for (const auto& c : configs) {
    const auto k = c.params.at("model.kernel_size").yaml;
    const auto d = c.params.at("model.dilation").yaml;
    CHECK(((k == "3" && d == "1") || (k == "5" && d == "2") || (k == "7" && d == "4")));
  }
}

TEST_CASE("excluded combinations are dropped", "[grid]") {
  const auto configs =
      expand_grid(parse_grid("  training.lr: [0.1, 0.01]\n  model.kernel_size: [3, 5]\n  exclude:\n    - {training.lr: "
                             "0.01, model.kernel_size: 5}\n"));
  REQUIRE(configs.size() == 3);
  for (const auto& c : configs) {
    CHECK_FALSE((c.params.at("training.lr").yaml == "0.01" && c.params.at("model.kernel_size").yaml == "5"));
  }
}

TEST_CASE("list-valued grid values compare by content", "[grid]") {
  const auto configs = expand_grid(
      parse_grid("  model.filters: [[32, 32], [64, 64, 64]]\n  exclude:\n    - {model.filters: [64,   64, 64]}\n"));
  REQUIRE(configs.size() == 1);
  CHECK(configs[0].params.at("model.filters").yaml == "[32, 32]");
}

TEST_CASE("adding a value to a grid keeps the ids of the existing configurations", "[grid]") {
  const auto before = expand_grid(parse_grid("  training.lr: [0.1, 0.01]\n  model.kernel_size: [3, 5]\n"));
  const auto after = expand_grid(parse_grid("  training.lr: [0.1, 0.01, 0.001]\n  model.kernel_size: [3, 5]\n"));
  std::set<std::string> after_ids;
  for (const auto& c : after) after_ids.insert(c.id);
  for (const auto& c : before) CHECK(after_ids.contains(c.id));
  CHECK(after.size() == 6);
}

TEST_CASE("a config id is a stable hash of its full resolved config", "[grid]") {
  // FNV-1a 64 of the canonical text, fixed here so that a change to the hash (which would
  // orphan every finished result) fails this test.
  CHECK(config_id("model.kernel_size=3\ntraining.lr=0.1\n") == "25a2dd8a816727df");
  const auto configs = expand_grid(parse_grid("  model.kernel_size: [3, 5]\n"));
  REQUIRE(configs.size() == 2);
  CHECK(configs[0].id == config_id(configs[0].canonical));
  CHECK_THAT(configs[0].canonical, Catch::Contains("model.kernel_size=3\n") && Catch::Contains("training.epochs=2\n") &&
                                       Catch::Contains("model.dropout=0.1\n"));
  CHECK(configs[0].id != configs[1].id);
}

TEST_CASE("configs of specs without a grid have ids of their full config, not one shared id", "[grid]") {
  const std::string base = "name: g\ndata: {path: d.csv, targets: [y]}\nresampling: {outer: {kfold: {k: 2}}}\n";
  const std::string plain = only_id(base);
  CHECK(plain != "cbf29ce484222325");  // FNV-1a of nothing: what every grid-less spec got before
  CHECK(only_id(base + "training: {epochs: 3}\n") != plain);
  CHECK(only_id(base + "model: {dropout: 0.2}\n") != plain);
  // Spelling out a default, or writing a number another way, trains the same thing.
  CHECK(only_id(base + "training: {epochs: 50, lr: 1.0e-3}\n") == plain);
}

TEST_CASE("changing a training key outside the grid changes every config id", "[grid]") {
  const auto two = expand_grid(parse_grid("  training.lr: [0.1, 0.01]\n", "{epochs: 2}"));
  const auto three = expand_grid(parse_grid("  training.lr: [0.1, 0.01]\n", "{epochs: 3}"));
  REQUIRE(two.size() == 2);
  REQUIRE(three.size() == 2);
  for (std::size_t i = 0; i < 2; ++i) {
    CHECK(two[i].params == three[i].params);
    CHECK(two[i].id != three[i].id);
  }
}

TEST_CASE("a grid without axes is one configuration", "[grid]") {
  const std::string text = "name: g\ndata: {path: d.csv, targets: [y]}\nresampling: {outer: {kfold: {k: 2}}}\n";
  const auto configs = expand_grid(SpecDocument::parse(text, "g.yaml", "/"));
  REQUIRE(configs.size() == 1);
  CHECK(configs[0].params.empty());
}
