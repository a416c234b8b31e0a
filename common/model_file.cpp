#include "common/model_file.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>

#include "common/atomic_file.hpp"
#include "common/hdf5.hpp"

namespace gridfold {
namespace {

TaskType task_named(const std::string& name, const std::string& where) {
  for (TaskType t : {TaskType::regression, TaskType::binary, TaskType::multiclass, TaskType::per_position}) {
    if (to_string(t) == name) return t;
  }
  throw h5::Error(fmt::format("{}: unknown target task '{}'", where, name));
}

Alphabet alphabet_named(const std::string& name, const std::string& where) {
  for (Alphabet a : {Alphabet::dna, Alphabet::rna, Alphabet::protein, Alphabet::none}) {
    if (to_string(a) == name) return a;
  }
  throw h5::Error(fmt::format("{}: unknown alphabet '{}'", where, name));
}

FinalModelStrategy strategy_named(const std::string& name, const std::string& where) {
  for (FinalModelStrategy s : {FinalModelStrategy::refit, FinalModelStrategy::ensemble}) {
    if (to_string(s) == name) return s;
  }
  throw h5::Error(fmt::format("{}: unknown strategy '{}'", where, name));
}

void write_contents(const h5::File& file, const ModelFile& m) {
  file.set_attr("schema_version", kModelFileSchemaVersion);
  file.set_attr("experiment", m.experiment);
  file.set_attr("config_id", m.config_id);
  file.set_attr("strategy", to_string(m.strategy));

  const h5::Node spec = file.create_group("spec");
  spec.set_attr("text", m.spec_text);
  spec.set_attr("directory", m.spec_dir.string());
  spec.write_pairs("param_paths", "param_values", m.params);

  const h5::Node encoding = file.create_group("encoding");
  encoding.set_attr("alphabet", to_string(m.alphabet));
  encoding.set_attr("sequence_column", m.sequence_column);
  encoding.set_attr("id_column", m.id_column);
  encoding.set_attr("sequence_length", m.sequence_length);
  encoding.write("feature_columns", m.feature_columns);

  const h5::Node targets = file.create_group("targets");
  std::vector<std::string> names, tasks;
  for (const auto& t : m.targets) {
    names.push_back(t.name);
    tasks.push_back(to_string(t.task));
  }
  targets.write("names", names);
  targets.write("tasks", tasks);
  const h5::Node classes = targets.create_group("classes");
  for (const auto& t : m.targets) {
    // per_position targets name their classes only when the spec does (more than 0/1)
    if (t.task == TaskType::multiclass || !t.classes.empty()) classes.write(t.name, t.classes);
  }

  const h5::Node members = file.create_group("members");
  for (std::size_t i = 0; i < m.members.size(); ++i) {
    write_model_weights(members.create_group(fmt::format("{:03}", i)), m.members[i]);
  }
  // Last: a reader that sees the marker knows every object above was written.
  file.set_attr("complete", std::int64_t{1});
}

ModelFile read_contents(const h5::File& file) {
  const std::string where = file.path();
  if (!file.has_attr("complete") || file.attr_int("complete") != 1 || !file.has_attr("schema_version")) {
    throw h5::Error(fmt::format("{} is not a complete gridfold model file; make it with gridfold finalize", where));
  }
  const std::int64_t version = file.attr_int("schema_version");
  if (version != kModelFileSchemaVersion) {
    throw h5::Error(fmt::format("{} has model file schema version {}, this gridfold reads version {}", where, version,
                                kModelFileSchemaVersion));
  }
  ModelFile m;
  m.experiment = file.attr_string("experiment");
  m.config_id = file.attr_string("config_id");
  m.strategy = strategy_named(file.attr_string("strategy"), where);

  const h5::Node spec = file.group("spec");
  m.spec_text = spec.attr_string("text");
  m.spec_dir = spec.attr_string("directory");
  m.params = spec.read_pairs("param_paths", "param_values");

  const h5::Node encoding = file.group("encoding");
  m.alphabet = alphabet_named(encoding.attr_string("alphabet"), where);
  m.sequence_column = encoding.attr_string("sequence_column");
  m.id_column = encoding.attr_string("id_column");
  m.sequence_length = encoding.attr_int("sequence_length");
  m.feature_columns = encoding.read_strings("feature_columns");

  const h5::Node targets = file.group("targets");
  const auto names = targets.read_strings("names");
  const auto tasks = targets.read_strings("tasks");
  if (names.size() != tasks.size()) {
    throw h5::Error(fmt::format("{}: targets/names and targets/tasks differ in length", where));
  }
  const h5::Node classes = targets.group("classes");
  for (std::size_t i = 0; i < names.size(); ++i) {
    ModelTarget t{names[i], task_named(tasks[i], where), {}};
    if (t.task == TaskType::multiclass || (t.task == TaskType::per_position && classes.exists(t.name))) {
      t.classes = classes.read_strings(t.name);
    }
    m.targets.push_back(std::move(t));
  }

  const h5::Node members = file.group("members");
  for (const auto& name : members.children()) m.members.push_back(read_model_weights(members.group(name)));
  if (m.members.empty()) throw h5::Error(fmt::format("{} holds no trained network (members/ is empty)", where));
  return m;
}

}  // namespace

void write_model_weights(const h5::Node& group, const ModelWeights& w) {
  std::vector<std::string> names;
  std::vector<std::int32_t> ranks;
  std::vector<std::int64_t> dims;
  std::vector<float> values;
  for (const auto& t : w.tensors) {
    const auto count = std::accumulate(t.shape.begin(), t.shape.end(), std::int64_t{1}, std::multiplies<>());
    if (count != static_cast<std::int64_t>(t.values.size())) {
      throw InternalError(fmt::format("{}: tensor {} has shape [{}] but {} values", group.path(), t.name,
                                      fmt::join(t.shape, ", "), t.values.size()));
    }
    names.push_back(t.name);
    ranks.push_back(static_cast<std::int32_t>(t.shape.size()));
    dims.insert(dims.end(), t.shape.begin(), t.shape.end());
    values.insert(values.end(), t.values.begin(), t.values.end());
  }
  group.write("names", names);
  group.write("ranks", ranks);
  group.write("dims", dims);
  group.write("values", values);
  group.write("target_mean", w.target_mean);
  group.write("target_scale", w.target_scale);
  // A [targets][most classes] matrix, NaN where a target has no threshold, for h5py readers.
  std::size_t classes = 0;
  for (const auto& t : w.thresholds) classes = std::max(classes, t.size());
  if (classes == 0) return;
  std::vector<float> matrix(w.thresholds.size() * classes, std::numeric_limits<float>::quiet_NaN());
  for (std::size_t t = 0; t < w.thresholds.size(); ++t) {
    std::copy(w.thresholds[t].begin(), w.thresholds[t].end(),
              matrix.begin() + static_cast<std::ptrdiff_t>(t * classes));
  }
  group.write_matrix("thresholds", matrix, w.thresholds.size(), classes);
}

ModelWeights read_model_weights(const h5::Node& group) {
  const auto names = group.read_strings("names");
  const auto ranks = group.read_int32("ranks");
  const auto dims = group.read_int64("dims");
  const auto values = group.read_floats("values");
  ModelWeights w;
  w.target_mean = group.read_doubles("target_mean");
  w.target_scale = group.read_doubles("target_scale");
  if (ranks.size() != names.size() || w.target_mean.size() != w.target_scale.size()) {
    throw h5::Error(
        fmt::format("{}: names and ranks, or target_mean and target_scale, differ in length", group.path()));
  }
  std::size_t dim = 0, value = 0;
  for (std::size_t i = 0; i < names.size(); ++i) {
    NamedTensor t{names[i], {}, {}};
    if (ranks[i] < 0 || dim + static_cast<std::size_t>(ranks[i]) > dims.size()) {
      throw h5::Error(fmt::format("{}: dims is too short for tensor {}", group.path(), names[i]));
    }
    t.shape.assign(dims.begin() + static_cast<std::ptrdiff_t>(dim),
                   dims.begin() + static_cast<std::ptrdiff_t>(dim + static_cast<std::size_t>(ranks[i])));
    dim += static_cast<std::size_t>(ranks[i]);
    const auto count =
        static_cast<std::size_t>(std::accumulate(t.shape.begin(), t.shape.end(), std::int64_t{1}, std::multiplies<>()));
    if (value + count > values.size()) {
      throw h5::Error(fmt::format("{}: values is too short for tensor {}", group.path(), names[i]));
    }
    t.values.assign(values.begin() + static_cast<std::ptrdiff_t>(value),
                    values.begin() + static_cast<std::ptrdiff_t>(value + count));
    value += count;
    w.tensors.push_back(std::move(t));
  }
  if (group.exists("thresholds")) {
    const auto shape = group.shape("thresholds");
    const auto matrix = group.read_floats("thresholds");
    const std::size_t classes = shape.size() == 2 ? shape[1] : 0;
    for (std::size_t t = 0; classes > 0 && t < shape[0]; ++t) {
      std::vector<double> row(matrix.begin() + static_cast<std::ptrdiff_t>(t * classes),
                              matrix.begin() + static_cast<std::ptrdiff_t>((t + 1) * classes));
      // Padding past a target's classes is NaN, and so is a target without thresholds.
      while (!row.empty() && std::isnan(row.back())) row.pop_back();
      w.thresholds.push_back(std::move(row));
    }
  }
  return w;
}

void write_model_file(const std::filesystem::path& final_path, const ModelFile& model) {
  write_atomically(final_path, [&](const std::filesystem::path& tmp) {
    h5::File file = h5::File::create(tmp);
    write_contents(file, model);
    file.close();
  });
}

ModelFile read_model_file(const std::filesystem::path& file) {
  return read_contents(h5::File::open_read(file));
}

}  // namespace gridfold
