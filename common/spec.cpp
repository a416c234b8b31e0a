#include "common/spec.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <regex>
#include <set>

#include <fmt/format.h>

#include "common/plan_limits.hpp"
#include "common/search_space.hpp"
#include "common/slurm_time.hpp"
#include "common/text_file.hpp"
#include "common/text_match.hpp"
#include "common/yaml_reader.hpp"

namespace gridfold {
namespace fs = std::filesystem;
using namespace yaml_reader;

std::string SourceLocation::str() const {
  if (line == 0) return file;
  return fmt::format("{}:{}:{}", file, line, column);
}

namespace {

// Sections of the spec whose scalar parameters a grid may vary.
const std::set<std::string> kGridSections{"data", "model", "training"};

const EnumName<Alphabet> kAlphabets[] = {{Alphabet::dna, "dna"},
                                         {Alphabet::rna, "rna"},
                                         {Alphabet::protein, "protein"},
                                         {Alphabet::none, "none"}};
const EnumName<DataFormat> kFormats[] = {{DataFormat::csv, "csv"},
                                         {DataFormat::tsv, "tsv"},
                                         {DataFormat::fasta, "fasta"}};
const EnumName<TaskType> kTaskTypes[] = {{TaskType::regression, "regression"},
                                         {TaskType::binary, "binary"},
                                         {TaskType::multiclass, "multiclass"},
                                         {TaskType::per_position, "per_position"}};
const EnumName<ModelFamily> kFamilies[] = {{ModelFamily::cnn1d, "cnn1d"},
                                           {ModelFamily::branched_cnn, "branched_cnn"},
                                           {ModelFamily::bilstm, "bilstm"},
                                           {ModelFamily::mlp, "mlp"},
                                           {ModelFamily::torchscript, "torchscript"},
                                           {ModelFamily::transformer, "transformer"},
                                           {ModelFamily::resnet1d, "resnet1d"}};
const EnumName<Pooling> kPoolings[] = {{Pooling::none, "none"},
                                       {Pooling::max, "max"},
                                       {Pooling::mean, "mean"},
                                       {Pooling::sum, "sum"},
                                       {Pooling::cls, "cls"}};
const EnumName<Optimizer> kOptimizers[] = {{Optimizer::adam, "adam"},
                                           {Optimizer::adamw, "adamw"},
                                           {Optimizer::sgd, "sgd"}};
const EnumName<DeviceSetting> kDevices[] = {{DeviceSetting::automatic, "auto"},
                                            {DeviceSetting::cpu, "cpu"},
                                            {DeviceSetting::cuda, "cuda"}};
const EnumName<Compression> kCompressions[] = {{Compression::zstd, "zstd"},
                                               {Compression::gzip, "gzip"},
                                               {Compression::none, "none"}};
const EnumName<SearchStrategy> kSearchStrategies[] = {{SearchStrategy::grid, "grid"}, {SearchStrategy::race, "race"}};
const EnumName<FinalModelStrategy> kStrategies[] = {{FinalModelStrategy::refit, "refit"},
                                                    {FinalModelStrategy::ensemble, "ensemble"}};

constexpr long long kMaxInt = std::numeric_limits<int>::max();
constexpr double kInf = std::numeric_limits<double>::infinity();

TargetSpec parse_target(const Value& v, const ParseContext& ctx) {
  TargetSpec t;
  if (v.node.IsScalar()) {
    t.name = as_string(v);
    return t;
  }
  MapReader r(v, ctx);
  t.name = as_string(r.require("name"));
  r.read("task", [&](const Value& x) { t.task = as_enum(x, kTaskTypes); });
  const std::optional<Value> classes = r.get("classes");
  if (classes) t.classes = as_string_list(*classes, ctx);
  r.read("pos_weight", [&](const Value& x) { t.pos_weight = as_number(x, 0, kInf); });
  r.read("weight", [&](const Value& x) { t.weight = as_number(x, 0, kInf, true); });
  const std::optional<Value> focal_gamma = r.get("focal_gamma");
  if (focal_gamma) t.focal_gamma = as_number(*focal_gamma, 0, 10);
  const std::optional<Value> tolerance = r.get("tolerance");
  if (tolerance) t.tolerance = static_cast<int>(as_integer(*tolerance, 0, 1000000));
  r.finish();
  if (!t.classes.empty() && t.task != TaskType::multiclass && t.task != TaskType::per_position) {
    throw SpecError(
        fmt::format("{}: {}: 'classes' applies to multiclass and per_position targets only", v.where.str(), v.path));
  }
  if (t.task == TaskType::per_position && classes && (t.classes.size() < 2 || t.classes.size() > 10)) {
    classes->fail("2 to 10 class names for a per_position target, one per label digit 0-9 (0 = background)");
  }
  if (tolerance && t.task != TaskType::per_position) {
    tolerance->fail("no tolerance: it applies to per_position targets only");
  }
  const bool class_head = t.task == TaskType::multiclass || (t.task == TaskType::per_position && !t.classes.empty());
  if (focal_gamma && !class_head) {
    focal_gamma->fail("no focal_gamma: focal loss applies to multiclass targets and per_position targets with classes");
  }
  return t;
}

DataSpec parse_data(MapReader r, const ParseContext& ctx) {
  DataSpec d;
  d.path = as_path(r.require("path"), ctx);
  r.read("format", [&](const Value& x) { d.format = as_enum(x, kFormats); });
  r.read("sequence_column", [&](const Value& x) { d.sequence_column = as_string(x); });
  r.read("feature_columns", [&](const Value& x) { d.feature_columns = as_string_list(x, ctx); });
  r.read("id_column", [&](const Value& x) { d.id_column = as_string(x); });
  r.read("labels", [&](const Value& x) { d.labels = as_path(x, ctx); });
  r.read("alphabet", [&](const Value& x) { d.alphabet = as_enum(x, kAlphabets); });
  const Value targets = r.require("targets");
  for (const auto& item : sequence_items(targets, ctx, "a list of targets (names or {name, task})")) {
    d.targets.push_back(parse_target(item, ctx));
  }
  if (d.targets.empty()) targets.fail("at least one target");
  std::set<std::string> names;
  for (const auto& t : d.targets) {
    if (!names.insert(t.name).second) targets.fail(fmt::format("distinct target names ('{}' repeats)", t.name));
  }
  r.read("standardize_targets", [&](const Value& x) { d.standardize_targets = as_bool(x); });
  r.finish();
  if (!d.feature_columns.empty()) {
    d.sequence_column.clear();
    d.alphabet = Alphabet::none;
  }
  if (d.format == DataFormat::fasta && d.labels.empty()) {
    throw SpecError(fmt::format("{}: data: fasta data needs 'labels', a CSV/TSV table of targets keyed by record id",
                                r.value().where.str()));
  }
  return d;
}

ModelSpec parse_model(MapReader r, const ParseContext& ctx) {
  ModelSpec m;
  r.read("family", [&](const Value& x) { m.family = as_enum(x, kFamilies); });
  r.read("filters", [&](const Value& x) { m.filters = as_int_list(x, ctx, 1, 1 << 16); });
  r.read("kernel_size", [&](const Value& x) { m.kernel_size = static_cast<int>(as_integer(x, 1, 1024)); });
  r.read("dilation", [&](const Value& x) { m.dilation = static_cast<int>(as_integer(x, 1, 1024)); });
  r.read("dilation_growth", [&](const Value& x) { m.dilation_growth = as_bool(x); });
  const std::optional<Value> dilations = r.get("dilations");
  if (dilations) m.dilations = as_int_list(*dilations, ctx, 1, 1 << 16);
  r.read("batch_norm", [&](const Value& x) { m.batch_norm = as_bool(x); });
  r.read("block_pooling", [&](const Value& x) { m.block_pooling = as_enum(x, kPoolings); });
  r.read("pool_size", [&](const Value& x) { m.pool_size = static_cast<int>(as_integer(x, 1, 1024)); });
  const std::optional<Value> global_pooling = r.get("global_pooling");
  if (global_pooling) m.global_pooling = as_enum(*global_pooling, kPoolings);
  r.read("dense", [&](const Value& x) {
    m.dense = x.node.IsSequence() && x.node.size() == 0 ? std::vector<int>{} : as_int_list(x, ctx, 1, 1 << 20);
  });
  r.read("dropout", [&](const Value& x) { m.dropout = as_number(x, 0, 0.99); });
  r.read("hidden_size", [&](const Value& x) { m.hidden_size = static_cast<int>(as_integer(x, 1, 1 << 16)); });
  r.read("lstm_layers", [&](const Value& x) { m.lstm_layers = static_cast<int>(as_integer(x, 1, 64)); });
  r.read("bidirectional", [&](const Value& x) { m.bidirectional = as_bool(x); });
  r.read("path", [&](const Value& x) { m.script_path = as_path(x, ctx); });
  r.read("kmer", [&](const Value& x) { m.kmer = static_cast<int>(as_integer(x, 1, 6)); });
  r.read("layers", [&](const Value& x) { m.layers = static_cast<int>(as_integer(x, 1, 64)); });
  const std::optional<Value> heads = r.get("heads");
  if (heads) m.heads = static_cast<int>(as_integer(*heads, 1, 256));
  const std::optional<Value> d_model = r.get("d_model");
  if (d_model) m.d_model = static_cast<int>(as_integer(*d_model, 1, 1 << 16));
  r.read("ff", [&](const Value& x) { m.ff = static_cast<int>(as_integer(x, 1, 1 << 20)); });
  r.finish();
  if (m.block_pooling == Pooling::sum || m.block_pooling == Pooling::cls) {
    throw SpecError(fmt::format("{}: model.block_pooling: '{}' is not valid; expected one of none, max, mean",
                                r.value().where.str(), to_string(m.block_pooling)));
  }
  if (m.family == ModelFamily::transformer) {
    // The mean of the token outputs: what the plasmid workload's authors found to work better
    // than the [CLS] token.
    if (!global_pooling) m.global_pooling = Pooling::mean;
    if (m.d_model % m.heads != 0) {
      // Each head attends over d_model / heads of the token's features.
      const std::string expected =
          fmt::format("model.heads dividing model.d_model ({} heads, d_model {})", m.heads, m.d_model);
      (d_model ? *d_model : *heads).fail(expected);
    }
  } else if (m.global_pooling == Pooling::cls) {
    global_pooling->fail("none, max, mean or sum: cls pooling reads a [CLS] token, which only family transformer has");
  }
  if (m.family == ModelFamily::torchscript && m.script_path.empty()) {
    throw SpecError(
        fmt::format("{}: model: family torchscript needs 'path' to a torch.jit.script file", r.value().where.str()));
  }
  if (dilations && m.dilations.size() != m.filters.size()) {
    dilations->fail(fmt::format("one dilation per block: {} entries, as many as model.filters", m.filters.size()));
  }
  if (m.family == ModelFamily::resnet1d && m.block_pooling != Pooling::none) {
    // A residual block adds its input to its output, so it must keep the length.
    throw SpecError(fmt::format("{}: model.block_pooling: '{}' is not valid for family resnet1d; expected none",
                                r.value().where.str(), to_string(m.block_pooling)));
  }
  return m;
}

TrainingSpec parse_training(MapReader r) {
  TrainingSpec t;
  r.read("epochs", [&](const Value& x) { t.epochs = static_cast<int>(as_integer(x, 1, 1000000)); });
  r.read("batch_size", [&](const Value& x) { t.batch_size = static_cast<int>(as_integer(x, 1, 1 << 20)); });
  r.read("optimizer", [&](const Value& x) { t.optimizer = as_enum(x, kOptimizers); });
  r.read("lr", [&](const Value& x) { t.lr = as_number(x, 0, 10, true); });
  r.read("weight_decay", [&](const Value& x) { t.weight_decay = as_number(x, 0, 10); });
  r.read("momentum", [&](const Value& x) { t.momentum = as_number(x, 0, 1); });
  r.read("patience", [&](const Value& x) { t.patience = static_cast<int>(as_integer(x, 0, 1000000)); });
  r.read("validation_fraction", [&](const Value& x) { t.validation_fraction = as_number(x, 0, 0.9); });
  r.read("eval_every", [&](const Value& x) { t.eval_every = static_cast<int>(as_integer(x, 0, kMaxInt)); });
  r.read("eval_max_samples", [&](const Value& x) { t.eval_max_samples = static_cast<int>(as_integer(x, 0, kMaxInt)); });
  r.read("checkpoint_every", [&](const Value& x) { t.checkpoint_every = static_cast<int>(as_integer(x, 0, kMaxInt)); });
  r.read("seed", [&](const Value& x) {
    t.seed = static_cast<std::uint64_t>(as_integer(x, 0, std::numeric_limits<long long>::max()));
  });
  r.read("threads", [&](const Value& x) { t.threads = static_cast<int>(as_integer(x, 0, 4096)); });
  r.read("device", [&](const Value& x) { t.device = as_enum(x, kDevices); });
  r.read("crop_length", [&](const Value& x) { t.crop_length = static_cast<int>(as_integer(x, 0, kMaxInt)); });
  r.read("reverse_complement", [&](const Value& x) { t.reverse_complement = as_number(x, 0, 1); });
  r.read("balanced_sampling", [&](const Value& x) { t.balanced_sampling = as_bool(x); });
  r.finish();
  return t;
}

// A fold count from `lo` to `most`; the message says why there is a most.
int as_fold_count(const Value& v, int lo, int most, const char* which) {
  const std::string expected =
      fmt::format("an integer from {} to {}, the most {} folds a plan holds (plan.h5 numbers folds as 16-bit integers)",
                  lo, most, which);
  const std::string& s = v.scalar(expected);
  long long n = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || end != s.data() + s.size() || n < lo || n > most) v.fail(expected);
  return static_cast<int>(n);
}

FoldScheme parse_fold_scheme(const Value& v, const ParseContext& ctx, int most, const char* which) {
  MapReader r(v, ctx);
  auto kfold = r.get("kfold");
  auto holdout = r.get("repeated_holdout");
  r.finish();
  if (bool(kfold) == bool(holdout)) {
    throw SpecError(
        fmt::format("{}: {}: expected exactly one of 'kfold: {{k: K}}' or "
                    "'repeated_holdout: {{n: N, test_fraction: F}}'",
                    v.where.str(), v.path));
  }
  FoldScheme s;
  if (kfold) {
    MapReader k(*kfold, ctx);
    s.kind = FoldScheme::Kind::kfold;
    s.k = as_fold_count(k.require("k"), 2, most, which);
    k.finish();
  } else {
    MapReader h(*holdout, ctx);
    s.kind = FoldScheme::Kind::repeated_holdout;
    s.n = as_fold_count(h.require("n"), 1, most, which);
    h.read("test_fraction", [&](const Value& x) {
      s.test_fraction = as_number(x, 0, kInf, true);
      if (s.test_fraction >= 1) x.fail("a number > 0 and < 1");
    });
    h.finish();
  }
  return s;
}

// `group_by: chrom` (the older form), `{column: chrom}` or `{similarity: {kmer: K, threshold: T}}`.
void parse_group_by(const Value& v, const ParseContext& ctx, ResamplingSpec& s) {
  if (v.node.IsScalar()) {
    s.group_by = as_string(v);
    return;
  }
  MapReader r(v, ctx);
  auto column = r.get("column");
  auto similarity = r.get("similarity");
  r.finish();
  if (bool(column) == bool(similarity)) {
    throw SpecError(
        fmt::format("{}: {}: expected a column name, or exactly one of '{{column: NAME}}' or "
                    "'{{similarity: {{kmer: K, threshold: T}}}}'",
                    v.where.str(), v.path));
  }
  if (column) {
    s.group_by = as_string(*column);
    return;
  }
  MapReader sim(*similarity, ctx);
  SimilarityGrouping g;
  g.kmer = static_cast<int>(as_integer(sim.require("kmer"), 1, 32));
  g.threshold = as_number(sim.require("threshold"), 0, 1, true);
  sim.finish();
  s.group_by_similarity = g;
}

ResamplingSpec parse_resampling(MapReader r, const ParseContext& ctx) {
  ResamplingSpec s;
  s.outer = parse_fold_scheme(r.require("outer"), ctx, kMaxOuterFolds, "outer");
  r.read("inner", [&](const Value& x) { s.inner = parse_fold_scheme(x, ctx, kMaxInnerFolds, "inner"); });
  r.read("stratify_by", [&](const Value& x) { s.stratify_by = as_string(x); });
  r.read("group_by", [&](const Value& x) { parse_group_by(x, ctx, s); });
  r.read("seed", [&](const Value& x) {
    s.seed = static_cast<std::uint64_t>(as_integer(x, 0, std::numeric_limits<long long>::max()));
  });
  r.finish();
  return s;
}

// SLURM values end up in #SBATCH lines and shell scripts; they are checked against the
// forms SLURM accepts, which also keeps shell metacharacters out.
const std::regex kSlurmName{R"([A-Za-z0-9_.+-]*)"};
const std::regex kSlurmTime{R"((\d+-)?\d+(:\d{1,2}){0,2}|\d+-\d+)"};
const std::regex kSlurmMem{R"(\d+[KMGT]?)"};
const std::regex kModuleName{R"([A-Za-z0-9_.+/-]+)"};
const std::regex kDirective{R"(--[a-z][a-z0-9-]*(=[A-Za-z0-9_.,:=@%+/-]+)?)"};

SlurmSpec parse_slurm(MapReader r, const ParseContext& ctx) {
  SlurmSpec s;
  const std::string name_form = "letters, digits and _ . + - only";
  r.read("partition", [&](const Value& x) { s.partition = as_matching(x, kSlurmName, name_form); });
  r.read("account", [&](const Value& x) { s.account = as_matching(x, kSlurmName, name_form); });
  r.read("qos", [&](const Value& x) { s.qos = as_matching(x, kSlurmName, name_form); });
  const std::optional<Value> time = r.get("time");
  if (time) s.time = as_matching(*time, kSlurmTime, "a SLURM time limit such as 90, 02:00:00 or 1-12:00:00");
  r.read("mem", [&](const Value& x) { s.mem = as_matching(x, kSlurmMem, "a memory size such as 4000, 8G or 512M"); });
  r.read("cpus_per_task", [&](const Value& x) { s.cpus_per_task = static_cast<int>(as_integer(x, 1, 4096)); });
  r.read("ntasks", [&](const Value& x) { s.ntasks = static_cast<int>(as_integer(x, 1, 100000)); });
  r.read("nodes", [&](const Value& x) { s.nodes = static_cast<int>(as_integer(x, 0, 100000)); });
  r.read("gpus", [&](const Value& x) { s.gpus = static_cast<int>(as_integer(x, 0, 64)); });
  const std::optional<Value> ranks_per_gpu = r.get("ranks_per_gpu");
  if (ranks_per_gpu) s.ranks_per_gpu = static_cast<int>(as_integer(*ranks_per_gpu, 1, 64));
  r.read("array_throttle", [&](const Value& x) { s.array_throttle = static_cast<int>(as_integer(x, 0, kMaxInt)); });
  r.read("tasks_per_element",
         [&](const Value& x) { s.tasks_per_element = static_cast<int>(as_integer(x, 1, kMaxInt)); });
  r.read("modules", [&](const Value& x) {
    for (const auto& item : sequence_items(x, ctx, "a list of module names")) {
      s.modules.push_back(as_matching(item, kModuleName, "a module name (letters, digits and _ . + / -)"));
    }
  });
  r.read("extra_directives", [&](const Value& x) {
    for (const auto& item : sequence_items(x, ctx, "a list of sbatch options")) {
      s.extra_directives.push_back(
          as_matching(item, kDirective, "an sbatch long option such as --constraint=avx2 (no spaces or quotes)"));
    }
  });
  r.read("template", [&](const Value& x) { s.template_path = as_path(x, ctx); });
  const std::optional<Value> signal = r.get("signal_seconds");
  if (signal) s.signal_seconds = static_cast<int>(as_integer(*signal, 0, 65535));
  r.read("max_queued", [&](const Value& x) { s.max_queued = static_cast<int>(as_integer(x, 0, kMaxInt)); });
  r.finish();
  // A shared GPU is one device seen by several ranks; a rank cannot share several.
  if (ranks_per_gpu && s.ranks_per_gpu > 1 && s.gpus != 1) {
    ranks_per_gpu->fail(
        fmt::format("1 while slurm.gpus is {}: ranks share GPUs only when each rank has one "
                    "(slurm.gpus: 1); with slurm.gpus: 0 there is nothing to share",
                    s.gpus));
  }
  // USR1 must come after the job starts, or it finds the batch shell before anything runs.
  const long long limit = slurm_time_seconds(s.time).value_or(0);
  if (limit != 0 && s.signal_seconds >= limit) {
    if (signal) {
      signal->fail(
          fmt::format("a number of seconds below slurm.time '{}' ({} s): USR1 comes this long before "
                      "the time limit",
                      s.time, limit));
    }
    if (time) {
      time->fail(
          fmt::format("a time limit longer than slurm.signal_seconds ({} s), by which USR1 precedes the "
                      "limit; this one is {} s (0 = no limit)",
                      s.signal_seconds, limit));
    }
  }
  return s;
}

OutputSpec parse_output(MapReader r, const ParseContext& ctx) {
  OutputSpec o;
  r.read("archive", [&](const Value& x) { o.archive = as_path(x, ctx); });
  r.read("compression", [&](const Value& x) { o.compression = as_enum(x, kCompressions); });
  r.read("archive_size_mb",
         [&](const Value& x) { o.archive_size_mb = static_cast<std::uint64_t>(as_integer(x, 1, 1 << 30)); });
  r.read("save_models", [&](const Value& x) { o.save_models = as_bool(x); });
  r.read("hdf5_file_locking", [&](const Value& x) { o.hdf5_file_locking = as_bool(x); });
  r.read("pack_every", [&](const Value& x) { o.pack_every = static_cast<int>(as_integer(x, 0, kMaxInt)); });
  r.finish();
  return o;
}

FinalModelSpec parse_final_model(MapReader r, const std::vector<TargetSpec>& targets) {
  FinalModelSpec f;
  r.read("strategy", [&](const Value& x) { f.strategy = as_enum(x, kStrategies); });
  r.read("target", [&](const Value& x) {
    f.target = as_string(x);
    std::vector<std::string> names;
    for (const auto& t : targets) names.push_back(t.name);
    if (std::find(names.begin(), names.end(), f.target) == names.end()) {
      x.fail(fmt::format("one of the data targets: {}", join(names)));
    }
  });
  r.read("metric", [&](const Value& x) {
    f.metric = as_matching(x, std::regex(R"([A-Za-z0-9_]+)"), "a metric name such as r2, auroc or accuracy");
  });
  r.finish();
  return f;
}

void check_grid_path(const Value& key_value, const std::string& path) {
  const auto dot = path.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == path.size() || path.find('.', dot + 1) != std::string::npos) {
    key_value.fail("a parameter path 'section.key' such as training.lr or model.filters, or 'zip' or 'exclude'");
  }
  if (!kGridSections.contains(path.substr(0, dot))) {
    key_value.fail("a path in section data, model or training");
  }
}

