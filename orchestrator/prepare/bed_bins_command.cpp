#include "orchestrator/prepare/bed_bins_command.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <unordered_set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/atomic_file.hpp"
#include "orchestrator/prepare/bed.hpp"
#include "common/csv_text.hpp"
#include "common/dataset.hpp"
#include "orchestrator/prepare/expression_table.hpp"
#include "orchestrator/prepare/genomic_region.hpp"
#include "common/text_match.hpp"
#include "orchestrator/prepare/peak_bins.hpp"

namespace gridfold {
namespace {

namespace fs = std::filesystem;

constexpr const char* kStem = "atac_expression";

std::vector<std::string> sample_names(const BedBinsOptions& options) {
  std::vector<std::string> names = options.names;
  if (names.empty()) {
    for (const fs::path& file : options.peak_files) names.push_back(file.stem().string());
  } else if (names.size() != options.peak_files.size()) {
    throw DataError(
        fmt::format("{} sample names are given for {} BED files; give one name per BED file, in the "
                    "same order",
                    names.size(), options.peak_files.size()));
  }
  std::set<std::string> seen;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i].empty()) throw DataError(fmt::format("{}: the sample name is empty", options.peak_files[i].string()));
    if (!seen.insert(names[i]).second) {
      throw DataError(fmt::format("{}: sample name '{}' is used by two BED files; give distinct names with --names",
                                  options.peak_files[i].string(), names[i]));
    }
  }
  return names;
}

std::vector<std::size_t> expression_columns(const ExpressionTable& expression, const std::vector<std::string>& samples,
                                            const BedBinsOptions& options) {
  std::vector<std::size_t> columns;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const auto column = expression.sample_column(samples[i]);
    if (!column) {
      const auto suggestion = closest_match(samples[i], expression.samples);
      throw DataError(
          fmt::format("{}: sample '{}' has no column in the expression table {}{}; its samples are: {} "
                      "(name the BED files after them, or pass --names)",
                      options.peak_files[i].string(), samples[i], expression.file.string(),
                      suggestion ? fmt::format(" (did you mean '{}'?)", *suggestion) : "",
                      fmt::join(expression.samples, ", ")));
    }
    columns.push_back(*column);
  }
  return columns;
}

struct TargetGenes {
  std::vector<std::size_t> rows;  // rows of the expression table, in its order
  std::vector<std::string> without_expression;
};

// A gene is in the region when its span overlaps it by at least one base.
TargetGenes target_genes(const ExpressionTable& expression, const BedBinsOptions& options,
                         const GenomicRegion& region) {
  TargetGenes targets;
  if (options.genes.empty()) {
    for (std::size_t row = 0; row < expression.genes.size(); ++row) targets.rows.push_back(row);
    return targets;
  }
  std::set<std::string> in_region;
  for (const BedRecord& gene : read_bed(options.genes, BedFields::name)) {
    if (gene.chrom == region.chrom && gene.start < region.end && gene.end > region.start) in_region.insert(gene.name);
  }
  for (std::size_t row = 0; row < expression.genes.size(); ++row) {
    if (in_region.erase(expression.genes[row]) > 0) targets.rows.push_back(row);
  }
  targets.without_expression.assign(in_region.begin(), in_region.end());
  if (targets.rows.empty()) {
    throw DataError(
        fmt::format("{}: no gene of the expression table {} overlaps {} ({} genes of the BED do, none "
                    "with expression); check that the gene ids (BED column 4) match the table's first "
                    "column and that the chromosome names agree",
                    options.genes.string(), expression.file.string(), region.str(), targets.without_expression.size()));
  }
  return targets;
}

std::vector<std::string> bin_names(std::size_t count) {
  const std::size_t width = std::max<std::size_t>(6, fmt::formatted_size("{}", count - 1));
  std::vector<std::string> names;
  names.reserve(count);
  for (std::size_t i = 0; i < count; ++i) names.push_back(fmt::format("bin_{:0{}}", i, width));
  return names;
}

