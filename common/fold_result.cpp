#include "common/fold_result.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <system_error>

#include "common/atomic_file.hpp"
#include "common/hdf5.hpp"

namespace gridfold {
namespace {

// HDF5 would read a '/' in a group name as a path separator.
void check_target_name(const std::string& name) {
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..") {
    throw BadInputError(
        fmt::format("target name '{}' cannot name an HDF5 group; rename the column (no '/', not empty)", name));
  }
}

void write_position_labels(const h5::Node& parent, const PositionLabels& labels) {
  check_target_name(labels.target);
  const std::size_t cells = labels.rows() * labels.width;
  if (labels.truth.size() != cells || labels.prediction.size() != cells) {
    throw InternalError(
        fmt::format("per-position labels of '{}' hold {} true and {} predicted classes, expected {} "
                    "rows x {} positions",
                    labels.target, labels.truth.size(), labels.prediction.size(), labels.rows(), labels.width));
  }
  const h5::Node group = parent.create_group(labels.target);
  group.set_attr("tolerance", labels.tolerance);
  group.write("classes", labels.classes);
  group.write("length", labels.lengths);
  group.write_matrix("truth", labels.truth, labels.rows(), labels.width);
  group.write_matrix("prediction", labels.prediction, labels.rows(), labels.width);
  if (!labels.thresholds.empty()) group.write("thresholds", labels.thresholds);
}

PositionLabels read_position_labels(const h5::Node& parent, const std::string& target) {
  const h5::Node group = parent.group(target);
  PositionLabels labels;
  labels.target = target;
  labels.tolerance = group.attr_int("tolerance");
  labels.classes = group.read_strings("classes");
  labels.lengths = group.read_uint32("length");
  const auto shape = group.shape("truth");
  labels.width = shape.size() == 2 ? shape[1] : 0;
  labels.truth = group.read_uint8("truth");
  labels.prediction = group.read_uint8("prediction");
  if (group.exists("thresholds")) labels.thresholds = group.read_doubles("thresholds");
  if (labels.truth.size() != labels.rows() * labels.width || labels.prediction.size() != labels.truth.size()) {
    throw h5::Error(fmt::format("{}: positions/{} has {} lengths but truth and prediction of {} and {} values",
                                parent.path(), target, labels.rows(), labels.truth.size(), labels.prediction.size()));
  }
  return labels;
}

// Optional group: results without it (older ones, or with diagnostics disabled) read as empty.
void write_diagnostics(const h5::Node& parent, const TrainingDiagnostics& d) {
  const DiagnosticSeries& s = d.series;
  const std::size_t cells = s.size() * s.groups.size();
  for (const auto* values : {&s.group_gradient_norm, &s.group_weight_norm, &s.group_update_ratio}) {
    if (values->size() != cells) {
      throw InternalError(
          fmt::format("diagnostics hold a group series of {} values, expected {} validations x {} groups",
                      values->size(), s.size(), s.groups.size()));
    }
  }
  const h5::Node group = parent.create_group("diagnostics");
  const std::optional<DiagnosticRule> stopped_by = d.stopped_by();
  group.set_attr("stopped_by", stopped_by ? to_string(*stopped_by) : std::string());
  group.write("groups", s.groups);
  const h5::Node series = group.create_group("series");
  series.write("step", s.step);
  series.write("gradient_norm", s.gradient_norm);
  series.write("weight_norm", s.weight_norm);
  series.write("update_ratio", s.update_ratio);
  series.write("learning_rate", s.learning_rate);
  series.write("dead_relu", s.dead_relu);
  series.write_matrix("group_gradient_norm", s.group_gradient_norm, s.size(), s.groups.size());
  series.write_matrix("group_weight_norm", s.group_weight_norm, s.size(), s.groups.size());
  series.write_matrix("group_update_ratio", s.group_update_ratio, s.size(), s.groups.size());
  const h5::Node firings = group.create_group("firings");
  std::vector<std::string> rules, actions;
  std::vector<std::int64_t> validation, epoch, step;
  std::vector<double> value;
  for (const RuleFiring& f : d.firings) {
    rules.push_back(to_string(f.rule));
    actions.push_back(to_string(f.action));
    validation.push_back(f.validation);
    epoch.push_back(f.epoch);
    step.push_back(f.step);
    value.push_back(f.value);
  }
  firings.write("rule", rules);
  firings.write("validation", validation);
  firings.write("epoch", epoch);
  firings.write("step", step);
  firings.write("value", value);
  firings.write("action", actions);
}

TrainingDiagnostics read_diagnostics(const h5::Node& group) {
  TrainingDiagnostics d;
  DiagnosticSeries& s = d.series;
  s.groups = group.read_strings("groups");
  const h5::Node series = group.group("series");
  s.step = series.read_int64("step");
  s.gradient_norm = series.read_doubles("gradient_norm");
  s.weight_norm = series.read_doubles("weight_norm");
  s.update_ratio = series.read_doubles("update_ratio");
  s.learning_rate = series.read_doubles("learning_rate");
  s.dead_relu = series.read_doubles("dead_relu");
  s.group_gradient_norm = series.read_floats("group_gradient_norm");
  s.group_weight_norm = series.read_floats("group_weight_norm");
  s.group_update_ratio = series.read_floats("group_update_ratio");
  const h5::Node firings = group.group("firings");
  const std::vector<std::string> rules = firings.read_strings("rule");
  const std::vector<std::string> actions = firings.read_strings("action");
  const std::vector<std::int64_t> validation = firings.read_int64("validation");
  const std::vector<std::int64_t> epoch = firings.read_int64("epoch");
  const std::vector<std::int64_t> step = firings.read_int64("step");
  const std::vector<double> value = firings.read_doubles("value");
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const std::optional<DiagnosticRule> rule = diagnostic_rule_named(rules[i]);
    const std::optional<RuleAction> action = i < actions.size() ? rule_action_named(actions[i]) : std::nullopt;
    if (!rule || !action || i >= validation.size() || i >= epoch.size() || i >= step.size() || i >= value.size()) {
      throw h5::Error(
          fmt::format("{}: firing {} names rule '{}' with action '{}', or lacks its validation, epoch, "
                      "step or value; a newer gridfold may have written it",
                      group.path(), i, rules[i], i < actions.size() ? actions[i] : ""));
    }
    d.firings.push_back({*rule, validation[i], epoch[i], step[i], value[i], *action});
  }
  return d;
}