std::vector<ParamValue> grid_values(const Value& list, const ParseContext& ctx) {
  std::vector<ParamValue> out;
  for (const auto& item : sequence_items(list, ctx, "a non-empty list of values")) {
    ParamValue pv{canonical_yaml(item.node), item.where};
    if (std::find(out.begin(), out.end(), pv) != out.end()) {
      item.fail(fmt::format("distinct values ({} repeats in {})", pv.yaml, list.path));
    }
    out.push_back(std::move(pv));
  }
  if (out.empty()) list.fail("a non-empty list of values");
  return out;
}

GridAxis zip_axis(const Value& group, const ParseContext& ctx) {
  if (!group.node.IsMap() || group.node.size() == 0) group.fail("a mapping of parameter paths to equally long lists");
  GridAxis axis;
  std::vector<std::vector<ParamValue>> columns;
  for (const auto& kv : group.node) {
    const std::string path = kv.first.Scalar();
    const Value key{kv.first, location_of(kv.first, ctx), group.path};
    check_grid_path(key, path);
    columns.push_back(grid_values(Value{kv.second, location_of(kv.second, ctx), path}, ctx));
    if (columns.back().size() != columns.front().size()) {
      throw SpecError(fmt::format("{}: {}: zip lists must be equally long ('{}' has {} values, '{}' has {})",
                                  location_of(kv.second, ctx).str(), group.path, path, columns.back().size(),
                                  axis.paths.front(), columns.front().size()));
    }
    axis.paths.push_back(path);
  }
  for (std::size_t i = 0; i < columns.front().size(); ++i) {
    std::vector<ParamValue> step;
    for (const auto& column : columns) step.push_back(column[i]);
    axis.values.push_back(std::move(step));
  }
  return axis;
}

