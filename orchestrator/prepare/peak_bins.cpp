#include "orchestrator/prepare/peak_bins.hpp"

namespace gridfold {

std::uint64_t peak_midpoint(const BedRecord& peak) {
  return peak.start + (peak.end - peak.start) / 2;
}

PeakBins bin_peaks(const std::vector<BedRecord>& peaks, const PeakBinning& binning) {
  PeakBins result{std::vector<std::uint8_t>(binning.bin_count(), 0), 0};
  for (const BedRecord& peak : peaks) {
    if (binning.min_score && peak.score < *binning.min_score) continue;
    const std::uint64_t midpoint = peak_midpoint(peak);
    if (!binning.region.contains(peak.chrom, midpoint)) continue;
    result.bins[(midpoint - binning.region.start) / binning.bin_size] = 1;
    ++result.peaks_counted;
  }
  return result;
}

}  // namespace gridfold
