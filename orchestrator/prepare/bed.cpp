#include "orchestrator/prepare/bed.hpp"

#include <string_view>

#include <fmt/format.h>

#include "common/dataset.hpp"
#include "common/text_lines.hpp"

namespace gridfold {
namespace {

bool starts_with_word(std::string_view line, std::string_view word) {
  return line.starts_with(word) &&
         (line.size() == word.size() || line[word.size()] == ' ' || line[word.size()] == '\t');
}

bool is_header(std::string_view line) {
  return line.starts_with('#') || starts_with_word(line, "track") || starts_with_word(line, "browser");
}

std::size_t columns_for(BedFields needed) {
  switch (needed) {
    case BedFields::coordinates:
      return 3;
    case BedFields::name:
      return 4;
    case BedFields::score:
      return 5;
  }
  return 3;
}

std::string_view why_needed(BedFields needed) {
  switch (needed) {
    case BedFields::coordinates:
      return "chrom, start and end";
    case BedFields::name:
      return "column 4 (name) is needed to identify each interval";
    case BedFields::score:
      return "column 5 (score) is needed to filter peaks by a minimum score";
  }
  return "";
}

}  // namespace

std::vector<BedRecord> read_bed(const std::filesystem::path& file, BedFields needed) {
  std::vector<BedRecord> records;
  for_each_line(file, [&](std::string_view line, std::size_t number) {
    if (line.find_first_not_of(" \t") == std::string_view::npos || is_header(line)) return;
    const auto fields = line.find('\t') != std::string_view::npos ? split_fields(line, '\t') : split_on_blanks(line);
    const auto fail = [&](const std::string& what) {
      return DataError(fmt::format("{}:{}: {} (BED: chrom, start, end, [name, score, ...], 0-based half-open)",
                                   file.string(), number, what));
    };
    if (fields.size() < 3) throw fail(fmt::format("the line has {} column(s); BED needs at least 3", fields.size()));
    if (fields.size() < columns_for(needed)) {
      throw fail(fmt::format("the line has {} columns; {}", fields.size(), why_needed(needed)));
    }
    if (fields[0].empty()) throw fail("the chromosome (column 1) is empty");
    const auto start = parse_whole_number(fields[1]);
    const auto end = parse_whole_number(fields[2]);
    if (!start) throw fail(fmt::format("start '{}' (column 2) is not a whole number >= 0", fields[1]));
    if (!end) throw fail(fmt::format("end '{}' (column 3) is not a whole number >= 0", fields[2]));
    if (*end < *start) throw fail(fmt::format("end {} is before start {}", *end, *start));
    BedRecord record{std::string(fields[0]), *start, *end, {}, 0, number};
    if (fields.size() > 3) record.name = std::string(fields[3]);
    if (needed == BedFields::score) {
      const auto score = parse_real(fields[4]);
      if (!score) throw fail(fmt::format("score '{}' (column 5) is not a number", fields[4]));
      record.score = *score;
    }
    records.push_back(std::move(record));
  });
  return records;
}

}  // namespace gridfold