// A sampled parameter: {uniform: [lo, hi]}, {loguniform: [lo, hi]}, {int: [lo, hi]},
// {choice: [values]}, or a plain list (a choice).
Distribution parse_distribution(const Value& v, const ParseContext& ctx) {
  const char* expected =
      "a list of values or one of {uniform: [lo, hi]}, {loguniform: [lo, hi]}, {int: [lo, hi]}, "
      "{choice: [values]}";
  Distribution d;
  if (v.node.IsSequence()) {
    d.choices = grid_values(v, ctx);
    return d;
  }
  if (!v.node.IsMap() || v.node.size() != 1) v.fail(expected);
  const std::string kind = v.node.begin()->first.Scalar();
  const Value args{v.node.begin()->second, location_of(v.node.begin()->second, ctx), v.path + "." + kind};
  if (kind == "choice") {
    d.choices = grid_values(args, ctx);
    return d;
  }
  if (kind == "uniform")
    d.kind = Distribution::Kind::uniform;
  else if (kind == "loguniform")
    d.kind = Distribution::Kind::loguniform;
  else if (kind == "int")
    d.kind = Distribution::Kind::integer;
  else
    v.fail(expected);
  const std::vector<Value> bounds = sequence_items(args, ctx, "two bounds [lo, hi]");
  if (bounds.size() != 2) args.fail("two bounds [lo, hi]");
  if (d.kind == Distribution::Kind::integer) {
    d.low = static_cast<double>(as_integer(bounds[0], -kMaxInt, kMaxInt));
    d.high = static_cast<double>(as_integer(bounds[1], -kMaxInt, kMaxInt));
  } else {
    d.low = as_number(bounds[0], d.kind == Distribution::Kind::loguniform ? 0 : -kInf, kInf,
                      d.kind == Distribution::Kind::loguniform);
    d.high = as_number(bounds[1], -kInf, kInf);
  }
  if (!(d.high > d.low)) bounds[1].fail(fmt::format("an upper bound above the lower bound {}", d.low));
  return d;
}