void require_distinct_columns(const std::vector<std::string>& bins, const std::vector<std::string>& genes,
                              const fs::path& expression) {
  const std::unordered_set<std::string> bin_set(bins.begin(), bins.end());
  for (const std::string& gene : genes) {
    if (gene == "sample" || bin_set.contains(gene)) {
      throw DataError(
          fmt::format("{}: gene id '{}' would collide with the output column of the same name (sample "
                      "and bin_NNNNNN are reserved); rename the gene",
                      expression.string(), gene));
    }
  }
}

// No peak on the region's chromosome in any file usually means "1" against "chr1".
DataError no_peaks_on_chromosome(const std::set<std::string>& chromosomes, const std::vector<fs::path>& files,
                                 const GenomicRegion& region) {
  constexpr std::size_t kShown = 10;
  const std::vector<std::string> shown(chromosomes.begin(),
                                       std::next(chromosomes.begin(),
                                                 static_cast<std::ptrdiff_t>(std::min(kShown, chromosomes.size()))));
  return DataError(
      fmt::format("no peak in the {} BED files (first: {}) lies on chromosome '{}' of region {}; their "
                  "chromosomes are: {}{}",
                  files.size(), files.front().string(), region.chrom, region.str(), fmt::join(shown, ", "),
                  chromosomes.size() > kShown ? ", ..." : ""));
}

std::string csv_number(double value) {
  return std::isnan(value) ? "" : fmt::format("{}", value);
}

std::string yaml_string(std::string_view text) {
  std::string quoted = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + '"';
}

// "  key: [a, b, ...]" as a flow list wrapped before 100 columns, continued four spaces in.
std::string yaml_flow_entry(std::string_view key, const std::vector<std::string>& items) {
  constexpr std::size_t kWidth = 100;
  std::string text = fmt::format("  {}: [", key);
  std::size_t column = text.size();
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string item = items[i] + (i + 1 < items.size() ? "," : "]");
    if (i > 0 && column + 1 + item.size() > kWidth) {
      text += "\n    ";
      column = 4;
    } else if (i > 0) {
      text += ' ';
      ++column;
    }
    text += item;
    column += item.size();
  }
  if (items.empty()) text += ']';
  return text + '\n';
}

std::string experiment_yaml(const PeakBinning& binning, const std::vector<std::string>& bins,
                            const std::vector<std::string>& genes, std::size_t samples) {
  std::vector<std::string> quoted_genes;
  for (const std::string& gene : genes) quoted_genes.push_back(yaml_string(gene));
  const std::string score_rule =
      binning.min_score ? fmt::format("a peak with score >= {}", *binning.min_score) : std::string("a peak");
  const std::size_t folds = std::clamp<std::size_t>(samples, 2, 5);
  return fmt::format(
      "# Written by gridfold prepare bed-bins for {}.\n"
      "# Features: bin_i is 1 when {} has its midpoint in [{} + i*{}, {} + (i+1)*{})\n"
      "# of {} (0-based, half-open; the last bin ends at the region's end).\n"
      "# Targets: the expression of each gene, one regression output per gene; rank configs by\n"
      "# Pearson's r with `gridfold harvest EXPERIMENT --metric pearson`.\n"
      "name: {}\n"
      "data:\n"
      "  path: {}.csv\n"
      "  format: csv\n"
      "  id_column: sample\n"
      "{}"
      "{}"
      "model:\n"
      "  family: mlp\n"
      "  dense: [256, 64]\n"
      "  dropout: 0.2\n"
      "training:\n"
      "  epochs: 200\n"
      "  batch_size: 16\n"
      "  lr: 0.001\n"
      "  weight_decay: 0.0001\n"
      "  patience: 20\n"
      "resampling:\n"
      "  outer: {{kfold: {{k: {}}}}}\n",
      binning.region.str(), score_rule, binning.region.start, binning.bin_size, binning.region.start, binning.bin_size,
      binning.region.chrom, kStem, kStem, yaml_flow_entry("feature_columns", bins),
      yaml_flow_entry("targets", quoted_genes), folds);
}

}  // namespace

