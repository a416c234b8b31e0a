// Reading text data: lines with their numbers (BED, GTF), delimited records with RFC 4180
// quoting (CSV and TSV tables), fields, blanks and numbers read strictly (no trailing text).
// Files that cannot be opened or read fail as common/text_file.hpp describes; invalid content
// is a DataError naming the file and line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/errors.hpp"
#include "common/text_file.hpp"

namespace gridfold {

// The user's data (a table, FASTA, BED or GTF file, a value in it) is invalid: bad input.
class DataError : public BadInputError {
 public:
  using BadInputError::BadInputError;
};

// Calls visit(line, number) for every line of the file, 1-based, without its line break (LF or
// CRLF). The file is streamed, never held whole. Throws UnreadableFileError when it cannot be
// opened, IoError when reading fails midway.
void for_each_line(const std::filesystem::path& file,
                   const std::function<void(std::string_view line, std::size_t number)>& visit);

// Walks delimited text record by record: cells between single delimiters, records ending at
// LF or CRLF, blank lines skipped. A cell that starts with a quote is quoted per RFC 4180: it
// runs to the next lone quote, "" stands for one quote, and delimiters and line breaks inside
// it are data. Cells are returned as written, untrimmed.
class DelimitedRecords {
 public:
  // `file` names the text in messages; `text` must outlive the reader.
  DelimitedRecords(std::filesystem::path file, std::string_view text, char delimiter);

  // Reads the next record into `cells` and the 1-based line it starts on into `line`; false at
  // the end of the text. Throws DataError (file:line) for a quoted cell that is never closed or
  // that is followed by text other than a delimiter or line break.
  bool next(std::vector<std::string>& cells, std::size_t& line);

 private:
  bool at_end() const { return pos_ >= text_.size(); }
  bool at(char c) const { return pos_ < text_.size() && text_[pos_] == c; }
  bool at_line_end() const;
  void end_line();
  std::string plain_cell();
  std::string quoted_cell();

  std::filesystem::path file_;
  std::string_view text_;
  char delimiter_;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;
};

// The text without leading and trailing spaces, tabs and line breaks.
std::string_view trim(std::string_view text);

// The fields of a line between single delimiters; "a\t\tb" has an empty middle field.
std::vector<std::string_view> split_fields(std::string_view line, char delimiter);
// The fields of a line between runs of spaces and tabs; leading and trailing blanks are ignored.
std::vector<std::string_view> split_on_blanks(std::string_view line);

// A whole number >= 0 written in decimal digits only, or nothing.
std::optional<std::uint64_t> parse_whole_number(std::string_view text);
// A finite decimal number ("1000", "-2.5", "+3e2"), or nothing.
std::optional<double> parse_real(std::string_view text);
// The same, rounded once to the nearest float; nothing when it is not finite as a float.
std::optional<float> parse_float(std::string_view text);

}  // namespace gridfold
