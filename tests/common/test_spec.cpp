#include <catch2/catch.hpp>

#include <algorithm>

#include "common/config_text.hpp"
#include "common/slurm_time.hpp"
#include "common/spec.hpp"

using namespace gridfold;

namespace {

const std::string kValid = R"(name: duplex
data:
  path: data/duplex.csv
  sequence_column: sequence
  targets:
    - {name: dG, task: regression}
    - dH
model:
  family: cnn1d
  filters: [32, 32]
  kernel_size: 5
training:
  epochs: 10
  lr: 0.001
grid:
  training.lr: [0.001, 0.0003]
  zip:
    - {model.kernel_size: [3, 5], model.dilation: [1, 2]}
  exclude:
    - {training.lr: 0.0003, model.kernel_size: 5}
resampling:
  outer: {kfold: {k: 5}}
  inner: {repeated_holdout: {n: 3, test_fraction: 0.25}}
  seed: 7
slurm:
  time: "01:30:00"
  mem: 8G
  modules: [cuda/12.1]
)";

SpecDocument parse(const std::string& text) {
  return SpecDocument::parse(text, "exp.yaml", "/base");
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("a valid spec parses into typed sections", "[spec]") {
  const SpecDocument doc = parse(kValid);
  const ExperimentSpec& s = doc.base();
  CHECK(s.name == "duplex");
  CHECK(s.data.path == "/base/data/duplex.csv");
  REQUIRE(s.data.targets.size() == 2);
  CHECK(s.data.targets[1].name == "dH");
  CHECK(s.data.targets[1].task == TaskType::regression);
  CHECK(s.model.filters == std::vector<int>{32, 32});
  CHECK(s.training.epochs == 10);
  CHECK(s.resampling.outer.kind == FoldScheme::Kind::kfold);
  CHECK(s.resampling.outer.k == 5);
  REQUIRE(s.resampling.inner.has_value());
  CHECK(s.resampling.inner->n == 3);
  CHECK(s.resampling.seed == 7);
  CHECK(s.slurm.mem == "8G");
  CHECK(s.slurm.modules == std::vector<std::string>{"cuda/12.1"});
  REQUIRE(s.grid.axes.size() == 2);
  CHECK(s.grid.axes[1].paths == std::vector<std::string>{"model.kernel_size", "model.dilation"});
  CHECK(s.grid.excludes.size() == 1);
}

TEST_CASE("resolving a configuration overrides exactly the grid's parameters", "[spec]") {
  const SpecDocument doc = parse(kValid);
  ParamAssignment config{{"training.lr", {"0.0003", {}}},
                         {"model.kernel_size", {"3", {}}},
                         {"model.dilation", {"2", {}}}};
  const ExperimentSpec s = doc.resolve(config);
  CHECK(s.training.lr == Approx(0.0003));
  CHECK(s.model.kernel_size == 3);
  CHECK(s.model.dilation == 2);
  CHECK(s.training.epochs == 10);
  CHECK(doc.base().training.lr == Approx(0.001));
}

TEST_CASE("a grid may vary the parameters of a section the file leaves out", "[spec]") {
  const std::string text = replaced(replaced(kValid, "training:\n  epochs: 10\n  lr: 0.001\n", ""), "grid:\n",
                                    "grid:\n  training.epochs: [2, 4]\n");
  const SpecDocument doc = parse(text);
  CHECK(doc.resolve({{"training.epochs", {"4", {}}}}).training.epochs == 4);
}

struct BadSpec {
  const char* what;
  std::string from, to;
  std::vector<std::string> message_parts;
};

TEST_CASE("bad specs are rejected with the file, line:column, value and what is valid", "[spec]") {
  const std::vector<BadSpec> cases = {
      {"unknown key with a suggestion",
       "  epochs: 10",
       "  epocs: 10",
       {"exp.yaml:13:3", "unknown key 'epocs'", "did you mean 'epochs'?"}},
      {"negative learning rate", "  lr: 0.001", "  lr: -1", {"exp.yaml:14:7", "training.lr", "'-1'", "a number > 0"}},
      {"epochs not a number", "  epochs: 10", "  epochs: ten", {"exp.yaml:13:11", "'ten'", "an integer from 1"}},
      {"misspelt enum value", "  family: cnn1d", "  family: cnn", {"exp.yaml:9:11", "'cnn'", "one of cnn1d"}},
      {"misspelt enum value suggestion", "  family: cnn1d", "  family: bilstn", {"did you mean 'bilstm'?"}},
      {"k below 2", "{kfold: {k: 5}}", "{kfold: {k: 1}}", {"exp.yaml:22:22", "'1'", "an integer from 2"}},
      {"both outer schemes",
       "outer: {kfold: {k: 5}}",
       "outer: {kfold: {k: 5}, repeated_holdout: {n: 2}}",
       {"exactly one of"}},
      {"test fraction of 1",
       "test_fraction: 0.25",
       "test_fraction: 1.5",
       {"exp.yaml:23:51", "'1.5'", "a number > 0 and < 1"}},
      {"shell in a partition",
       "  mem: 8G",
       "  mem: 8G\n  partition: \"x; rm -rf ~\"",
       {"slurm.partition", "'x; rm -rf ~'", "letters, digits"}},
      {"bad time limit", "\"01:30:00\"", "\"tomorrow\"", {"slurm.time", "'tomorrow'", "a SLURM time limit"}},
      {"USR1 due before the job starts",
       "  mem: 8G",
       "  mem: 8G\n  signal_seconds: 5400",
       {"exp.yaml:28:19", "slurm.signal_seconds", "'5400'", "below slurm.time '01:30:00' (5400 s)"}},
      {"time limit within the default USR1 lead",
       "\"01:30:00\"",
       "\"2\"",
       {"exp.yaml:26:9", "slurm.time", "'2'", "longer than slurm.signal_seconds (120 s)"}},
      {"time limit of seconds within the USR1 lead",
       "\"01:30:00\"",
       "\"1:30\"",
       {"exp.yaml:26:9", "'1:30'", "this one is 90 s"}},
      {"grid value list empty", "training.lr: [0.001, 0.0003]", "training.lr: []", {"a non-empty list"}},
      {"grid value repeated", "training.lr: [0.001, 0.0003]", "training.lr: [0.001, 0.001]", {"distinct values"}},
      {"grid path without section", "training.lr: [", "lr: [", {"exp.yaml:16:3", "a parameter path 'section.key'"}},
      {"grid path in a section that cannot vary",
       "training.lr: [",
       "slurm.mem: [",
       {"a path in section data, model or training"}},
      {"grid path that is not a parameter",
       "model.dilation: [1, 2]",
       "model.dilatation: [1, 2]",
       {"exp.yaml:18:", "'model.dilatation' is not a parameter", "did you mean 'model.dilation'?", "model has:"}},
      {"grid value out of range",
       "training.lr: [0.001, 0.0003]",
       "training.lr: [0.001, -2]",
       {"exp.yaml:16:24", "training.lr", "'-2'"}},
      {"zip lists of different lengths",
       "model.dilation: [1, 2]",
       "model.dilation: [1, 2, 4]",
       {"zip lists must be equally long"}},
      {"exclude naming an unvaried parameter",
       "{training.lr: 0.0003, model.kernel_size: 5}",
       "{training.epochs: 3}",
       {"'training.epochs' is not a grid parameter"}},
      {"missing required section",
       "resampling:\n  outer: {kfold: {k: 5}}\n",
       "other:\n  outer: {kfold: {k: 5}}\n",
       {"exp.yaml:1:1", "required key 'resampling' is missing"}},
      {"invalid YAML", "  kernel_size: 5", "  kernel_size: [5", {"exp.yaml:", "not valid YAML"}},
      {"duplicate target", "    - dH", "    - dG", {"distinct target names"}},
      {"multiclass classes on regression",
       "{name: dG, task: regression}",
       "{name: dG, task: regression, classes: [a, b]}",
       {"'classes' applies to multiclass and per_position targets"}},
      {"negative boundary tolerance",
       "{name: dG, task: regression}",
       "{name: dG, task: per_position, tolerance: -1}",
       {"exp.yaml:6:49", "data.targets[0].tolerance", "'-1'", "an integer from 0 to 1000000"}},
      {"fractional boundary tolerance",
       "{name: dG, task: regression}",
       "{name: dG, task: per_position, tolerance: 2.5}",
       {"exp.yaml:6:49", "'2.5'", "an integer from 0"}},
      {"tolerance on a per-sequence target",
       "{name: dG, task: regression}",
       "{name: dG, task: binary, tolerance: 3}",
       {"exp.yaml:6:43", "data.targets[0].tolerance", "'3'", "applies to per_position targets only"}},
      {"k-mer longer than 32",
       "  seed: 7",
       "  group_by: {similarity: {kmer: 40, threshold: 0.5}}\n  seed: 7",
       {"exp.yaml:24:33", "resampling.group_by.similarity.kmer", "'40'", "an integer from 1 to 32"}},
      {"similarity threshold of 0",
       "  seed: 7",
       "  group_by: {similarity: {kmer: 8, threshold: 0}}\n  seed: 7",
       {"exp.yaml:24:", "resampling.group_by.similarity.threshold", "'0'", "a number > 0 and <= 1"}},
      {"similarity threshold above 1",
       "  seed: 7",
       "  group_by: {similarity: {kmer: 8, threshold: 1.5}}\n  seed: 7",
       {"'1.5'", "a number > 0 and <= 1"}},
      {"similarity without a threshold",
       "  seed: 7",
       "  group_by: {similarity: {kmer: 8}}\n  seed: 7",
       {"exp.yaml:24:", "threshold"}},
      {"group_by with both column and similarity",
       "  seed: 7",
       "  group_by: {column: chrom, similarity: {kmer: 8, threshold: 0.5}}\n  seed: 7",
       {"exp.yaml:24:13", "exactly one of"}},
      {"group_by with an unknown form",
       "  seed: 7",
       "  group_by: {similarty: {kmer: 8}}\n  seed: 7",
       {"unknown key 'similarty'", "did you mean 'similarity'?"}},
      {"one class for per-position labels",
       "{name: dG, task: regression}",
       "{name: dG, task: per_position, classes: [other]}",
       {"exp.yaml:6:47", "data.targets[0].classes", "2 to 10 class names", "label digit"}},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    const std::string text = replaced(kValid, c.from, c.to);
    try {
      parse(text);
      FAIL("accepted: " << c.what);
    } catch (const SpecError& e) {
      const std::string msg = e.what();
      for (const auto& part : c.message_parts) {
        INFO("message: " << msg);
        CHECK(msg.find(part) != std::string::npos);
      }
    }
  }
}

TEST_CASE("group_by takes a column, in two forms, or clusters of similar sequences", "[spec]") {
  const auto with = [](const std::string& group_by) {
    return parse(replaced(kValid, "  seed: 7", "  group_by: " + group_by + "\n  seed: 7")).base().resampling;
  };
  const ResamplingSpec plain = with("chrom"), column = with("{column: chrom}");
  CHECK(plain.group_by == "chrom");
  CHECK(column.group_by == "chrom");
  CHECK_FALSE(column.group_by_similarity);
  // The two column forms plan alike, so results of plans made before the mapping form still count.
  CHECK(canonical_resampling(plain) == canonical_resampling(column));
  const ResamplingSpec similar = with("{similarity: {kmer: 8, threshold: 0.5}}");
  REQUIRE(similar.group_by_similarity);
  CHECK(similar.group_by.empty());
  CHECK(similar.group_by_similarity->kmer == 8);
  CHECK(similar.group_by_similarity->threshold == 0.5);
  CHECK_THAT(canonical_resampling(similar),
             Catch::Contains("resampling.group_by={similarity: {kmer: 8, threshold: 0.5}}"));
  // Results count only for the k-mer length and threshold that made their folds.
  CHECK(canonical_resampling(similar) != canonical_resampling(with("{similarity: {kmer: 9, threshold: 0.5}}")));
  CHECK(canonical_resampling(similar) != canonical_resampling(with("{similarity: {kmer: 8, threshold: 0.6}}")));
}

TEST_CASE("similarity groups need sequences", "[spec]") {
  const std::string features = replaced(replaced(kValid, "  sequence_column: sequence", "  feature_columns: [a, b]"),
                                        "  seed: 7", "  group_by: {similarity: {kmer: 8, threshold: 0.5}}\n  seed: 7");
  CHECK_THROWS_WITH(parse(features), Catch::Contains("exp.yaml:24:13") && Catch::Contains("feature_columns"));
}

TEST_CASE("a per-position target names its label digits and the tolerance of its boundary F1", "[spec]") {
  const auto doc = parse(replaced(kValid, "{name: dG, task: regression}",
                                  "{name: dG, task: per_position, classes: [other, start, end], tolerance: 4}"));
  const TargetSpec& t = doc.base().data.targets.front();
  CHECK(t.task == TaskType::per_position);
  CHECK(t.classes == std::vector<std::string>{"other", "start", "end"});
  CHECK(t.tolerance == 4);
  CHECK(doc.base().data.targets.back().tolerance == 0);
}

TEST_CASE("a missing required key names the section it belongs to", "[spec]") {
  try {
    parse(replaced(kValid, "  path: data/duplex.csv\n", ""));
    FAIL("accepted a data section without a path");
  } catch (const SpecError& e) {
    CHECK_THAT(e.what(), Catch::Contains("data: required key 'path' is missing"));
  }
}

TEST_CASE("loading a spec file that does not exist names the file", "[spec]") {
  CHECK_THROWS_WITH(SpecDocument::load("/nonexistent/exp.yaml"), Catch::Contains("/nonexistent/exp.yaml"));
}

TEST_CASE("every shipped example experiment parses", "[spec]") {
  for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(GRIDFOLD_SOURCE_DIR) / "grids")) {
    if (entry.path().extension() != ".yaml") continue;
    INFO(entry.path());
    CHECK_NOTHROW(SpecDocument::load(entry.path()));
  }
}