GridSpec parse_grid(const Value& v, const ParseContext& ctx, const SearchSpec& search) {
  if (!v.node.IsMap()) v.fail("a mapping of parameter paths to lists of values");
  GridSpec grid;
  std::vector<SampledParam> sampled;
  std::set<std::string> seen;
  auto claim = [&](const std::string& path, const SourceLocation& where) {
    if (!seen.insert(path).second) {
      throw SpecError(fmt::format("{}: grid: '{}' is varied twice; give each parameter one list", where.str(), path));
    }
  };
  for (const auto& kv : v.node) {
    const std::string key = kv.first.Scalar();
    const Value item{kv.second, location_of(kv.second, ctx), "grid." + key};
    if (search.samples > 0 && key == "zip") {
      item.fail("no zip groups in a sampled search space (search.samples); each parameter is drawn on its own");
    } else if (search.samples > 0 && key != "exclude") {
      check_grid_path(Value{kv.first, location_of(kv.first, ctx), "grid"}, key);
      claim(key, location_of(kv.first, ctx));
      sampled.push_back({key, parse_distribution(Value{kv.second, location_of(kv.second, ctx), key}, ctx)});
    } else if (key == "zip") {
      for (const auto& group : sequence_items(item, ctx, "a list of zip groups")) {
        GridAxis axis = zip_axis(group, ctx);
        for (const auto& p : axis.paths) claim(p, group.where);
        grid.axes.push_back(std::move(axis));
      }
    } else if (key == "exclude") {
      for (const auto& rule : sequence_items(item, ctx, "a list of parameter combinations")) {
        if (!rule.node.IsMap()) rule.fail("a mapping of parameter paths to single values");
        ParamAssignment exclude;
        for (const auto& e : rule.node) {
          exclude[e.first.Scalar()] = ParamValue{canonical_yaml(e.second), location_of(e.second, ctx)};
        }
        grid.excludes.push_back(std::move(exclude));
      }
    } else {
      check_grid_path(Value{kv.first, location_of(kv.first, ctx), "grid"}, key);
      claim(key, location_of(kv.first, ctx));
      grid.axes.push_back(GridAxis{{key}, {}});
      for (auto& pv : grid_values(Value{kv.second, location_of(kv.second, ctx), key}, ctx)) {
        grid.axes.back().values.push_back({std::move(pv)});
      }
    }
  }
  if (search.samples > 0) {
    if (sampled.empty()) v.fail("parameters to sample (search.samples is set)");
    GridAxis axis = sample_search_space(sampled, search.samples, search.seed);
    if (axis.values.empty()) {
      v.fail(fmt::format("a search space with at least search.samples = {} distinct combinations", search.samples));
    }
    grid.axes = {std::move(axis)};
  }
  // Checked before anything expands the grid, and without overflow: 16 axes of 16 values
  // make 2^64 combinations, which a 64-bit product would count as 0.
  const std::optional<std::uint64_t> combinations = grid_combinations(grid);
  if (!combinations || *combinations > kMaxGridCombinations) {
    std::vector<std::string> sizes;
    for (const auto& axis : grid.axes) sizes.push_back(std::to_string(axis.values.size()));
    throw SpecError(
        fmt::format("{}: grid: {} = {} combinations of values; a grid has at most {} (each combination "
                    "is a config of the plan)",
                    v.where.str(), join(sizes, " x "), combinations ? std::to_string(*combinations) : "more than 2^64",
                    kMaxGridCombinations));
  }
  for (const auto& exclude : grid.excludes) {
    for (const auto& [path, value] : exclude) {
      if (!seen.contains(path)) {
        throw SpecError(fmt::format("{}: grid.exclude: '{}' is not a grid parameter; varied are: {}", value.where.str(),
                                    path, join({seen.begin(), seen.end()})));
      }
    }
  }
  return grid;
}

