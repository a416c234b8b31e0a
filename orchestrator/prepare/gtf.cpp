#include "orchestrator/prepare/gtf.hpp"

#include <string_view>

#include <fmt/format.h>

#include "common/dataset.hpp"
#include "common/text_lines.hpp"

namespace gridfold {

std::vector<GtfExon> read_gtf_exons(const std::filesystem::path& file) {
  constexpr std::size_t kColumns = 9;
  std::vector<GtfExon> exons;
  for_each_line(file, [&](std::string_view line, std::size_t number) {
    if (line.find_first_not_of(" \t") == std::string_view::npos || line.starts_with('#')) return;
    const auto fail = [&](const std::string& what) {
      return DataError(fmt::format("{}:{}: {} (GTF: 9 tab-separated columns, 1-based inclusive coordinates)",
                                   file.string(), number, what));
    };
    const auto fields = split_fields(line, '\t');
    if (fields.size() < kColumns) {
      throw fail(fmt::format("the line has {} tab-separated column(s); GTF needs {}", fields.size(), kColumns));
    }
    if (fields[0].empty()) throw fail("the sequence name (column 1) is empty");
    const auto start = parse_whole_number(fields[3]);
    const auto end = parse_whole_number(fields[4]);
    if (!start || *start == 0) throw fail(fmt::format("start '{}' (column 4) is not a whole number >= 1", fields[3]));
    if (!end || *end == 0) throw fail(fmt::format("end '{}' (column 5) is not a whole number >= 1", fields[4]));
    if (*end < *start) throw fail(fmt::format("end {} is before start {}", *end, *start));
    const std::string_view strand = fields[6];
    if (strand != "+" && strand != "-" && strand != "." && strand != "?") {
      throw fail(fmt::format("strand '{}' (column 7) is not +, -, . or ?", strand));
    }
    if (fields[2] != "exon") return;
    if (strand != "+" && strand != "-") {
      throw fail(
          fmt::format("the exon's strand (column 7) is '{}'; exon start and end depend on the strand, "
                      "so it must be + or -",
                      strand));
    }
    exons.push_back(GtfExon{std::string(fields[0]), *start, *end, strand.front(), number});
  });
  return exons;
}

}  // namespace gridfold