TEST_CASE("final_model says how finalize makes the model, and bad values name their line:column", "[spec]") {
  const SpecDocument defaults = parse(kValid);
  CHECK(defaults.base().final_model.strategy == FinalModelStrategy::refit);
  CHECK(defaults.base().final_model.target.empty());
  CHECK_FALSE(defaults.base().output.save_models);

  const SpecDocument chosen =
      parse(kValid + "output: {save_models: true}\nfinal_model: {strategy: ensemble, target: dH, metric: rmse}\n");
  CHECK(chosen.base().final_model.strategy == FinalModelStrategy::ensemble);
  CHECK(chosen.base().final_model.target == "dH");
  CHECK(chosen.base().final_model.metric == "rmse");
  CHECK(chosen.base().output.save_models);

  const auto message_of = [](const std::string& text) -> std::string {
    try {
      parse(text);
    } catch (const SpecError& e) {
      return e.what();
    }
    return "accepted";
  };
  const std::string line = std::to_string(std::count(kValid.begin(), kValid.end(), '\n') + 1);
  const std::string unknown_target = message_of(kValid + "final_model: {target: Tm}\n");
  CHECK_THAT(unknown_target, Catch::Contains("exp.yaml:" + line + ":23") && Catch::Contains("final_model.target") &&
                                 Catch::Contains("'Tm'") && Catch::Contains("dG, dH"));
  const std::string bad_strategy = message_of(kValid + "final_model: {strategy: average}\n");
  CHECK_THAT(bad_strategy, Catch::Contains("exp.yaml:" + line + ":25") && Catch::Contains("'average'") &&
                               Catch::Contains("refit") && Catch::Contains("ensemble"));
}

