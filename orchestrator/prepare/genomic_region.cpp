#include "orchestrator/prepare/genomic_region.hpp"

#include <fmt/format.h>

#include "common/dataset.hpp"
#include "common/text_lines.hpp"

namespace gridfold {

std::string GenomicRegion::str() const {
  return fmt::format("{}:{}-{}", chrom, start, end);
}

GenomicRegion parse_region(std::string_view text) {
  const auto invalid = [&](std::string_view why) {
    return DataError(
        fmt::format("region '{}' {}; the valid form is chrN:START-END with 0-based, half-open "
                    "coordinates and START < END, e.g. chr1:0-1000000",
                    text, why));
  };
  // The last colon splits, because some contig names (HLA alleles) contain colons themselves.
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) throw invalid("has no ':' between chromosome and coordinates");
  if (colon == 0) throw invalid("names no chromosome before the ':'");
  const std::string_view span = text.substr(colon + 1);
  const auto dash = span.find('-');
  if (dash == std::string_view::npos) throw invalid("has no '-' between START and END");
  const auto start = parse_whole_number(span.substr(0, dash));
  const auto end = parse_whole_number(span.substr(dash + 1));
  if (!start) throw invalid(fmt::format("has START '{}', which is not a whole number >= 0", span.substr(0, dash)));
  if (!end) throw invalid(fmt::format("has END '{}', which is not a whole number >= 0", span.substr(dash + 1)));
  if (*end <= *start) throw invalid("is empty: END is not greater than START");
  return GenomicRegion{std::string(text.substr(0, colon)), *start, *end};
}

}  // namespace gridfold
