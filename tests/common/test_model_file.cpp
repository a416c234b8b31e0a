#include <catch2/catch.hpp>

#include <fstream>
#include <limits>

#include "common/dataset.hpp"
#include "common/hdf5.hpp"
#include "common/model_file.hpp"
#include "common/prediction_table.hpp"
#include "tests/temp_dir.hpp"

using namespace gridfold;
using gridfold::testing::TempDir;

namespace {

ModelFile two_member_model() {
  ModelFile m;
  m.experiment = "duplex";
  m.config_id = "00112233445566ff";
  m.strategy = FinalModelStrategy::ensemble;
  m.spec_text = "name: duplex\n";
  m.spec_dir = "/data/specs";
  m.params = {{"training.lr", "0.001"}, {"model.filters", "[16, 16]"}};
  m.alphabet = Alphabet::dna;
  m.sequence_column = "sequence";
  m.id_column = "id";
  m.sequence_length = 30;
  m.targets = {{"dG", TaskType::regression, {}},
               {"binds", TaskType::binary, {}},
               {"family", TaskType::multiclass, {"a", "b,c", "d"}}};
  for (int member = 0; member < 2; ++member) {
    ModelWeights w;
    w.tensors = {{"trunk.0.weight", {2, 1, 3}, {1, 2, 3, 4, 5, static_cast<float>(member)}},
                 {"head.bias", {2}, {0.5f, -0.5f}},
                 {"bn.num_batches_tracked", {}, {7}}};
    if (member == 0) {
      w.target_mean = {-30.5, 0, 0};
      w.target_scale = {4.25, 1, 1};
    }
    m.members.push_back(w);
  }
  return m;
}

}  // namespace

TEST_CASE("a model file reads back everything predict needs", "[model_file]") {
  TempDir dir;
  const ModelFile m = two_member_model();
  write_model_file(dir / "model.h5", m);
  const ModelFile r = read_model_file(dir / "model.h5");
  CHECK(r.experiment == m.experiment);
  CHECK(r.config_id == m.config_id);
  CHECK(r.strategy == FinalModelStrategy::ensemble);
  CHECK(r.spec_text == m.spec_text);
  CHECK(r.spec_dir == m.spec_dir);
  CHECK(r.params == m.params);
  CHECK(r.alphabet == Alphabet::dna);
  CHECK(r.sequence_column == "sequence");
  CHECK(r.id_column == "id");
  CHECK(r.sequence_length == 30);
  REQUIRE(r.targets.size() == 3);
  CHECK(r.targets[2].task == TaskType::multiclass);
  CHECK(r.targets[2].classes == m.targets[2].classes);
  REQUIRE(r.members.size() == 2);
  for (std::size_t i = 0; i < 2; ++i) {
    REQUIRE(r.members[i].tensors.size() == 3);
    for (std::size_t t = 0; t < 3; ++t) {
      CHECK(r.members[i].tensors[t].name == m.members[i].tensors[t].name);
      CHECK(r.members[i].tensors[t].shape == m.members[i].tensors[t].shape);
      CHECK(r.members[i].tensors[t].values == m.members[i].tensors[t].values);
    }
    CHECK(r.members[i].target_mean == m.members[i].target_mean);
    CHECK(r.members[i].target_scale == m.members[i].target_scale);
  }
}

TEST_CASE("a file that is not a complete model file is refused by name", "[model_file]") {
  TempDir dir;
  h5::File::create(dir / "half.h5").set_attr("schema_version", kModelFileSchemaVersion);
  CHECK_THROWS_WITH(read_model_file(dir / "half.h5"),
                    Catch::Contains("half.h5") && Catch::Contains("not a complete gridfold model file"));
}

TEST_CASE("prediction CSV: id, values, binary probabilities, multiclass label and class probabilities",
          "[model_file]") {
  const ModelFile m = two_member_model();
  CHECK(prediction_columns(m) ==
        std::vector<std::string>{"id", "dG", "binds", "family", "family_prob_a", "family_prob_b,c", "family_prob_d"});
  CHECK(output_widths(m) == std::vector<std::size_t>{1, 1, 3});
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::string csv =
      prediction_csv(m, {"s1", "s,2"}, {-31.5f, 0.25f, 0.1f, 0.7f, 0.2f, nan, 0.5f, 0.6f, 0.3f, 0.1f});
  CHECK(csv ==
        "id,dG,binds,family,family_prob_a,\"family_prob_b,c\",family_prob_d\n"
        "s1,-31.5,0.25,\"b,c\",0.1,0.7,0.2\n"
        "\"s,2\",,0.5,a,0.6,0.3,0.1\n");
}