TEST_CASE("SLURM time limits are read in seconds in every form sbatch accepts", "[spec]") {
  CHECK(slurm_time_seconds("90") == 90 * 60);                   // minutes
  CHECK(slurm_time_seconds("1:30") == 90);                      // MM:SS
  CHECK(slurm_time_seconds("02:00:00") == 2 * 3600);            // HH:MM:SS
  CHECK(slurm_time_seconds("1-12") == 36 * 3600);               // D-HH
  CHECK(slurm_time_seconds("2-01:30") == 49 * 3600 + 30 * 60);  // D-HH:MM
  CHECK(slurm_time_seconds("1-00:00:05") == 24 * 3600 + 5);     // D-HH:MM:SS
  CHECK(slurm_time_seconds("0") == 0);                          // no limit
  CHECK_FALSE(slurm_time_seconds("tomorrow"));
  CHECK_FALSE(slurm_time_seconds("1:2:3:4"));
  CHECK_FALSE(slurm_time_seconds("-5"));
  CHECK_FALSE(slurm_time_seconds(""));
}

TEST_CASE("a signal lead below the time limit, or no time limit at all, is accepted", "[spec]") {
  CHECK(parse(replaced(kValid, "  mem: 8G", "  mem: 8G\n  signal_seconds: 5399")).base().slurm.signal_seconds == 5399);
  CHECK(parse(replaced(kValid, "\"01:30:00\"", "\"0\"")).base().slurm.time == "0");
}

