// Line-oriented reading for the genomic text formats (BED, GTF): each line with its
// number for messages, split into fields, with numbers read strictly (no trailing text).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

namespace gridfold {

// Calls visit(line, number) for every line of the file, 1-based, without its line break (LF or
// CRLF). The file is streamed, never held whole. Throws DataError when it cannot be read.
void for_each_line(const std::filesystem::path& file,
                   const std::function<void(std::string_view line, std::size_t number)>& visit);

// The fields of a line between single delimiters; "a\t\tb" has an empty middle field.
std::vector<std::string_view> split_fields(std::string_view line, char delimiter);
// The fields of a line between runs of spaces and tabs; leading and trailing blanks are ignored.
std::vector<std::string_view> split_on_blanks(std::string_view line);

// A whole number >= 0 written in decimal digits only, or nothing.
std::optional<std::uint64_t> parse_whole_number(std::string_view text);
// A finite decimal number ("1000", "-2.5", "3e2"), or nothing.
std::optional<double> parse_real(std::string_view text);

}  // namespace gridfold