void write_contents(const h5::File& file, const FoldResult& r) {
  const std::size_t targets = r.target_names.size();
  const std::size_t rows = r.sample_index.size();
  if (r.truth.size() != rows * targets || r.prediction.size() != rows * targets) {
    throw InternalError(
        fmt::format("fold result {} outer {} inner {}: predictions hold {} truth and {} predicted values, "
                    "expected {} samples x {} targets",
                    r.config_id, r.outer_fold, r.inner_fold, r.truth.size(), r.prediction.size(), rows, targets));
  }

  file.set_attr("schema_version", kFoldResultSchemaVersion);
  file.set_attr("experiment", r.experiment);
  file.set_attr("config_id", r.config_id);
  file.set_attr("config_index", static_cast<std::int64_t>(r.config_index));
  file.set_attr("outer_fold", static_cast<std::int64_t>(r.outer_fold));
  file.set_attr("inner_fold", static_cast<std::int64_t>(r.inner_fold));
  file.set_attr("task", static_cast<std::int64_t>(r.task));

  file.create_group("config").write_pairs("paths", "values", r.params);

  const h5::Node metrics = file.create_group("metrics");
  for (const auto& [target, values_of_target] : r.metrics) {
    check_target_name(target);
    const h5::Node group = metrics.create_group(target);
    for (const auto& [metric, value] : values_of_target) group.set_attr(metric, value);
  }

  const h5::Node predictions = file.create_group("predictions");
  for (const auto& name : r.target_names) check_target_name(name);
  predictions.write("target_names", r.target_names);
  predictions.write("sample_index", r.sample_index);
  predictions.write_matrix("truth", r.truth, rows, targets);
  predictions.write_matrix("prediction", r.prediction, rows, targets);
  if (!r.train_similarity.empty()) {
    if (r.train_similarity.size() != rows) {
      throw InternalError(fmt::format("fold result {} outer {} inner {}: {} similarity values for {} samples",
                                      r.config_id, r.outer_fold, r.inner_fold, r.train_similarity.size(), rows));
    }
    predictions.write("train_similarity", r.train_similarity);
  }

  const h5::Node positions = file.create_group("positions");
  for (const PositionLabels& labels : r.positions) write_position_labels(positions, labels);

  const h5::Node history = file.create_group("history");
  history.write("step", r.history_step);
  history.write("epoch", r.history_epoch);
  history.write("train_loss", r.train_loss);
  history.write("validation_loss", r.validation_loss);
  history.set_attr("best_index", static_cast<std::int64_t>(r.best_index));

  const h5::Node timings = file.create_group("timings");
  timings.set_attr("train_seconds", r.train_seconds);
  timings.set_attr("eval_seconds", r.eval_seconds);
  timings.set_attr("total_seconds", r.total_seconds);
  timings.set_attr("samples_trained", static_cast<std::int64_t>(r.samples_trained));

  const Provenance& p = r.provenance;
  const h5::Node provenance = file.create_group("provenance");
  provenance.set_attr("host", p.host);
  provenance.set_attr("gridfold_version", p.gridfold_version);
  provenance.set_attr("torch_version", p.torch_version);
  provenance.set_attr("device", p.device);
  provenance.set_attr("slurm_job_id", p.slurm_job_id);
  provenance.set_attr("slurm_array_job_id", p.slurm_array_job_id);
  provenance.set_attr("slurm_array_task_id", p.slurm_array_task_id);
  provenance.set_attr("slurm_node", p.slurm_node);
  provenance.set_attr("mpi_rank", static_cast<std::int64_t>(p.mpi_rank));
  provenance.set_attr("mpi_size", static_cast<std::int64_t>(p.mpi_size));
  provenance.set_attr("started_at", p.started_at);
  provenance.set_attr("finished_at", p.finished_at);

  const ResultFingerprint& fp = r.fingerprint;
  const h5::Node fingerprint = file.create_group("fingerprint");
  fingerprint.set_attr("config", fp.config);
  fingerprint.set_attr("data_checksum", fp.data_checksum);
  fingerprint.set_attr("resampling", fp.resampling);
  fingerprint.set_attr("test_rows", fp.test_rows);
  fingerprint.set_attr("gridfold_version", fp.gridfold_version);
  fingerprint.set_attr("digest", fp.digest());

  if (!r.diagnostics.empty()) write_diagnostics(file, r.diagnostics);
  if (r.weights) write_model_weights(file.create_group("model"), *r.weights);

  // Last: a reader that sees the marker knows every object above was written.
  file.set_attr("complete", std::int64_t{1});
}