TEST_CASE("output.hdf5_file_locking is unset by default, a boolean when given, and checked", "[spec]") {
  CHECK_FALSE(parse(kValid).base().output.hdf5_file_locking.has_value());
  CHECK(parse(kValid + "output: {hdf5_file_locking: false}\n").base().output.hdf5_file_locking == false);
  CHECK(parse(kValid + "output: {hdf5_file_locking: true}\n").base().output.hdf5_file_locking == true);
  CHECK_THROWS_AS(parse(kValid + "output: {hdf5_file_locking: sometimes}\n"), SpecError);
}

TEST_CASE("data.format hdf5 is refused when the spec is read, naming the formats gridfold reads", "[spec]") {
  const std::string spec = replaced(kValid, "  path: data/duplex.csv\n", "  path: data/duplex.csv\n  format: hdf5\n");
  CHECK_THROWS_WITH(parse(spec), Catch::Contains("data.format: 'hdf5' is not valid; expected one of csv, tsv, fasta"));
}

TEST_CASE("training.device is auto by default, cpu or cuda when given, and stays out of the config text", "[spec]") {
  CHECK(parse(kValid).base().training.device == DeviceSetting::automatic);
  const SpecDocument cuda = parse(replaced(kValid, "  epochs: 10", "  epochs: 10\n  device: cuda"));
  CHECK(cuda.base().training.device == DeviceSetting::cuda);
  // Where a task runs does not change what it trains: results stay valid when only it changes.
  CHECK(canonical_config(cuda.base()) == canonical_config(parse(kValid).base()));
  try {
    parse(replaced(kValid, "  epochs: 10", "  epochs: 10\n  device: gpu"));
    FAIL("expected SpecError");
  } catch (const SpecError& e) {
    CHECK_THAT(e.what(), Catch::Contains("exp.yaml:14:11") && Catch::Contains("'gpu'") &&
                             Catch::Contains("one of auto, cpu, cuda"));
  }
}

