// The gridfold command line: subcommands, and the one place where errors become exit codes.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <fmt/chrono.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>
#include <iostream>

#include "common/archive.hpp"
#include "common/dataset.hpp"
#include "common/hdf5.hpp"
#include "common/spec.hpp"
#include "common/text_file.hpp"
#include "orchestrator/bed_bins_command.hpp"
#include "orchestrator/exit_codes.hpp"
#include "orchestrator/experiment_lock.hpp"
#include "orchestrator/experiment_status.hpp"
#include "orchestrator/finalize_command.hpp"
#include "orchestrator/gtf_windows_command.hpp"
#include "orchestrator/harvest_command.hpp"
#include "orchestrator/local_run.hpp"
#include "orchestrator/pack_command.hpp"
#include "orchestrator/resubmission.hpp"
#include "orchestrator/plan_command.hpp"
#include "orchestrator/predict_command.hpp"
#include "orchestrator/report_command.hpp"
#include "orchestrator/script_template.hpp"
#include "orchestrator/slurm_client.hpp"
#include "orchestrator/submission.hpp"

namespace {

using namespace gridfold;

void add_plan(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<PlanOptions>();
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("plan", "Expand an experiment spec into an experiment directory (plan.h5)");
  cmd->add_option("spec", options->spec, "Experiment YAML")->required()->check(CLI::ExistingFile);
  cmd->add_option("--out,-o", options->out, "Experiment directory (default: ./<experiment name>)");
  cmd->add_flag("--dry-run", options->dry_run, "Show what would be planned; write nothing");
  cmd->add_flag("--json", *json, "Print the summary as JSON");
  cmd->callback([options, json, &exit_code] {
    const PlanSummary summary = plan_experiment(*options);
    std::cout << (*json ? render_json(summary) : render_text(summary));
    exit_code = kExitOk;
  });
}

void add_run(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<PlanOptions>();
  auto ranks = std::make_shared<int>(1);
  auto local = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("run", "Plan an experiment and run it on this machine (--local)");
  cmd->add_option("spec", options->spec, "Experiment YAML")->required()->check(CLI::ExistingFile);
  cmd->add_flag("--local", *local, "Run with the local executor (mpirun on this machine), then pack and report")
      ->required();
  cmd->add_option("--ranks,-n", *ranks, "MPI ranks (1 runs the worker without mpirun)")
      ->check(CLI::Range(1, 4096))
      ->default_val(1);
  cmd->add_option("--out,-o", options->out, "Experiment directory (default: ./<experiment name>)");
  cmd->add_flag("--dry-run", options->dry_run, "Show the plan; run nothing");
  cmd->callback([options, ranks, &exit_code] {
    const PlanSummary plan = plan_experiment(*options);
    std::cout << render_text(plan) << std::flush;
    if (options->dry_run) return;
    const int rc = run_worker_locally(plan.experiment_dir, *ranks);
    // As on a cluster, finished results are packed and harvested even when some tasks
    // failed; the report shows what there is.
    PackOptions pack;
    pack.experiment = plan.experiment_dir;
    pack.log_min_age_seconds = 0;
    std::cout << render_text(pack_experiment(pack));
    ReportOptions report;
    report.experiment = plan.experiment_dir;
    std::cout << render_text(make_report(report));
    exit_code = rc == 0 ? kExitOk : kExitTasksFailed;
  });
}

void add_submit(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<SubmitOptions>();
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("submit", "Submit a planned experiment to SLURM as job arrays plus a pack job");
  cmd->add_option("experiment", options->experiment, "Experiment directory made by gridfold plan")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_flag("--dry-run", options->dry_run, "Write and print the job scripts; submit nothing");
  cmd->add_option("--launcher", options->launcher, "How ranks start inside an element")
      ->check(CLI::IsMember({"mpirun", "srun"}))
      ->default_val("mpirun");
  cmd->add_flag("--json", *json, "Print the submission as JSON");
  cmd->callback([options, json, &exit_code] {
    const Submission s = submit_experiment(*options, SlurmClient{});
    std::cout << (*json ? render_json(s) : render_text(s));
    if (options->dry_run && !*json) {
      for (const auto& a : s.arrays) std::cout << "\n# " << a.script.string() << "\n" << read_text_file(a.script);
    }
    exit_code = kExitOk;
  });
}

void add_status(CLI::App& app, int& exit_code) {
  auto experiment = std::make_shared<std::filesystem::path>();
  auto watch = std::make_shared<double>(0);
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("status", "Show where an experiment stands: array elements, tasks, failures");
  cmd->add_option("experiment", *experiment, "Experiment directory")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--watch", *watch, "Poll every SECONDS (at least 10) until every element has ended");
  cmd->add_flag("--json", *json, "Print the status as JSON");
  cmd->callback([experiment, watch, json, &exit_code] {
    // Every poll costs the controller one squeue and one sacct call; a floor keeps a
    // thousand users watching from overloading it.
    constexpr double kMinimumPoll = 10;
    const bool terminal = isatty(STDOUT_FILENO) != 0;
    const SlurmClient slurm;
    while (true) {
      const ExperimentStatus s = collect_status(ExperimentLayout(*experiment), slurm);
      if (*json) {
        std::cout << render_json(s);
      } else if (*watch > 0 && !terminal) {
        std::cout << fmt::format("{:%Y-%m-%dT%H:%M:%S} {}", fmt::localtime(std::time(nullptr)), render_line(s)) << std::endl;
      } else {
        std::cout << (*watch > 0 ? "\033[H\033[2J" : "") << render_table(s) << std::flush;
      }
      const bool active = std::any_of(s.elements.begin(), s.elements.end(), [](const auto& e) { return is_active(e.state); });
      exit_code = s.failed_elements().empty() && s.task_failures.empty() ? kExitOk : kExitTasksFailed;
      if (*watch <= 0 || !active) return;
      std::this_thread::sleep_for(std::chrono::duration<double>(std::max(*watch, kMinimumPoll)));
    }
  });
}

void add_resubmit(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<ResubmitOptions>();
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("resubmit", "Submit again the elements whose tasks have no result");
  cmd->add_option("experiment", options->submit.experiment, "Experiment directory")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_flag("--failed-only", options->failed_only,
                "Only elements that ended FAILED, TIMEOUT, OUT_OF_MEMORY, CANCELLED, NODE_FAIL or PREEMPTED");
  cmd->add_option("--time", options->submit.time, "New time limit for these elements (e.g. 04:00:00)");
  cmd->add_option("--launcher", options->submit.launcher, "How ranks start inside an element")
      ->check(CLI::IsMember({"mpirun", "srun"}))
      ->default_val("mpirun");
  cmd->add_flag("--dry-run", options->submit.dry_run, "Write and print the job scripts; submit nothing");
  cmd->add_flag("--json", *json, "Print the submission as JSON");
  cmd->callback([options, json, &exit_code] {
    const auto s = resubmit_experiment(*options, SlurmClient{});
    if (!s) {
      std::cout << (*json ? "null\n" : "nothing to resubmit: every element has its results or is still queued\n");
    } else {
      std::cout << (*json ? render_json(*s) : render_text(*s));
    }
    exit_code = kExitOk;
  });
}

void add_cancel(CLI::App& app, int& exit_code) {
  auto experiment = std::make_shared<std::filesystem::path>();
  CLI::App* cmd = app.add_subcommand("cancel", "Cancel every job array and pack job of an experiment");
  cmd->add_option("experiment", *experiment, "Experiment directory")->required()->check(CLI::ExistingDirectory);
  cmd->callback([experiment, &exit_code] {
    const auto ids = cancel_experiment(ExperimentLayout(*experiment), SlurmClient{});
    std::cout << fmt::format("cancelled {} job(s): {}\n", ids.size(), fmt::join(ids, " "));
    exit_code = kExitOk;
  });
}

void add_pack(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<PackOptions>();
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("pack", "Move finished results and logs into verified tar archives");
  cmd->add_option("experiment", options->experiment, "Experiment directory")->required()->check(CLI::ExistingDirectory);
  cmd->add_flag("--keep", options->keep_originals, "Archive, but keep the originals (a later pack removes them)");
  cmd->add_option("--log-min-age", options->log_min_age_seconds, "Leave logs modified less than SECONDS ago")
      ->check(CLI::NonNegativeNumber)
      ->default_val(600);
  cmd->add_flag("--json", *json, "Print the summary as JSON");
  cmd->callback([options, json, &exit_code] {
    const PackSummary summary = pack_experiment(*options);
    std::cout << (*json ? render_json(summary) : render_text(summary));
    exit_code = kExitOk;
  });
}

void add_harvest(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<HarvestOptions>();
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("harvest", "Rank configs, estimate by nested selection and tabulate predictions");
  cmd->add_option("experiment", options->experiment, "Experiment directory")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--out,-o", options->out, "Output directory (default: EXPERIMENT/harvest)");
  cmd->add_option("--metric", options->metric,
                  "Ranking metric for every target (default: r2, auroc, accuracy or f1 by task type)");
  cmd->add_flag("--all-predictions", options->all_predictions, "Tabulate the predictions of every config");
  cmd->add_flag("--json", *json, "Print the summary as JSON");
  cmd->callback([options, json, &exit_code] {
    const HarvestSummary summary = harvest_experiment(*options);
    std::cout << (*json ? render_json(summary) : render_text(summary));
    exit_code = kExitOk;
  });
}

void add_finalize(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<FinalizeOptions>();
  auto strategy = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("finalize", "Make the model file of the best config (or --config) for predict");
  cmd->add_option("experiment", options->experiment, "Experiment directory")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--out,-o", options->out, "Model file (default: EXPERIMENT/model.h5)");
  cmd->add_option("--config", options->config, "Config id (default: the best by the ranking metric)");
  cmd->add_option("--strategy", *strategy, "refit or ensemble (default: final_model.strategy)")
      ->check(CLI::IsMember({"refit", "ensemble"}));
  cmd->add_option("--target", options->target, "Target to rank configs by (default: final_model.target, else the first)");
  cmd->add_option("--metric", options->metric,
                  "Ranking metric (default: final_model.metric, else r2, auroc or accuracy by task type)");
  cmd->add_option("--threads", options->threads, "refit: training threads (default: all cores)")
      ->check(CLI::PositiveNumber);
  cmd->callback([options, strategy, &exit_code] {
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
  cmd->callback([options, &exit_code] {
    predict_with_model(*options);
    exit_code = kExitOk;
  });
}

void add_report(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<ReportOptions>();
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("report", "Plot a harvest with gnuplot and summarise it in index.html and summary.md");
  cmd->add_option("experiment", options->experiment, "Experiment directory")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--out,-o", options->out, "Output directory (default: EXPERIMENT/report)");
  cmd->add_option("--metric", options->metric,
                  "Ranking metric for every target (default: r2, auroc, accuracy or f1 by task type)");
  cmd->add_option("--top", options->top, "Ranked configs listed per target")->check(CLI::PositiveNumber)->default_val(20);
  cmd->add_flag("--json", *json, "Print the produced files as JSON");
  cmd->callback([options, json, &exit_code] {
    const ReportSummary summary = make_report(*options);
    std::cout << (*json ? render_json(summary) : render_text(summary));
    exit_code = kExitOk;
  });
}

void add_prepare_bed_bins(CLI::App& prepare, int& exit_code) {
  auto options = std::make_shared<BedBinsOptions>();
  auto min_score = std::make_shared<double>(0);
  CLI::App* cmd = prepare.add_subcommand(
      "bed-bins", "Per-sample peak-bin features and gene expression targets: DIR/atac_expression.csv and .yaml");
  cmd->add_option("--region", options->region, "chrN:START-END, 0-based half-open (BED coordinates)")->required();
  cmd->add_option("--bin", options->bin_size, "Bin size in bases")->check(CLI::PositiveNumber)->default_val(1000);
  CLI::Option* min_score_option =
      cmd->add_option("--min-score", *min_score, "Count only peaks whose BED score (column 5) is at least this");
  cmd->add_option("bed", options->peak_files, "BED files of peaks, one per sample")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--names", options->names, "Sample names, comma-separated, one per BED file (default: file stems)")
      ->delimiter(',')
      ->allow_extra_args(false);
  cmd->add_option("--expression", options->expression, "TSV: gene id, then one column per sample")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--genes", options->genes,
                  "BED of gene spans, name in column 4: targets are the genes overlapping the region "
                  "(default: every gene of the TSV)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--out,-o", options->out_dir, "Output directory")->required();
  cmd->callback([options, min_score, min_score_option, &exit_code] {
    if (min_score_option->count() > 0) options->min_score = *min_score;
    std::cout << render_text(prepare_bed_bins(*options));
    exit_code = kExitOk;
  });
}

void add_prepare_gtf_windows(CLI::App& prepare, int& exit_code) {
  auto options = std::make_shared<GtfWindowsOptions>();
  CLI::App* cmd = prepare.add_subcommand("gtf-windows", "Genome windows with per-position exon start/end labels (CSV)");
  cmd->add_option("--gtf", options->gtf, "GTF annotation; its exon features are labelled")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--fasta", options->fasta, "Genome FASTA")->required()->check(CLI::ExistingFile);
  cmd->add_option("--window", options->window, "Window length in bases")->check(CLI::PositiveNumber)->default_val(5000);
  cmd->add_option("--stride", options->stride, "Bases between window starts (default: the window length)")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--all-windows", options->all_windows, "Also write windows without an exon boundary");
  cmd->add_option("--out,-o", options->out, "Output CSV: id, sequence, labels")->required();
  cmd->callback([options, &exit_code] {
    std::cout << render_text(prepare_gtf_windows(*options));
    exit_code = kExitOk;
  });
}

void add_prepare(CLI::App& app, int& exit_code) {
  CLI::App* prepare = app.add_subcommand("prepare", "Turn genome annotations into gridfold data tables");
  prepare->require_subcommand(1);
  add_prepare_bed_bins(*prepare, exit_code);
  add_prepare_gtf_windows(*prepare, exit_code);
}

template <typename... Errors>
bool is_one_of(const std::exception& e) {
  return ((dynamic_cast<const Errors*>(&e) != nullptr) || ...);
}

// What kind of failure an exception is, as the exit codes of docs/cli.md tell scripts.
int exit_code_of(const std::exception& e) {
  if (const auto* worker = dynamic_cast<const WorkerError*>(&e)) return worker->exit_code;
  if (is_one_of<SpecError, DataError, TemplateError, HarvestError, FinalizeError, ArchiveError, h5::Error>(e)) {
    return kExitBadInput;
  }
  if (is_one_of<SlurmError>(e)) return kExitCluster;
  if (is_one_of<ExperimentBusy>(e)) return kExitBusy;
  return kExitInternal;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"gridfold: deep-learning grid searches on biological sequences, on SLURM or this machine"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("gridfold ") + GRIDFOLD_VERSION);
  int exit_code = kExitOk;
  add_plan(app, exit_code);
  add_run(app, exit_code);
  add_submit(app, exit_code);
  add_status(app, exit_code);
  add_resubmit(app, exit_code);
  add_cancel(app, exit_code);
  add_pack(app, exit_code);
  add_harvest(app, exit_code);
  add_report(app, exit_code);
  add_finalize(app, exit_code);
  add_predict(app, exit_code);
  add_prepare(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  } catch (const std::exception& e) {
    fmt::print(stderr, "gridfold: error: {}\n", e.what());
    return exit_code_of(e);
  }
  return exit_code;
}