SearchSpec parse_search(MapReader r) {
  SearchSpec s;
  r.read("strategy", [&](const Value& x) { s.strategy = as_enum(x, kSearchStrategies); });
  r.read("rounds", [&](const Value& x) {
    s.rounds = as_int_list(x, r.context(), 1, kMaxInt);
    for (std::size_t i = 1; i < s.rounds.size(); ++i) {
      if (s.rounds[i] <= s.rounds[i - 1]) x.fail("ascending fold counts such as [5, 10, 20]");
    }
  });
  r.read("alpha", [&](const Value& x) { s.alpha = as_number(x, 0, 0.5, true); });
  r.read("min_folds", [&](const Value& x) { s.min_folds = static_cast<int>(as_integer(x, 2, kMaxInt)); });
  r.read("target", [&](const Value& x) { s.target = as_string(x); });
  r.read("metric", [&](const Value& x) {
    s.metric = as_matching(x, std::regex(R"([A-Za-z0-9_]+)"), "a metric name such as r2, auroc or accuracy");
  });
  r.read("samples", [&](const Value& x) {
    s.samples = static_cast<int>(as_integer(x, 1, static_cast<long long>(kMaxGridCombinations)));
  });
  r.read("seed", [&](const Value& x) {
    s.seed = static_cast<std::uint64_t>(as_integer(x, 0, std::numeric_limits<long long>::max()));
  });
  r.finish();
  return s;
}

