#include "worker/model_commands.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <filesystem>
#include <string>

#include "common/atomic_file.hpp"
#include "common/dataset.hpp"
#include "common/errors.hpp"
#include "common/experiment_layout.hpp"
#include "common/feeder_cascade.hpp"
#include "common/hdf5_settings.hpp"
#include "common/model_file.hpp"
#include "common/exit_codes.hpp"
#include "common/plan.hpp"
#include "common/prediction_table.hpp"
#include "worker/predictor.hpp"
#include "worker/refit.hpp"
#include "worker/torch_runtime.hpp"
#include "worker/trainer.hpp"

namespace gridfold::worker {
namespace {

void print_line(std::FILE* stream, const std::string& line) {
  fmt::print(stream, "{}\n", line);
  std::fflush(stream);
}

struct RefitArguments {
  std::filesystem::path experiment, out;
  std::string config;
  int threads = 0;
};

struct ExportArguments {
  std::filesystem::path model, out;
  std::size_t member = 0;
};

struct PredictArguments {
  std::filesystem::path model, input, out;
  std::filesystem::path filter_model;  // empty: no cascade
  double filter_threshold = 0.5;
  int batch_size = 256;
  int threads = 0;
  bool json = false;
};

bool has_per_position(const ModelFile& model) {
  return std::any_of(model.targets.begin(), model.targets.end(),
                     [](const ModelTarget& t) { return t.task == TaskType::per_position; });
}

// Samples per chunk of the filter's per-sequence predictions: predict_samples encodes its
// whole input at once.
constexpr std::size_t kFilterChunk = 4096;

std::vector<float> filter_probabilities(const ModelFile& filter, const Dataset& samples, int batch_size) {
  std::vector<float> out;
  out.reserve(samples.size());
  for (std::size_t first = 0; first < samples.size(); first += kFilterChunk) {
    std::vector<std::size_t> rows;
    for (std::size_t r = first; r < std::min(samples.size(), first + kFilterChunk); ++r) rows.push_back(r);
    const std::vector<float> p = predict_samples(filter, select_samples(samples, rows), batch_size);
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}

// A column of 0/1 (or empty) per row, as the window truth; NaN where empty.
std::vector<float> window_truth_values(const std::vector<std::string>& cells, const std::filesystem::path& input,
                                       const std::string& column) {
  std::vector<float> out;
  for (std::size_t r = 0; r < cells.size(); ++r) {
    const std::string& cell = cells[r];
    if (cell.empty() || cell == "NA" || cell == "nan") {
      out.push_back(std::numeric_limits<float>::quiet_NaN());
    } else if (cell == "0" || cell == "1") {
      out.push_back(cell == "1" ? 1.0f : 0.0f);
    } else {
      throw DataError(fmt::format("{}: row {} of column '{}' is '{}'; the filter's truth is 0 or 1", input.string(),
                                  r + 1, column, cell));
    }
  }
  return out;
}

// The per_position model's classes on the rows that `passed`, background on the others, with
// the summary of the trade-off; the boundary model runs on every row only when the input
// holds its labels (to score it without the filter too).
int predict_cascade(const PredictArguments& a, const ModelFile& model, const Dataset& samples) {
  const ModelFile filter = read_model_file(a.filter_model);
  check_cascade(filter, a.filter_model.string(), model, a.model.string());
  const std::size_t target_index =
      static_cast<std::size_t>(std::find_if(model.targets.begin(), model.targets.end(),
                                            [](const ModelTarget& t) { return t.task == TaskType::per_position; }) -
                               model.targets.begin());
  const ModelTarget& target = model.targets[target_index];

  FilterColumns columns;
  columns.target = filter.targets.front().name;
  columns.probability = filter_probabilities(filter, samples, a.batch_size);
  std::vector<std::size_t> passed_rows;
  for (std::size_t r = 0; r < samples.size(); ++r) {
    columns.passed.push_back(columns.probability[r] >= a.filter_threshold);
    if (columns.passed.back()) passed_rows.push_back(r);
  }

  const std::optional<std::vector<std::string>> labels = read_input_column(a.input, target.name);
  if (labels && labels->size() != samples.size()) {
    throw DataError(fmt::format("{}: column '{}' has {} rows for {} samples", a.input.string(), target.name,
                                labels->size(), samples.size()));
  }
  std::vector<std::vector<std::string>> classes;  // [per_position target][sample]
  std::vector<std::vector<std::string>> alone;    // every row through the boundary model
  if (labels) {
    alone = predict_position_classes(model, samples, a.batch_size);
    classes = alone;
    for (auto& column : classes) {
      for (std::size_t r = 0; r < samples.size(); ++r) {
        if (!columns.passed[r]) column[r].assign(column[r].size(), '0');
      }
    }
  } else {
    const auto passed = predict_position_classes(model, select_samples(samples, passed_rows), a.batch_size);
    for (const auto& column : passed) {
      std::vector<std::string> full(samples.size());
      for (std::size_t r = 0; r < samples.size(); ++r) full[r].assign(samples.sequences[r].size(), '0');
      for (std::size_t k = 0; k < passed_rows.size(); ++k) full[passed_rows[k]] = column[k];
      classes.push_back(std::move(full));
    }
  }
  write_text_atomically(a.out, prediction_csv(model, samples.ids, {}, classes, &columns));

  CascadeSummary summary;
  summary.filter_target = columns.target;
  summary.target = target.name;
  std::vector<float> truth(samples.size(), std::numeric_limits<float>::quiet_NaN());
  if (const auto cells = read_input_column(a.input, columns.target)) {
    truth = window_truth_values(*cells, a.input, columns.target);
    summary.window_truth = columns.target;
  } else if (labels) {
    truth = boundary_windows(*labels);
    summary.window_truth = target.name;
  }
  if (truth.size() != samples.size()) {
    throw DataError(fmt::format("{}: column '{}' has {} rows for {} samples", a.input.string(), summary.window_truth,
                                truth.size(), samples.size()));
  }
  summary.chosen = feeder_point(columns.probability, truth, a.filter_threshold);
  if (!summary.window_truth.empty()) {
    for (const double t : feeder_sweep_thresholds())
      summary.sweep.push_back(feeder_point(columns.probability, truth, t));
  }
  if (labels) {
    const ExperimentSpec spec = model_spec(model);
    // alone holds the per_position targets in target order; this one is the first
    summary.boundaries =
        cascade_boundaries(position_labels_of(target.name, target.classes, spec.data.targets.at(target_index).tolerance,
                                              *labels, alone.front()),
                           columns.passed);
  }
  if (a.json) {
    fmt::print("{}", cascade_json(summary));
  } else {
    fmt::print("{}", render_cascade_text(summary));
    fmt::print("predicted {} samples ({} through the {} model) -> {}\n", samples.size(), passed_rows.size(),
               target.name, a.out.string());
  }
  std::fflush(stdout);
  return kExitOk;
}

int refit(const RefitArguments& a) {
  const ExperimentLayout layout(a.experiment);
  use_experiment_hdf5_settings(layout);
  const ExperimentPlan plan = read_plan(layout.plan());
  RefitOptions options;
  options.threads = a.threads;
  options.report = [](const std::string& line) { print_line(stdout, line); };
  const ModelFile model = refit_config(layout, plan, a.config, options);
  write_model_file(a.out, model);
  print_line(stdout,
             fmt::format("refit config {} on all {} samples -> {}", a.config, plan.sample_count, a.out.string()));
  return kExitOk;
}

int predict(const PredictArguments& a) {
  const ModelFile model = read_model_file(a.model);
  use_threads(thread_count_for(a.threads));
  const Dataset samples = read_prediction_input(a.input, model);
  if (!a.filter_model.empty()) return predict_cascade(a, model, samples);
  // A model holds either per_position targets only or per-sequence targets only (models.cpp).
  if (has_per_position(model)) {
    write_text_atomically(a.out, prediction_csv(model, samples.ids, {},
                                                predict_position_classes(model, samples, a.batch_size)));
  } else {
    write_text_atomically(a.out, prediction_csv(model, samples.ids, predict_samples(model, samples, a.batch_size)));
  }
  if (a.json) {
    print_line(stdout,
               nlohmann::json{{"samples", samples.size()}, {"networks", model.members.size()}, {"out", a.out.string()}}
                   .dump(2));
  } else {
    print_line(stdout, fmt::format("predicted {} samples with {} network{} -> {}", samples.size(), model.members.size(),
                                   model.members.size() == 1 ? "" : "s", a.out.string()));
  }
  return kExitOk;
}

int export_model(const ExportArguments& a) {
  const ModelFile model = read_model_file(a.model);
  write_atomically(a.out, [&](const std::filesystem::path& tmp) { export_torchscript(model, a.member, tmp); });
  print_line(stdout, fmt::format("exported network {} of {} (config {}) as TorchScript -> {}", a.member,
                                 a.model.string(), model.config_id, a.out.string()));
  return kExitOk;
}

}  // namespace

bool is_model_command(std::string_view name) {
  return name == "refit" || name == "predict" || name == "export";
}

int run_model_command(int argc, char** argv) {
  CLI::App app{"gridfold-worker: train and use final models"};
  app.require_subcommand(1);
  RefitArguments r;
  auto* refit_cmd = app.add_subcommand("refit", "Train one config on all samples into a model file");
  refit_cmd->add_option("--experiment", r.experiment, "Experiment directory")
      ->required()
      ->check(CLI::ExistingDirectory);
  refit_cmd->add_option("--config", r.config, "Config id")->required();
  refit_cmd->add_option("--out", r.out, "Model file to write")->required();
  refit_cmd->add_option("--threads", r.threads, "Torch threads")->check(CLI::PositiveNumber);
  PredictArguments p;
  auto* predict_cmd = app.add_subcommand("predict", "Predict new samples with a model file");
  predict_cmd->add_option("--model", p.model, "Model file")->required()->check(CLI::ExistingFile);
  predict_cmd->add_option("--input", p.input, "FASTA or CSV/TSV of samples")->required()->check(CLI::ExistingFile);
  predict_cmd->add_option("--out", p.out, "CSV to write")->required();
  predict_cmd->add_option("--batch-size", p.batch_size, "Samples per forward pass")->check(CLI::PositiveNumber);
  predict_cmd->add_option("--threads", p.threads, "Torch threads")->check(CLI::PositiveNumber);
  predict_cmd->add_option("--filter-model", p.filter_model, "Binary model choosing the rows --model labels")
      ->check(CLI::ExistingFile);
  predict_cmd->add_option("--filter-threshold", p.filter_threshold, "Filter probability a row needs to pass")
      ->check(CLI::Range(0.0, 1.0));
  predict_cmd->add_flag("--json", p.json, "Summary as JSON");
  ExportArguments x;
  auto* export_cmd = app.add_subcommand("export", "Write a model file's network as TorchScript");
  export_cmd->add_option("--model", x.model, "Model file")->required()->check(CLI::ExistingFile);
  export_cmd->add_option("--out", x.out, "TorchScript file to write (.pt)")->required();
  export_cmd->add_option("--member", x.member, "Which network of an ensemble (0-based)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  try {
    if (refit_cmd->parsed()) return refit(r);
    if (export_cmd->parsed()) return export_model(x);
    return predict(p);
  } catch (const TrainingError& e) {
    print_line(stderr, fmt::format("gridfold-worker: {}", e.what()));
    return kExitTasksFailed;
  } catch (const Error& e) {
    // gridfold's own errors carry their category: bad input 3, I/O (a failed write) 5, ...
    print_line(stderr, fmt::format("gridfold-worker: {}", e.what()));
    return e.exit_code();
  } catch (const std::exception& e) {
    print_line(stderr, fmt::format("gridfold-worker: {}", e.what()));
    return kExitInternal;
  }
}

}  // namespace gridfold::worker
