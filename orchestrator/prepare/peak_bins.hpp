// The peak-bin rule of `gridfold prepare bed-bins`. The region is cut into bins of bin_size
// bases from its start; the last bin is shorter when the region's length is not a multiple of
// bin_size. A peak sets the bin holding its midpoint floor((start + end) / 2), in BED's 0-based
// half-open coordinates, when its score is at least the minimum; peaks whose midpoint lies
// outside the region (or on another chromosome) set nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "orchestrator/prepare/bed.hpp"
#include "orchestrator/prepare/genomic_region.hpp"

namespace gridfold {

struct PeakBinning {
  GenomicRegion region;
  std::uint64_t bin_size = 1000;
  std::optional<double> min_score;  // none: every peak counts
  std::size_t bin_count() const { return static_cast<std::size_t>((region.length() + bin_size - 1) / bin_size); }
};

// The midpoint floor((start + end) / 2) of [start, end): the upper of the two middle bases when
// the length is even.
std::uint64_t peak_midpoint(const BedRecord& peak);

struct PeakBins {
  std::vector<std::uint8_t> bins;  // bin_count() values, each 0 or 1
  std::size_t peaks_counted = 0;   // peaks that passed the score and fell in the region
};

PeakBins bin_peaks(const std::vector<BedRecord>& peaks, const PeakBinning& binning);

}  // namespace gridfold