BedBinsSummary prepare_bed_bins(const BedBinsOptions& options) {
  if (options.peak_files.empty()) throw DataError("no BED files of peaks are given; give one per sample");
  if (options.bin_size == 0) throw DataError("the bin size is 0; give a bin size of at least 1 base");
  const PeakBinning binning{parse_region(options.region), options.bin_size, options.min_score};
  const std::vector<std::string> samples = sample_names(options);
  const ExpressionTable expression = read_expression_table(options.expression);
  const std::vector<std::size_t> columns = expression_columns(expression, samples, options);
  const TargetGenes targets = target_genes(expression, options, binning.region);

  const std::vector<std::string> bins = bin_names(binning.bin_count());
  std::vector<std::string> genes;
  for (const std::size_t row : targets.rows) genes.push_back(expression.genes[row]);
  require_distinct_columns(bins, genes, options.expression);

  BedBinsSummary summary;
  summary.region = binning.region.str();
  summary.samples = samples.size();
  summary.bins = bins.size();
  summary.genes = genes.size();
  summary.genes_without_expression = targets.without_expression;
  std::string csv = "sample";
  for (const std::string& bin : bins) csv += "," + bin;
  for (const std::string& gene : genes) csv += "," + csv_field(gene);
  csv += "\n";
  bool any_peak_on_chromosome = false;
  std::set<std::string> peak_chromosomes;
  for (std::size_t sample = 0; sample < samples.size(); ++sample) {
    const auto peaks =
        read_bed(options.peak_files[sample], options.min_score ? BedFields::score : BedFields::coordinates);
    if (!any_peak_on_chromosome) {
      for (const BedRecord& peak : peaks) peak_chromosomes.insert(peak.chrom);
      any_peak_on_chromosome = peak_chromosomes.contains(binning.region.chrom);
    }
    const PeakBins sample_bins = bin_peaks(peaks, binning);
    summary.peaks_read += peaks.size();
    summary.peaks_counted += sample_bins.peaks_counted;
    csv += csv_field(samples[sample]);
    for (const std::uint8_t bit : sample_bins.bins) {
      csv += bit ? ",1" : ",0";
      summary.bins_set += bit;
    }
    for (const std::size_t row : targets.rows) csv += "," + csv_number(expression.values[row][columns[sample]]);
    csv += "\n";
  }
  if (!any_peak_on_chromosome && !peak_chromosomes.empty()) {
    throw no_peaks_on_chromosome(peak_chromosomes, options.peak_files, binning.region);
  }

  fs::create_directories(options.out_dir);
  summary.csv = options.out_dir / fmt::format("{}.csv", kStem);
  summary.spec = options.out_dir / fmt::format("{}.yaml", kStem);
  write_text_atomically(summary.csv, csv);
  write_text_atomically(summary.spec, experiment_yaml(binning, bins, genes, samples.size()));
  return summary;
}

std::string render_text(const BedBinsSummary& s) {
  std::string text = fmt::format(
      "bed-bins: {} samples x {} bins over {}; {} of {} peaks counted (score and midpoint in the region), "
      "{} bins set ({:.1f}%)\n",
      s.samples, s.bins, s.region, s.peaks_counted, s.peaks_read, s.bins_set,
      s.samples * s.bins == 0 ? 0.0
                              : 100.0 * static_cast<double>(s.bins_set) / static_cast<double>(s.samples * s.bins));
  text += fmt::format("targets   {} genes\n", s.genes);
  if (const auto& skipped = s.genes_without_expression; !skipped.empty()) {
    constexpr std::size_t kShown = 10;
    const std::vector<std::string> shown(skipped.begin(), skipped.begin() + std::min(kShown, skipped.size()));
    text += fmt::format("skipped   {} genes in the region have no expression row: {}{}\n", skipped.size(),
                        fmt::join(shown, ", "), skipped.size() > kShown ? ", ..." : "");
  }
  text += fmt::format("csv       {}\n", s.csv.string());
  text += fmt::format("spec      {} (next: gridfold plan {})\n", s.spec.string(), s.spec.string());
  return text;
}

}  // namespace gridfold
