#include "worker/model_commands.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "common/atomic_file.hpp"
#include "common/dataset.hpp"
#include "common/errors.hpp"
#include "common/experiment_layout.hpp"
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
  int batch_size = 256;
  int threads = 0;
};

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
  const std::vector<float> outputs = predict_samples(model, samples, a.batch_size);
  write_text_atomically(a.out, prediction_csv(model, samples.ids, outputs));
  print_line(stdout, fmt::format("predicted {} samples with {} network{} -> {}", samples.size(), model.members.size(),
                                 model.members.size() == 1 ? "" : "s", a.out.string()));
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
