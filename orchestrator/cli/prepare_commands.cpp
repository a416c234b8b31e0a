// gridfold prepare bed-bins and prepare gtf-windows: genome annotations into training tables.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <iostream>
#include <memory>

#include "common/exit_codes.hpp"
#include "orchestrator/cli/commands.hpp"
#include "orchestrator/prepare/bed_bins_command.hpp"
#include "orchestrator/prepare/gtf_windows_command.hpp"

namespace gridfold::cli {

namespace {

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
  cmd->add_option("--flank", options->flank,
                  "Bases of context on each side of every window, labelled '.' (not scored); default 0");
  cmd->add_option("--out,-o", options->out, "Output CSV: id, sequence, labels")->required();
  cmd->callback([options, &exit_code] {
    std::cout << render_text(prepare_gtf_windows(*options));
    exit_code = kExitOk;
  });
}

}  // namespace

void add_prepare(CLI::App& app, int& exit_code) {
  CLI::App* prepare = app.add_subcommand("prepare", "Turn genome annotations into gridfold data tables");
  prepare->require_subcommand(1);
  add_prepare_bed_bins(*prepare, exit_code);
  add_prepare_gtf_windows(*prepare, exit_code);
}

}  // namespace gridfold::cli
