#include "common/text_lines.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <string>
#include <system_error>
#include <utility>

#include <fmt/format.h>

namespace gridfold {
namespace {

// A finite number of type T, with an optional leading '+' (which from_chars refuses).
template <typename T>
std::optional<T> parse_finite(std::string_view text) {
  if (text.size() > 1 && text.front() == '+' && text[1] != '-') text.remove_prefix(1);
  T value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc{} || end != text.data() + text.size() || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

}  // namespace

void for_each_line(const std::filesystem::path& file,
                   const std::function<void(std::string_view line, std::size_t number)>& visit) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    throw UnreadableFileError(fmt::format("{}: cannot open for reading: {}", file.string(), std::strerror(errno)));
  }
  std::error_code ignored;  // a failed check leaves the reading below to report the problem
  if (std::filesystem::is_directory(file, ignored)) {
    throw UnreadableFileError(fmt::format("{}: cannot open for reading: it is a directory", file.string()));
  }
  std::string line;
  std::size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    std::string_view text = line;
    if (text.ends_with('\r')) text.remove_suffix(1);
    visit(text, number);
  }
  if (in.bad()) {
    throw IoError(fmt::format("{}: read failed after line {}: {}", file.string(), number, std::strerror(errno)));
  }
}

DelimitedRecords::DelimitedRecords(std::filesystem::path file, std::string_view text, char delimiter)
    : file_(std::move(file)), text_(text), delimiter_(delimiter) {}

bool DelimitedRecords::next(std::vector<std::string>& cells, std::size_t& line) {
  while (!at_end() && at_line_end()) end_line();  // blank lines
  if (at_end()) return false;
  line = line_;
  cells.clear();
  while (true) {
    cells.push_back(at('"') ? quoted_cell() : plain_cell());
    if (at_end()) return true;
    if (at(delimiter_)) {
      ++pos_;
      continue;
    }
    end_line();
    return true;
  }
}

bool DelimitedRecords::at_line_end() const {
  return at('\n') || (at('\r') && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n');
}

void DelimitedRecords::end_line() {
  pos_ += at('\r') ? 2 : 1;
  ++line_;
}

std::string DelimitedRecords::plain_cell() {
  std::size_t end = pos_;
  while (end < text_.size() && text_[end] != delimiter_ && text_[end] != '\n') ++end;
  std::size_t cell_end = end;
  if (end < text_.size() && text_[end] == '\n' && cell_end > pos_ && text_[cell_end - 1] == '\r') --cell_end;
  std::string cell(text_.substr(pos_, cell_end - pos_));
  pos_ = cell_end;
  return cell;
}

std::string DelimitedRecords::quoted_cell() {
  const std::size_t opening_line = line_;
  ++pos_;
  std::string cell;
  while (true) {
    const std::size_t quote = text_.find('"', pos_);
    if (quote == std::string_view::npos) {
      throw DataError(
          fmt::format("{}:{}: a quoted cell is never closed (a quote inside a quoted cell must be doubled: \"\")",
                      file_.string(), opening_line));
    }
    const std::string_view piece = text_.substr(pos_, quote - pos_);
    line_ += static_cast<std::size_t>(std::count(piece.begin(), piece.end(), '\n'));
    cell.append(piece);
    pos_ = quote + 1;
    if (!at('"')) break;
    cell.push_back('"');
    ++pos_;
  }
  if (!at_end() && !at(delimiter_) && !at_line_end()) {
    throw DataError(
        fmt::format("{}:{}: unexpected '{}' after the closing quote of a cell; quote the whole cell and double "
                    "the quotes inside it",
                    file_.string(), line_, text_[pos_]));
  }
  return cell;
}

std::string_view trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n";
  const auto first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(kSpace) - first + 1);
}

std::vector<std::string_view> split_fields(std::string_view line, char delimiter) {
  std::vector<std::string_view> fields;
  while (true) {
    const auto end = line.find(delimiter);
    fields.push_back(line.substr(0, end));
    if (end == std::string_view::npos) return fields;
    line.remove_prefix(end + 1);
  }
}

std::vector<std::string_view> split_on_blanks(std::string_view line) {
  constexpr std::string_view kBlanks = " \t";
  std::vector<std::string_view> fields;
  for (auto start = line.find_first_not_of(kBlanks); start != std::string_view::npos;
       start = line.find_first_not_of(kBlanks, start)) {
    const auto end = std::min(line.find_first_of(kBlanks, start), line.size());
    fields.push_back(line.substr(start, end - start));
    start = end;
  }
  return fields;
}

std::optional<std::uint64_t> parse_whole_number(std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<double> parse_real(std::string_view text) {
  return parse_finite<double>(text);
}

std::optional<float> parse_float(std::string_view text) {
  return parse_finite<float>(text);
}

}  // namespace gridfold