// What the search section leaves to the rest of the spec: the race metric's defaults and the
// rounds, which must fall within the race folds (the inner folds with an inner loop).
void resolve_search(ExperimentSpec& spec, const Value& section) {
  SearchSpec& s = spec.search;
  std::vector<std::string> names;
  for (const auto& t : spec.data.targets) names.push_back(t.name);
  if (s.target.empty()) s.target = spec.final_model.target.empty() ? names.front() : spec.final_model.target;
  const auto target = std::find(names.begin(), names.end(), s.target);
  if (target == names.end()) {
    section.fail(fmt::format("search.target one of the data targets: {}", join(names)));
  }
  if (s.metric.empty()) {
    s.metric = spec.final_model.metric.empty()
                   ? default_ranking_metric(spec.data.targets[static_cast<std::size_t>(target - names.begin())].task)
                   : spec.final_model.metric;
  }
  if (s.strategy != SearchStrategy::race) return;
  const int folds = spec.resampling.inner ? spec.resampling.inner->count() : spec.resampling.outer.count();
  const char* which = spec.resampling.inner ? "inner" : "outer";
  if (folds <= s.min_folds) {
    section.fail(
        fmt::format("a race over more than min_folds = {} folds; the race runs on the {} {} folds, so it "
                    "could never eliminate a config (lower search.min_folds or add folds)",
                    s.min_folds, folds, which));
  }
  if (s.rounds.empty()) {
    for (int r = s.min_folds; r < folds; r *= 2) s.rounds.push_back(r);
  }
  if (s.rounds.back() >= folds) {
    section.fail(fmt::format("search.rounds below the {} {} folds the race runs on (the last round runs the rest)",
                             folds, which));
  }
}

