#include "orchestrator/prepare/exon_boundaries.hpp"

#include <stdexcept>

#include <fmt/format.h>

namespace gridfold {

std::string exon_boundary_labels(std::uint64_t length, std::span<const GtfExon> exons) {
  std::string labels(length, kOtherBase);
  for (const GtfExon& exon : exons) {
    if (exon.end > length) {
      throw std::invalid_argument(
          fmt::format("exon {}-{} lies past the chromosome's end ({} bases)", exon.start, exon.end, length));
    }
    const std::uint64_t low = exon.start - 1;  // GTF's 1-based positions as 0-based indices
    const std::uint64_t high = exon.end - 1;
    const std::uint64_t first = exon.strand == '-' ? high : low;
    const std::uint64_t last = exon.strand == '-' ? low : high;
    if (labels[last] == kOtherBase) labels[last] = kExonEnd;
    labels[first] = kExonStart;
  }
  return labels;
}

}  // namespace gridfold