TEST_CASE("prediction input is read like training data: FASTA ids, table ids, letters checked with file:line",
          "[model_file]") {
  TempDir dir;
  const ModelFile m = two_member_model();
  std::ofstream(dir / "new.fa") << ">first some description\nACGT\nAC\n>second\nggcc\n";
  const Dataset fasta = read_prediction_input(dir / "new.fa", m);
  CHECK(fasta.ids == std::vector<std::string>{"first", "second"});
  CHECK(fasta.sequences == std::vector<std::string>{"ACGTAC", "GGCC"});

  std::ofstream(dir / "new.csv") << "id,sequence,other\nx1,ACGT,3\nx2,TTTT,4\n";
  CHECK(read_prediction_input(dir / "new.csv", m).ids == std::vector<std::string>{"x1", "x2"});
  std::ofstream(dir / "no_ids.csv") << "sequence\nACGT\nTTTT\n";
  CHECK(read_prediction_input(dir / "no_ids.csv", m).ids == std::vector<std::string>{"1", "2"});

  std::ofstream(dir / "bad.csv") << "id,sequence\nx1,ACGT\nx2,ACXT\n";
  CHECK_THROWS_WITH(read_prediction_input(dir / "bad.csv", m),
                    Catch::Contains("bad.csv:3") && Catch::Contains("'X'") && Catch::Contains("valid"));
  std::ofstream(dir / "no_sequence.csv") << "id,seq\nx1,ACGT\n";
  CHECK_THROWS_WITH(read_prediction_input(dir / "no_sequence.csv", m),
                    Catch::Contains("no_sequence.csv") && Catch::Contains("sequence"));
}

namespace {

ModelFile boundary_model() {
  ModelFile m = two_member_model();
  m.targets = {{"labels", TaskType::per_position, {"other", "exon_start", "exon_end"}}};
  return m;
}

}  // namespace

TEST_CASE("a per_position target keeps its class names in the model file", "[model_file]") {
  TempDir dir;
  ModelFile m = boundary_model();
  m.targets.push_back({"sites", TaskType::per_position, {}});  // 0/1 labels name no classes
  write_model_file(dir / "model.h5", m);
  const ModelFile r = read_model_file(dir / "model.h5");
  REQUIRE(r.targets.size() == 2);
  CHECK(r.targets[0].task == TaskType::per_position);
  CHECK(r.targets[0].classes == m.targets[0].classes);
  CHECK(r.targets[1].classes.empty());
}

TEST_CASE("prediction CSV of a per_position target: class digits and position:class calls", "[model_file]") {
  const ModelFile m = boundary_model();
  CHECK(prediction_columns(m) == std::vector<std::string>{"id", "labels", "labels_calls"});
  CHECK(output_widths(m) == std::vector<std::size_t>{0});
  CHECK(prediction_csv(m, {"chr1:0-8", "chr1:8-16"}, {}, {{"01000020", "00000000"}}) ==
        "id,labels,labels_calls\n"
        "chr1:0-8,01000020,1:exon_start;6:exon_end\n"
        "chr1:8-16,00000000,\n");
  CHECK(boundary_calls_text("0010", {}) == "2:1");
  CHECK_THROWS_AS(prediction_csv(m, {"a"}, {}, {}), std::logic_error);
}

TEST_CASE("prediction CSV of a cascade adds the filter's probability and whether the row passed", "[model_file]") {
  const ModelFile m = boundary_model();
  CHECK(prediction_columns(m, "has_boundary") ==
        std::vector<std::string>{"id", "labels", "labels_calls", "has_boundary_probability", "passed"});
  const FilterColumns filter{"has_boundary", {0.75f, 0.125f}, {1, 0}};
  CHECK(prediction_csv(m, {"a", "b"}, {}, {{"0200", "0000"}}, &filter) ==
        "id,labels,labels_calls,has_boundary_probability,passed\n"
        "a,0200,1:exon_end,0.75,1\n"
        "b,0000,,0.125,0\n");
}