const EnumName<RuleAction> kRuleActions[] = {{RuleAction::record, "record"},
                                             {RuleAction::stop, "stop"},
                                             {RuleAction::off, "off"}};

// One rule of the diagnostics section: its action and, where the rule has one, its
// threshold or patience (a rule without them rejects them as unknown keys).
void parse_rule(MapReader& section, DiagnosticRule rule, RuleSetting& s, const ParseContext& ctx) {
  const auto v = section.get(to_string(rule));
  if (!v) return;
  MapReader r(*v, ctx);
  r.read("action", [&](const Value& x) { s.action = as_enum(x, kRuleActions); });
  if (rule == DiagnosticRule::vanishing_gradient || rule == DiagnosticRule::exploding_gradient) {
    r.read("threshold", [&](const Value& x) { s.threshold = as_number(x, 0, kInf, true); });
  } else if (rule == DiagnosticRule::loss_not_decreasing || rule == DiagnosticRule::overfitting) {
    r.read("patience", [&](const Value& x) { s.patience = static_cast<int>(as_integer(x, 1, 1000000)); });
  }
  r.finish();
}

DiagnosticsSpec parse_diagnostics(MapReader r, const ParseContext& ctx) {
  DiagnosticsSpec d;
  r.read("enabled", [&](const Value& x) { d.enabled = as_bool(x); });
  for (DiagnosticRule rule : kDiagnosticRules) parse_rule(r, rule, d.setting(rule), ctx);
  r.finish();
  if (d.vanishing_gradient.threshold >= d.exploding_gradient.threshold) {
    throw SpecError(
        fmt::format("{}: diagnostics: vanishing_gradient.threshold {} is not below exploding_gradient.threshold {}; "
                    "every "
                    "gradient norm would fire one of them",
                    r.value().where.str(), d.vanishing_gradient.threshold, d.exploding_gradient.threshold));
  }
  return d;
}

ExperimentSpec parse_spec(const YAML::Node& root, const ParseContext& ctx) {
  MapReader r(Value{root, location_of(root, ctx), ""}, ctx);
  ExperimentSpec spec;
  spec.source = ctx.file;
  const Value name = r.require("name");
  spec.name = as_matching(name, std::regex(R"([A-Za-z0-9_.-]+)"), "a name of letters, digits and _ . -");
  spec.data = parse_data(MapReader(r.require("data"), ctx), ctx);
  spec.model = parse_model(optional_section(r, "model"), ctx);
  spec.training = parse_training(optional_section(r, "training"));
  std::optional<Value> search = r.get("search");
  if (search) spec.search = parse_search(MapReader(*search, ctx));
  if (auto g = r.get("grid")) {
    spec.grid = parse_grid(*g, ctx, spec.search);
  } else if (spec.search.samples > 0) {
    search->fail("no samples without a grid of parameters to draw them from");
  }
  spec.resampling = parse_resampling(MapReader(r.require("resampling"), ctx), ctx);
  spec.slurm = parse_slurm(optional_section(r, "slurm"), ctx);
  spec.output = parse_output(optional_section(r, "output"), ctx);
  spec.final_model = parse_final_model(optional_section(r, "final_model"), spec.data.targets);
  spec.diagnostics = parse_diagnostics(optional_section(r, "diagnostics"), ctx);
  r.finish();
  if (search) resolve_search(spec, *search);
  if (spec.resampling.group_by_similarity && !spec.data.feature_columns.empty()) {
    throw SpecError(
        fmt::format("{}: resampling.group_by: similarity compares sequences, and data.feature_columns has none; "
                    "group numeric data by a column ({{column: NAME}})",
                    location_of(root["resampling"]["group_by"], ctx).str()));
  }
  if (spec.data.feature_columns.empty() && spec.model.family == ModelFamily::mlp) {
    throw SpecError(fmt::format("{}: model.family: mlp takes numeric inputs; set data.feature_columns", ctx.file));
  }
  return spec;
}

}  // namespace

struct SpecDocument::Impl {
  std::string text;
  YAML::Node root;
  ParseContext ctx;
  ExperimentSpec base;
};

