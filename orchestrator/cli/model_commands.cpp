// gridfold finalize, predict and export: the best config's model file, predictions with it,
// and its network as TorchScript.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <iostream>
#include <memory>

#include "common/exit_codes.hpp"
#include "common/hdf5_settings.hpp"
#include "orchestrator/cli/commands.hpp"
#include "orchestrator/final_model/export_command.hpp"
#include "orchestrator/final_model/finalize_command.hpp"
#include "orchestrator/final_model/predict_command.hpp"

namespace gridfold::cli {

void add_finalize(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<FinalizeOptions>();
  auto strategy = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("finalize", "Make the model file of the best config (or --config) for predict");
  cmd->add_option("experiment", options->experiment, "Experiment directory")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--out,-o", options->out, "Model file (default: EXPERIMENT/model.h5)");
  cmd->add_option("--config", options->config, "Config id (default: the best by the ranking metric)");
  cmd->add_option("--strategy", *strategy, "refit or ensemble (default: final_model.strategy)")
      ->check(CLI::IsMember({"refit", "ensemble"}));
  cmd->add_option("--target", options->target,
                  "Target to rank configs by (default: final_model.target, else the first)");
  cmd->add_option("--metric", options->metric,
                  "Ranking metric (default: final_model.metric, else r2, auroc or accuracy by task type)");
  cmd->add_option("--threads", options->threads, "refit: training threads (default: all cores)")
      ->check(CLI::PositiveNumber);
  cmd->callback([options, strategy, &exit_code] {
    use_experiment_hdf5_settings(ExperimentLayout(options->experiment));
    if (!strategy->empty()) {
      options->strategy = *strategy == "refit" ? FinalModelStrategy::refit : FinalModelStrategy::ensemble;
    }
    std::cout << render_text(finalize_experiment(*options));
    exit_code = kExitOk;
  });
}

void add_predict(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<PredictOptions>();
  CLI::App* cmd = app.add_subcommand("predict", "Predict new sequences with a model file made by finalize");
  cmd->add_option("--model", options->model, "Model file")->required()->check(CLI::ExistingFile);
  cmd->add_option("--input", options->input, "FASTA, or CSV/TSV with the model's sequence or feature columns")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--out,-o", options->out, "CSV to write")->required();
  cmd->add_option("--batch-size", options->batch_size, "Samples per forward pass")
      ->check(CLI::PositiveNumber)
      ->default_val(256);
  cmd->add_option("--threads", options->threads, "Threads (default: all cores)")->check(CLI::PositiveNumber);
  cmd->add_option("--filter-model", options->filter_model,
                  "Model file of one binary target (a feeder): only rows it passes go through --model")
      ->check(CLI::ExistingFile);
  cmd->add_option("--filter-threshold", options->filter_threshold,
                  "Filter probability a row needs to pass (default 0.5)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_flag("--json", options->json, "Print the summary as JSON");
  cmd->callback([options, &exit_code] {
    predict_with_model(*options);
    exit_code = kExitOk;
  });
}

void add_export(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<ExportOptions>();
  CLI::App* cmd = app.add_subcommand(
      "export", "Write a model file's network as TorchScript for torch.jit.load (transformer and torchscript models)");
  cmd->add_option("--model", options->model, "Model file made by finalize")->required()->check(CLI::ExistingFile);
  cmd->add_option("--out,-o", options->out, "TorchScript file to write (.pt)")->required();
  cmd->add_option("--member", options->member, "Which network of an ensemble model (0-based)")->default_val(0);
  cmd->callback([options, &exit_code] {
    export_model(*options);
    exit_code = kExitOk;
  });
}

}  // namespace gridfold::cli
