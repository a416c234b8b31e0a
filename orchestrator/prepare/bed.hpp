// Reading BED intervals (peaks, gene spans): chrom, start, end in 0-based, half-open
// coordinates, then optional name (column 4) and score (column 5). Fields are separated by
// tabs, or by runs of spaces in a line without tabs. Blank lines, comments (#) and the
// track/browser header lines are skipped; every rejected line is reported as file:line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace gridfold {

struct BedRecord {
  std::string chrom;
  std::uint64_t start = 0;  // first base, 0-based
  std::uint64_t end = 0;    // one past the last base; end == start is an empty interval
  std::string name;         // column 4; empty when the line has none
  double score = 0;         // column 5; read only when BedFields::score is asked for
  std::size_t line = 0;
};

// The columns a caller relies on; a line without them is an error.
enum class BedFields { coordinates, name, score };

std::vector<BedRecord> read_bed(const std::filesystem::path& file, BedFields needed);

}  // namespace gridfold