SpecDocument::SpecDocument(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SpecDocument::SpecDocument(SpecDocument&&) noexcept = default;
SpecDocument& SpecDocument::operator=(SpecDocument&&) noexcept = default;
SpecDocument::~SpecDocument() = default;

SpecDocument SpecDocument::load(const fs::path& file, const fs::path& base_dir) {
  std::string text;
  try {
    text = read_text_file(file);
  } catch (const UnreadableFileError& e) {
    throw SpecError(fmt::format("{} (the experiment spec)", e.what()));
  }
  const fs::path dir = base_dir.empty() ? fs::absolute(file).parent_path() : base_dir;
  return parse(text, file.string(), dir);
}

SpecDocument SpecDocument::parse(const std::string& text, const std::string& name, const fs::path& base_dir) {
  auto impl = std::make_unique<Impl>();
  impl->text = text;
  impl->root = load_yaml(text, name);
  impl->ctx = ParseContext{name, base_dir, nullptr, nullptr};
  if (!impl->root.IsMap()) {
    throw SpecError(
        fmt::format("{}: an experiment spec is a YAML mapping with name, data, model, training, "
                    "grid, resampling, slurm, output, final_model and search",
                    name));
  }
  impl->base = parse_spec(impl->root, impl->ctx);
  // The plan's size, before the data is read. The grid and the fold counts are within their
  // limits by now; excluded combinations are counted out only when the upper bound is too
  // large, since counting them walks every combination.
  const ResamplingSpec& resampling = impl->base.resampling;
  const auto outer = static_cast<std::uint64_t>(resampling.outer.count());
  const auto inner = resampling.inner ? static_cast<std::uint64_t>(resampling.inner->count()) : 0;
  std::uint64_t configs = grid_combinations(impl->base.grid).value();
  if (plan_task_count(configs, outer, inner) > kMaxPlanTasks) configs = grid_config_count(impl->base.grid);
  const YAML::Node& root = impl->root;
  check_plan_limits(configs, outer, inner,
                    location_of(root["resampling"]["outer"], impl->ctx).str() + ": resampling.outer");
  SpecDocument doc(std::move(impl));
  // Every grid value must resolve on its own, so a bad value fails at plan time with its
  // location instead of in a worker hours later.
  for (const auto& axis : doc.base().grid.axes) {
    for (const auto& step : axis.values) {
      ParamAssignment one;
      for (std::size_t j = 0; j < axis.paths.size(); ++j) one[axis.paths[j]] = step[j];
      doc.resolve(one);
    }
  }
  return doc;
}

const ExperimentSpec& SpecDocument::base() const {
  return impl_->base;
}
const std::string& SpecDocument::text() const {
  return impl_->text;
}

ExperimentSpec SpecDocument::resolve(const ParamAssignment& overrides) const {
  if (overrides.empty()) return impl_->base;
  std::set<std::string> used;
  std::map<std::string, std::vector<std::string>> keys_by_section;
  ParseContext ctx = impl_->ctx;
  ctx.overrides = &overrides;
  ctx.used_overrides = &used;
  ctx.keys_by_section = &keys_by_section;
  ExperimentSpec spec = parse_spec(impl_->root, ctx);
  for (const auto& [path, value] : overrides) {
    if (used.contains(path)) continue;
    const auto dot = path.find('.');
    const std::string section = path.substr(0, dot);
    const std::string key = path.substr(dot + 1);
    const std::vector<std::string>& known = keys_by_section[section];
    std::string hint;
    if (auto near = closest_match(key, known)) hint = fmt::format(" (did you mean '{}.{}'?)", section, *near);
    throw SpecError(fmt::format("{}: grid: '{}' is not a parameter{}; {} has: {}", value.where.str(), path, hint,
                                section, join(known)));
  }
  spec.grid = impl_->base.grid;
  return spec;
}

bool is_slurm_time(const std::string& text) {
  return std::regex_match(text, kSlurmTime);
}

std::string to_string(Alphabet v) {
  return enum_name(kAlphabets, v);
}
std::string to_string(DataFormat v) {
  return enum_name(kFormats, v);
}
std::string to_string(TaskType v) {
  return enum_name(kTaskTypes, v);
}
std::vector<int> block_dilations(const ModelSpec& model) {
  if (!model.dilations.empty()) return model.dilations;
  std::vector<int> out;
  int dilation = std::max(model.dilation, 1);
  for (std::size_t i = 0; i < model.filters.size(); ++i) {
    out.push_back(dilation);
    if (model.dilation_growth) dilation *= 2;
  }
  return out;
}

std::int64_t receptive_field(const ModelSpec& model) {
  if (model.family != ModelFamily::cnn1d && model.family != ModelFamily::branched_cnn &&
      model.family != ModelFamily::resnet1d) {
    return 0;
  }
  const int convolutions_per_block = model.family == ModelFamily::resnet1d ? 2 : 1;
  const std::int64_t pool = model.block_pooling == Pooling::none ? 1 : model.pool_size;
  std::int64_t field = 1, stride = 1;
  for (int dilation : block_dilations(model)) {
    field += convolutions_per_block * static_cast<std::int64_t>(dilation) * (model.kernel_size - 1) * stride;
    field += (pool - 1) * stride;
    stride *= pool;
  }
  return field;
}

std::string to_string(ModelFamily v) {
  return enum_name(kFamilies, v);
}
std::string to_string(Pooling v) {
  return enum_name(kPoolings, v);
}
std::string to_string(Optimizer v) {
  return enum_name(kOptimizers, v);
}
std::string to_string(DeviceSetting v) {
  return enum_name(kDevices, v);
}
std::string to_string(Compression v) {
  return enum_name(kCompressions, v);
}
std::string to_string(SearchStrategy v) {
  return enum_name(kSearchStrategies, v);
}
std::string to_string(FinalModelStrategy v) {
  return enum_name(kStrategies, v);
}

}  // namespace gridfold
