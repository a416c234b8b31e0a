// A stretch of one chromosome, written chrN:START-END in BED's coordinates: 0-based and
// half-open, so chr1:0-1000 is the first thousand bases of chr1.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace gridfold {

struct GenomicRegion {
  std::string chrom;
  std::uint64_t start = 0;  // first base, 0-based
  std::uint64_t end = 0;    // one past the last base
  std::uint64_t length() const { return end - start; }
  bool contains(const std::string& on_chrom, std::uint64_t position) const {
    return on_chrom == chrom && position >= start && position < end;
  }
  std::string str() const;  // "chrom:start-end"
};

// Parses "chrN:START-END" with START < END; throws DataError naming the text and the valid form.
GenomicRegion parse_region(std::string_view text);

}  // namespace gridfold