FoldResult read_contents(const h5::File& file) {
  if (!file.has_attr("complete") || file.attr_int("complete") != 1) {
    throw h5::Error(fmt::format("{} is an incomplete fold result (no completion marker); rerun its task", file.path()));
  }
  const std::int64_t version = file.attr_int("schema_version");
  if (version < kOldestFoldResultSchemaVersion || version > kFoldResultSchemaVersion) {
    throw h5::Error(fmt::format("{} has result schema version {}, this gridfold reads versions {} to {}", file.path(),
                                version, kOldestFoldResultSchemaVersion, kFoldResultSchemaVersion));
  }

  FoldResult r;
  r.experiment = file.attr_string("experiment");
  r.config_id = file.attr_string("config_id");
  r.config_index = static_cast<std::uint32_t>(file.attr_int("config_index"));
  r.outer_fold = static_cast<int>(file.attr_int("outer_fold"));
  r.inner_fold = static_cast<int>(file.attr_int("inner_fold"));
  r.task = static_cast<std::uint64_t>(file.attr_int("task"));

  r.params = file.group("config").read_pairs("paths", "values");

  const h5::Node metrics = file.group("metrics");
  for (const auto& target : metrics.children()) {
    const h5::Node group = metrics.group(target);
    MetricValues& out = r.metrics[target];
    for (const auto& metric : group.attribute_names()) out[metric] = group.attr_double(metric);
  }

  const h5::Node predictions = file.group("predictions");
  r.target_names = predictions.read_strings("target_names");
  r.sample_index = predictions.read_uint32("sample_index");
  r.truth = predictions.read_floats("truth");
  r.prediction = predictions.read_floats("prediction");
  if (predictions.exists("train_similarity")) r.train_similarity = predictions.read_floats("train_similarity");

  if (version >= 3) {
    const h5::Node positions = file.group("positions");
    for (const auto& target : positions.children()) r.positions.push_back(read_position_labels(positions, target));
  }

  const h5::Node history = file.group("history");
  r.history_step = history.read_int64("step");
  r.history_epoch = history.read_doubles("epoch");
  r.train_loss = history.read_doubles("train_loss");
  r.validation_loss = history.read_doubles("validation_loss");
  r.best_index = static_cast<int>(history.attr_int("best_index"));

  const h5::Node timings = file.group("timings");
  r.train_seconds = timings.attr_double("train_seconds");
  r.eval_seconds = timings.attr_double("eval_seconds");
  r.total_seconds = timings.attr_double("total_seconds");
  r.samples_trained = static_cast<std::uint64_t>(timings.attr_int("samples_trained"));

  const h5::Node provenance = file.group("provenance");
  Provenance& p = r.provenance;
  p.host = provenance.attr_string("host");
  p.gridfold_version = provenance.attr_string("gridfold_version");
  p.torch_version = provenance.attr_string("torch_version");
  if (provenance.has_attr("device")) p.device = provenance.attr_string("device");
  p.slurm_job_id = provenance.attr_string("slurm_job_id");
  p.slurm_array_job_id = provenance.attr_string("slurm_array_job_id");
  p.slurm_array_task_id = provenance.attr_string("slurm_array_task_id");
  p.slurm_node = provenance.attr_string("slurm_node");
  p.mpi_rank = static_cast<int>(provenance.attr_int("mpi_rank"));
  p.mpi_size = static_cast<int>(provenance.attr_int("mpi_size"));
  p.started_at = provenance.attr_string("started_at");
  p.finished_at = provenance.attr_string("finished_at");
  if (version >= 4) {
    const h5::Node fingerprint = file.group("fingerprint");
    ResultFingerprint& fp = r.fingerprint;
    fp.config = fingerprint.attr_string("config");
    fp.data_checksum = fingerprint.attr_string("data_checksum");
    fp.resampling = fingerprint.attr_string("resampling");
    fp.test_rows = fingerprint.attr_string("test_rows");
    fp.gridfold_version = fingerprint.attr_string("gridfold_version");
  }
  if (file.exists("diagnostics")) r.diagnostics = read_diagnostics(file.group("diagnostics"));
  if (file.exists("model")) r.weights = read_model_weights(file.group("model"));
  return r;
}

}  // namespace

