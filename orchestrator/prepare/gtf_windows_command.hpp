// `gridfold prepare gtf-windows`: genome windows with one label digit per base from a GTF's
// exons (exon_boundaries.hpp), tiled as genome_windows.hpp describes, written as a CSV with the
// columns id (chrom:start-end, 0-based half-open), sequence (uppercase, genome orientation),
// labels (the data of a `task: per_position` target) and has_boundary (1 when the window
// holds an exon start or end, else 0: the binary target of a window-level feeder model);
// docs/workloads/intron-exon.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

namespace gridfold {

struct GtfWindowsOptions {
  std::filesystem::path gtf, fasta, out;
  std::uint64_t window = 5000;
  std::uint64_t stride = 0;  // 0: the window length, so windows do not overlap
  bool all_windows = false;  // keep windows without a boundary (and unannotated chromosomes)
  // Bases of context written on each side of every window: in the sequence, with labels '.'
  // (read, never scored), 'N' past the chromosome's ends. A per-position model then scores a
  // boundary near a window's edge with the context it would have in the middle.
  std::uint64_t flank = 0;
};

struct GtfWindowsSummary {
  std::filesystem::path out;
  std::uint64_t window = 0, stride = 0, flank = 0;
  std::size_t exons = 0;
  std::size_t chromosomes = 0;  // chromosomes with at least one window written
  std::size_t windows_written = 0, windows_dropped = 0;
  std::uint64_t positions = 0, exon_starts = 0, exon_ends = 0;  // over the windows written
  double positives_per_1000() const;
};

// Throws DataError for invalid input: a malformed GTF line (file:line), a chromosome the FASTA
// lacks (listing its records), an exon past its chromosome's end, a letter that is not DNA.
GtfWindowsSummary prepare_gtf_windows(const GtfWindowsOptions& options);

// One paragraph: windows written and dropped, positions, and positives per 1000 positions.
std::string render_text(const GtfWindowsSummary& summary);

}  // namespace gridfold