TEST_CASE("slurm.ranks_per_gpu shares one GPU per rank between ranks, and needs slurm.gpus 1", "[spec]") {
  CHECK(parse(kValid).base().slurm.ranks_per_gpu == 1);
  CHECK(parse(replaced(kValid, "  mem: 8G", "  mem: 8G\n  gpus: 1\n  ranks_per_gpu: 4")).base().slurm.ranks_per_gpu ==
        4);
  try {
    parse(replaced(kValid, "  mem: 8G", "  mem: 8G\n  ranks_per_gpu: 2"));
    FAIL("expected SpecError");
  } catch (const SpecError& e) {
    CHECK_THAT(e.what(), Catch::Contains("slurm.ranks_per_gpu") && Catch::Contains("slurm.gpus is 0"));
  }
}

TEST_CASE("a transformer pools the mean of its tokens unless told otherwise, and lists its shape in the config text",
          "[spec]") {
  const std::string transformer = replaced(kValid, "  family: cnn1d", "  family: transformer\n  kmer: 4\n  heads: 2");
  const ExperimentSpec s = parse(transformer).base();
  CHECK(s.model.family == ModelFamily::transformer);
  CHECK(s.model.global_pooling == Pooling::mean);
  CHECK(s.model.kmer == 4);
  CHECK(s.model.heads == 2);
  CHECK(s.model.d_model == 64);
  CHECK(canonical_config(s).find("model.kmer") != std::string::npos);
  CHECK(parse(replaced(transformer, "  kmer: 4", "  kmer: 4\n  global_pooling: cls")).base().model.global_pooling ==
        Pooling::cls);
  // Other families' config texts, and so their results' fingerprints, do not change.
  CHECK(canonical_config(parse(kValid).base()).find("model.kmer") == std::string::npos);
}

