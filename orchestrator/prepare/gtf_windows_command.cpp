#include "orchestrator/prepare/gtf_windows_command.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/atomic_file.hpp"
#include "common/csv_text.hpp"
#include "common/dataset.hpp"
#include "common/encoding.hpp"
#include "common/position_labels.hpp"
#include "orchestrator/prepare/gtf.hpp"
#include "orchestrator/prepare/exon_boundaries.hpp"
#include "orchestrator/prepare/genome_windows.hpp"

namespace gridfold {
namespace {

namespace fs = std::filesystem;

using ExonsByChromosome = std::map<std::string, std::vector<GtfExon>>;

std::string record_list(const std::vector<FastaRecord>& records) {
  constexpr std::size_t kShown = 10;
  std::vector<std::string_view> ids;
  for (std::size_t i = 0; i < std::min(kShown, records.size()); ++i) ids.push_back(records[i].id);
  return fmt::format("{}{}", fmt::join(ids, ", "), records.size() > kShown ? ", ..." : "");
}

// Every annotated chromosome must be in the FASTA, and every exon within its chromosome.
void check_against_genome(const ExonsByChromosome& exons, const std::unordered_map<std::string, std::size_t>& record_of,
                          const std::vector<FastaRecord>& records, const GtfWindowsOptions& options) {
  for (const auto& [chrom, chrom_exons] : exons) {
    const auto found = record_of.find(chrom);
    if (found == record_of.end()) {
      throw DataError(
          fmt::format("{}:{}: chromosome '{}' is not in the FASTA {}; its {} record(s) are: {} (the "
                      "names must match exactly, e.g. 'chr1' against '1')",
                      options.gtf.string(), chrom_exons.front().line, chrom, options.fasta.string(), records.size(),
                      record_list(records)));
    }
    const std::uint64_t length = records[found->second].sequence.size();
    for (const GtfExon& exon : chrom_exons) {
      if (exon.end > length) {
        throw DataError(
            fmt::format("{}:{}: the exon ends at {}, past the end of '{}', which has {} bases in {}; "
                        "the annotation and the genome assembly differ",
                        options.gtf.string(), exon.line, exon.end, chrom, length, options.fasta.string()));
      }
    }
  }
}

// The window's bases with `flank` more on each side ('N' past the chromosome's ends),
// uppercased (soft-masked repeats are lowercase), each checked to be DNA.
std::string window_sequence(const FastaRecord& record, const GenomeWindow& window, std::uint64_t flank,
                            const fs::path& fasta) {
  const std::uint64_t length = record.sequence.size();
  const std::uint64_t first = window.start > flank ? window.start - flank : 0;
  const std::uint64_t last = std::min(length, window.end + flank);
  std::string sequence = std::string(flank - (window.start - first), 'N') +
                         record.sequence.substr(first, last - first) + std::string(flank - (last - window.end), 'N');
  for (std::size_t i = 0; i < sequence.size(); ++i) {
    char& letter = sequence[i];
    if (letter >= 'a' && letter <= 'z') letter = static_cast<char>(letter - 'a' + 'A');
    if (!is_valid_letter(letter, Alphabet::dna)) {
      throw DataError(fmt::format("{}:{}: record '{}': letter '{}' at position {} is not DNA (valid: {})",
                                  fasta.string(), record.line, record.id, letter, window.start - flank + i + 1,
                                  describe_valid_letters(Alphabet::dna)));
    }
  }
  return sequence;
}

}  // namespace

double GtfWindowsSummary::positives_per_1000() const {
  return positions == 0 ? 0.0 : 1000.0 * static_cast<double>(exon_starts + exon_ends) / static_cast<double>(positions);
}

GtfWindowsSummary prepare_gtf_windows(const GtfWindowsOptions& options) {
  if (options.window == 0) throw DataError("the window length is 0; give a window of at least 1 base");
  const std::uint64_t stride = options.stride == 0 ? options.window : options.stride;

  ExonsByChromosome exons;
  GtfWindowsSummary summary;
  summary.out = options.out;
  summary.window = options.window;
  summary.stride = stride;
  summary.flank = options.flank;
  for (GtfExon& exon : read_gtf_exons(options.gtf)) {
    exons[exon.chrom].push_back(std::move(exon));
    ++summary.exons;
  }
  if (exons.empty() && !options.all_windows) {
    throw DataError(
        fmt::format("{}: the annotation has no exon features (column 3 'exon'), so no window holds a "
                    "boundary; pass --all-windows to write unlabelled windows",
                    options.gtf.string()));
  }
  const std::vector<FastaRecord> records = read_fasta(options.fasta);
  std::unordered_map<std::string, std::size_t> record_of;
  for (std::size_t i = 0; i < records.size(); ++i) record_of.emplace(records[i].id, i);
  check_against_genome(exons, record_of, records, options);

  if (options.out.has_parent_path()) fs::create_directories(options.out.parent_path());
  write_atomically(options.out, [&](const fs::path& tmp) {
    std::ofstream out(tmp, std::ios::binary);
    out << "id,sequence,labels,has_boundary\n";
    const std::string flank_labels(options.flank, kUnlabelledPosition);
    for (const FastaRecord& record : records) {
      const auto annotated = exons.find(record.id);
      if (annotated == exons.end() && !options.all_windows) continue;
      const std::string labels = annotated == exons.end()
                                     ? std::string(record.sequence.size(), kOtherBase)
                                     : exon_boundary_labels(record.sequence.size(), annotated->second);
      bool wrote_any = false;
      for (const GenomeWindow& window : tile_windows(record.sequence.size(), options.window, stride)) {
        const std::string_view window_labels = std::string_view(labels).substr(window.start, window.end - window.start);
        const auto starts =
            static_cast<std::uint64_t>(std::count(window_labels.begin(), window_labels.end(), kExonStart));
        const auto ends = static_cast<std::uint64_t>(std::count(window_labels.begin(), window_labels.end(), kExonEnd));
        if (starts + ends == 0 && !options.all_windows) {
          ++summary.windows_dropped;
          continue;
        }
        out << csv_field(fmt::format("{}:{}-{}", record.id, window.start, window.end)) << ','
            << window_sequence(record, window, options.flank, options.fasta) << ',' << flank_labels << window_labels
            << flank_labels << ',' << (starts + ends > 0 ? 1 : 0) << '\n';
        ++summary.windows_written;
        summary.positions += window.end - window.start;
        summary.exon_starts += starts;
        summary.exon_ends += ends;
        wrote_any = true;
      }
      summary.chromosomes += wrote_any ? 1 : 0;
    }
    out.flush();
    if (!out) throw std::runtime_error(fmt::format("{}: write failed: {}", tmp.string(), std::strerror(errno)));
  });
  return summary;
}

std::string render_text(const GtfWindowsSummary& s) {
  return fmt::format(
      "gtf-windows: wrote {} windows of {} bases{} (stride {}) from {} chromosome(s) to {}; {} window(s) "
      "without an exon boundary were dropped. The {} positions written hold {} exon starts (class 1) and {} exon "
      "ends (class 2) from {} exons: {:.2f} positives per 1000 positions (the intron/exon workload expects about "
      "1.3).\n",
      s.windows_written, s.window, s.flank > 0 ? fmt::format(" with {} bases of context on each side", s.flank) : "",
      s.stride, s.chromosomes, s.out.string(), s.windows_dropped, s.positions, s.exon_starts, s.exon_ends, s.exons,
      s.positives_per_1000());
}

}  // namespace gridfold
