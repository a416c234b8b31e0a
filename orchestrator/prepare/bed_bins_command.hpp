// `gridfold prepare bed-bins`: one row per sample (one BED file of peaks each) with its binary
// peak-bin features over a region and the expression of the region's genes as targets, written
// as DIR/atac_expression.csv with a ready-to-plan experiment spec DIR/atac_expression.yaml
// (docs/workloads/atac-expression.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace gridfold {

struct BedBinsOptions {
  std::string region;  // chrN:START-END, 0-based half-open
  std::uint64_t bin_size = 1000;
  std::optional<double> min_score;  // none: every peak counts and BED needs no score column
  std::vector<std::filesystem::path> peak_files;
  std::vector<std::string> names;    // one sample name per peak file; empty: the files' stems
  std::filesystem::path expression;  // TSV: gene id, then one column per sample
  // BED of gene spans named in column 4: only the genes overlapping the region are targets.
  // Empty: every gene of the expression table is a target.
  std::filesystem::path genes;
  std::filesystem::path out_dir;
};

struct BedBinsSummary {
  std::filesystem::path csv, spec;
  std::string region;
  std::size_t samples = 0, bins = 0, genes = 0;
  std::size_t peaks_read = 0, peaks_counted = 0, bins_set = 0;
  // Genes overlapping the region in the genes BED but absent from the expression table.
  std::vector<std::string> genes_without_expression;
};

// Throws DataError for invalid input (naming the file and line, or the value and what is valid).
BedBinsSummary prepare_bed_bins(const BedBinsOptions& options);

std::string render_text(const BedBinsSummary& summary);

}  // namespace gridfold