TEST_CASE("transformer settings out of range name their line:column and what is valid", "[spec]") {
  const std::string transformer = replaced(kValid, "  family: cnn1d", "  family: transformer");
  const auto message = [&](const std::string& from, const std::string& to) {
    try {
      parse(replaced(transformer, from, to));
    } catch (const SpecError& e) {
      return std::string(e.what());
    }
    FAIL("expected SpecError");
    return std::string();
  };
  CHECK_THAT(message("  kernel_size: 5", "  kernel_size: 5\n  kmer: 7"),
             Catch::Contains("exp.yaml:12:9") && Catch::Contains("'7'") && Catch::Contains("an integer from 1 to 6"));
  CHECK_THAT(message("  kernel_size: 5", "  kernel_size: 5\n  d_model: 30\n  heads: 4"),
             Catch::Contains("exp.yaml:12:12") && Catch::Contains("'30'") &&
                 Catch::Contains("model.heads dividing model.d_model (4 heads, d_model 30)"));
  CHECK_THAT(message("  kernel_size: 5", "  kernel_size: 5\n  heads: 5"),
             Catch::Contains("exp.yaml:12:10") && Catch::Contains("'5'"));
  CHECK_THAT(message("  family: transformer", "  family: cnn1d\n  global_pooling: cls"),
             Catch::Contains("exp.yaml:10:19") && Catch::Contains("'cls'") &&
                 Catch::Contains("only family transformer has"));
}

TEST_CASE("a resnet1d reads a dilation per block, and its receptive field counts two convolutions per block",
          "[spec]") {
  const std::string resnet = replaced(kValid, "  family: cnn1d\n  filters: [32, 32]",
                                      "  family: resnet1d\n  filters: [16, 16, 16]\n"
                                      "  dilations: [1, 4, 10]\n  global_pooling: none");
  const ExperimentSpec s = parse(resnet).base();
  CHECK(s.model.family == ModelFamily::resnet1d);
  CHECK(block_dilations(s.model) == std::vector<int>{1, 4, 10});
  // 1 + 2 x (5 - 1) x (1 + 4 + 10)
  CHECK(receptive_field(s.model) == 121);
  CHECK(canonical_config(s).find("model.dilations=[1, 4, 10]") != std::string::npos);
  // Specs without dilations keep their config text.
  CHECK(canonical_config(parse(kValid).base()).find("model.dilations") == std::string::npos);
}

TEST_CASE("the receptive field of a cnn1d follows dilation growth and block pooling", "[spec]") {
  ModelSpec m;
  m.filters = {32, 32, 32};
  m.kernel_size = 9;
  m.block_pooling = Pooling::none;
  m.dilation_growth = true;  // dilations 1, 2, 4
  CHECK(receptive_field(m) == 1 + 8 * (1 + 2 + 4));
  m.dilation_growth = false;
  m.block_pooling = Pooling::max;  // pool 2 after each block: later spans count double
  CHECK(receptive_field(m) == 1 + (8 + 1) + (8 + 1) * 2 + (8 + 1) * 4);
  m.family = ModelFamily::bilstm;
  CHECK(receptive_field(m) == 0);
}

TEST_CASE("dilations of the wrong count, pooling resnets and focal loss on regression are refused with line:column",
          "[spec]") {
  const auto message = [&](const std::string& text) {
    try {
      parse(text);
    } catch (const SpecError& e) {
      return std::string(e.what());
    }
    FAIL("expected SpecError");
    return std::string();
  };
  CHECK_THAT(message(replaced(kValid, "  kernel_size: 5", "  kernel_size: 5\n  dilations: [1, 2, 4]")),
             Catch::Contains("exp.yaml:12:14") && Catch::Contains("[1, 2, 4]") &&
                 Catch::Contains("one dilation per block: 2 entries"));
  CHECK_THAT(message(replaced(kValid, "  family: cnn1d", "  family: resnet1d\n  block_pooling: max")),
             Catch::Contains("block_pooling: 'max' is not valid for family resnet1d"));
  CHECK_THAT(message(replaced(kValid, "{name: dG, task: regression}", "{name: dG, task: regression, focal_gamma: 2}")),
             Catch::Contains("exp.yaml:6:49") && Catch::Contains("focal loss applies to multiclass targets"));
  const ExperimentSpec focal =
      parse(replaced(kValid, "{name: dG, task: regression}", "{name: dG, task: multiclass, focal_gamma: 2}")).base();
  CHECK(focal.data.targets[0].focal_gamma == 2.0);
  CHECK(canonical_config(focal).find("data.targets[0].focal_gamma=2") != std::string::npos);
}
