// Reading the exons of a GTF annotation: nine tab-separated columns (seqname, source, feature,
// start, end, score, strand, frame, attributes) with 1-based, inclusive coordinates. Every
// line is checked, not only exon lines, so that a damaged file is noticed; blank lines and
// comments (#) are skipped. Rejected lines are reported as file:line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace gridfold {

struct GtfExon {
  std::string chrom;
  std::uint64_t start = 0;  // 1-based position of the exon's lowest base
  std::uint64_t end = 0;    // 1-based position of its highest base (inclusive)
  char strand = '+';        // '+' or '-'
  std::size_t line = 0;
};

// The features whose column 3 is "exon", in file order; an exon without a strand (+ or -) is an error.
std::vector<GtfExon> read_gtf_exons(const std::filesystem::path& file);

}  // namespace gridfold