FoldResult result_of_task(const ExperimentPlan& plan, std::size_t task_index) {
  const Task& task = plan.tasks[task_index];
  const Config& config = plan.configs[task.config];
  FoldResult r;
  r.experiment = plan.name;
  r.config_id = config.id;
  r.config_index = task.config;
  r.outer_fold = task.outer_fold;
  r.inner_fold = task.inner_fold;
  r.task = task_index;
  for (const auto& [path, value] : config.params) r.params.emplace_back(path, value.yaml);
  const auto test = test_rows(plan, task);
  r.sample_index.assign(test.begin(), test.end());
  const auto similarity = plan.folds.test_similarity(task.outer_fold, task.inner_fold);
  r.train_similarity.assign(similarity.begin(), similarity.end());
  r.fingerprint = expected_fingerprint(plan, task_index);
  return r;
}

void write_fold_result(const std::filesystem::path& final_path, const FoldResult& result) {
  write_atomically(final_path, [&](const std::filesystem::path& tmp) {
    h5::File file = h5::File::create(tmp);
    write_contents(file, result);
    file.close();
  });
}

FoldResult read_fold_result(const std::filesystem::path& file) {
  return read_contents(h5::File::open_read(file));
}

FoldResult read_fold_result_image(const void* data, std::size_t size, const std::string& name) {
  return read_contents(h5::File::open_image(data, size, name));
}

bool is_complete_fold_result(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) return false;
  try {
    const h5::File opened = h5::File::open_read(file);
    return opened.has_attr("complete") && opened.attr_int("complete") == 1;
  } catch (const h5::Error&) {
    // A truncated or foreign file is simply not a finished result; its task reruns.
    return false;
  }
}

}  // namespace gridfold
