#include "common/dataset.hpp"

#include <algorithm>
#include <cctype>
#include <limits>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/encoding.hpp"
#include "common/position_labels.hpp"
#include "common/text_file.hpp"
#include "common/text_lines.hpp"
#include "common/text_match.hpp"

namespace gridfold {
namespace {

constexpr float kMissing = std::numeric_limits<float>::quiet_NaN();
// Row index of a sample that has no row in the table (a FASTA record without labels).
constexpr std::size_t kNoRow = std::numeric_limits<std::size_t>::max();

// Trims the column names and rejects a name given twice, which column() could not tell apart.
void trim_and_check_header(TextTable& table, std::size_t line) {
  for (auto& name : table.header) name = std::string(trim(name));
  for (std::size_t i = 0; i < table.header.size(); ++i) {
    const std::string& name = table.header[i];
    if (name.empty()) continue;  // pandas writes an unnamed index column; it is never looked up
    const auto first = std::find(table.header.begin(), table.header.end(), name);
    if (first != table.header.begin() + static_cast<std::ptrdiff_t>(i)) {
      throw DataError(fmt::format("{}:{}: column '{}' appears twice in the header (columns {} and {})",
                                  table.file.string(), line, name, first - table.header.begin() + 1, i + 1));
    }
  }
}

// --- cell parsing -------------------------------------------------------------------------

bool is_missing(std::string_view cell) {
  return cell.empty() || cell == "NA" || cell == "NaN" || cell == "nan";
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
  });
}

// Where a sample's cell is, for messages: "file:line: column 'name'".
struct CellPlace {
  const TextTable& table;
  std::size_t row;
  std::string_view column;
  std::string str() const {
    return fmt::format("{}:{}: column '{}'", table.file.string(), table.line_of_row[row], column);
  }
};

float parse_regression(std::string_view cell, const CellPlace& place) {
  if (is_missing(cell)) return kMissing;
  if (const auto value = parse_float(cell)) return *value;
  throw DataError(fmt::format("{}: '{}' is not a number (empty, NA or NaN mark a missing value)", place.str(), cell));
}

float parse_binary(std::string_view cell, const CellPlace& place) {
  if (is_missing(cell)) return kMissing;
  if (equals_ignoring_case(cell, "true")) return 1.0f;
  if (equals_ignoring_case(cell, "false")) return 0.0f;
  // Numbers, not just "0" and "1": pandas writes a 0/1 column holding missing values as 0.0/1.0.
  if (const auto value = parse_float(cell); value && (*value == 0.0f || *value == 1.0f)) return *value;
  throw DataError(
      fmt::format("{}: '{}' is not a binary label (valid: 0, 1, true, false; empty, NA or NaN mark a missing value)",
                  place.str(), cell));
}

// --- samples and their rows ---------------------------------------------------------------

// The table holding a dataset's columns and each sample's row in it (kNoRow: none).
struct SampleRows {
  const TextTable& table;
  std::vector<std::size_t> row_of_sample;
};

// Each sample's trimmed cell of `column`; samples without a row get an empty cell.
std::vector<std::string_view> column_cells(const SampleRows& rows, std::size_t column) {
  std::vector<std::string_view> cells;
  cells.reserve(rows.row_of_sample.size());
  for (const std::size_t row : rows.row_of_sample) {
    cells.push_back(row == kNoRow ? std::string_view{} : trim(rows.table.rows[row][column]));
  }
  return cells;
}

template <typename Parse>
std::vector<float> parse_column(const SampleRows& rows, const std::string& name, Parse parse) {
  const std::size_t column = rows.table.column(name);
  const auto cells = column_cells(rows, column);
  std::vector<float> values(cells.size());
  for (std::size_t sample = 0; sample < cells.size(); ++sample) {
    values[sample] = parse(cells[sample], CellPlace{rows.table, rows.row_of_sample[sample], name});
  }
  return values;
}

// Numeric labels sort as numbers ("2" before "10"); any other label set sorts as text.
void sort_labels(std::vector<std::string>& labels) {
  const bool numeric = std::all_of(labels.begin(), labels.end(),
                                   [](const std::string& label) { return parse_float(label).has_value(); });
  if (numeric) {
    std::sort(labels.begin(), labels.end(),
              [](const std::string& a, const std::string& b) { return *parse_float(a) < *parse_float(b); });
  } else {
    std::sort(labels.begin(), labels.end());
  }
}

std::vector<std::string> distinct_labels(const std::vector<std::string_view>& cells) {
  std::unordered_set<std::string_view> distinct;
  for (const std::string_view cell : cells) {
    if (!is_missing(cell)) distinct.insert(cell);
  }
  std::vector<std::string> labels(distinct.begin(), distinct.end());
  sort_labels(labels);
  return labels;
}

std::vector<float> parse_multiclass(const SampleRows& rows, const TargetSpec& target,
                                    std::vector<std::string>& classes) {
  const auto cells = column_cells(rows, rows.table.column(target.name));
  classes = target.classes.empty() ? distinct_labels(cells) : target.classes;
  std::unordered_map<std::string_view, float> index_of_label;
  for (std::size_t index = 0; index < classes.size(); ++index) {
    index_of_label.emplace(classes[index], static_cast<float>(index));
  }
  std::vector<float> values(cells.size(), kMissing);
  for (std::size_t sample = 0; sample < cells.size(); ++sample) {
    if (is_missing(cells[sample])) continue;
    const auto found = index_of_label.find(cells[sample]);
    if (found == index_of_label.end()) {
      const CellPlace place{rows.table, rows.row_of_sample[sample], target.name};
      throw DataError(fmt::format("{}: '{}' is not one of the classes (valid: {})", place.str(), cells[sample],
                                  fmt::join(classes, ", ")));
    }
    values[sample] = found->second;
  }
  return values;
}

std::vector<std::string> parse_position_labels(const SampleRows& rows, const TargetSpec& target,
                                               const std::vector<std::string>& sequences) {
  if (sequences.empty()) {
    throw DataError(fmt::format("{}: per_position target '{}' needs sequences, but the data has none",
                                rows.table.file.string(), target.name));
  }
  const auto cells = column_cells(rows, rows.table.column(target.name));
  std::vector<std::string> labels(cells.size());
  for (std::size_t sample = 0; sample < cells.size(); ++sample) {
    const std::string_view cell = cells[sample];
    if (is_missing(cell)) continue;
    const CellPlace place{rows.table, rows.row_of_sample[sample], target.name};
    // '.' marks a position that is only context (a window's flank): read, never scored.
    if (const auto letter = std::find_if(cell.begin(), cell.end(),
                                         [](char c) { return (c < '0' || c > '9') && c != kUnlabelledPosition; });
        letter != cell.end()) {
      throw DataError(
          fmt::format("{}: character '{}' at position {} is not a digit or '.' (per-position labels "
                      "hold one class digit per sequence letter, '.' where a position has no label)",
                      place.str(), *letter, letter - cell.begin() + 1));
    }
    if (cell.size() != sequences[sample].size()) {
      throw DataError(fmt::format("{}: the label has {} positions but the sequence has {} letters", place.str(),
                                  cell.size(), sequences[sample].size()));
    }
    labels[sample] = std::string(cell);
  }
  return labels;
}

void load_targets(const std::vector<TargetSpec>& targets, const SampleRows& rows, Dataset& dataset) {
  for (const TargetSpec& target : targets) {
    dataset.target_names.push_back(target.name);
    dataset.targets.emplace_back();
    dataset.position_labels.emplace_back();
    dataset.classes.emplace_back();
    switch (target.task) {
      case TaskType::regression:
        dataset.targets.back() = parse_column(rows, target.name, parse_regression);
        break;
      case TaskType::binary:
        dataset.targets.back() = parse_column(rows, target.name, parse_binary);
        break;
      case TaskType::multiclass:
        dataset.targets.back() = parse_multiclass(rows, target, dataset.classes.back());
        break;
      case TaskType::per_position:
        dataset.position_labels.back() = parse_position_labels(rows, target, dataset.sequences);
        break;
    }
  }
}

void load_features(const std::vector<std::string>& names, const SampleRows& rows, const std::vector<std::string>& ids,
                   Dataset& dataset) {
  dataset.feature_count = names.size();
  dataset.features.resize(rows.row_of_sample.size() * names.size());
  for (std::size_t feature = 0; feature < names.size(); ++feature) {
    const auto cells = column_cells(rows, rows.table.column(names[feature]));
    for (std::size_t sample = 0; sample < cells.size(); ++sample) {
      const std::size_t row = rows.row_of_sample[sample];
      if (row == kNoRow) {
        throw DataError(fmt::format("{}: sample '{}' has no row, so its feature '{}' is unknown",
                                    rows.table.file.string(), ids[sample], names[feature]));
      }
      const CellPlace place{rows.table, row, names[feature]};
      const auto value = parse_float(cells[sample]);
      if (!value) {
        throw DataError(
            fmt::format("{}: '{}' is not a number (feature values cannot be missing)", place.str(), cells[sample]));
      }
      dataset.features[sample * names.size() + feature] = *value;
    }
  }
}

void load_extra_columns(const std::vector<std::string>& names, const SampleRows& rows, Dataset& dataset) {
  for (const std::string& name : names) {
    const auto cells = column_cells(rows, rows.table.column(name));
    dataset.extra_names.push_back(name);
    dataset.extra.emplace_back(cells.begin(), cells.end());
  }
}

// --- sequences and ids --------------------------------------------------------------------

// The sequence uppercased and checked letter by letter; `place` says where it came from.
std::string checked_sequence(std::string_view raw, Alphabet alphabet, const auto& place) {
  std::string sequence(trim(raw));
  if (sequence.empty()) throw DataError(fmt::format("{}: the sequence is empty", place()));
  for (std::size_t position = 0; position < sequence.size(); ++position) {
    char& letter = sequence[position];
    if (letter >= 'a' && letter <= 'z') letter = static_cast<char>(letter - 'a' + 'A');
    if (!is_valid_letter(letter, alphabet)) {
      throw DataError(fmt::format("{}: letter '{}' at position {} is not valid for alphabet {} (valid: {})", place(),
                                  letter, position + 1, to_string(alphabet), describe_valid_letters(alphabet)));
    }
  }
  return sequence;
}

void require_letters(const DataSpec& spec) {
  if (spec.alphabet == Alphabet::none) {
    throw DataError(
        fmt::format("{}: data.alphabet is none but the data has sequences; set it to dna, rna or protein "
                    "(or leave data.sequence_column empty for feature data)",
                    spec.path.string()));
  }
}

std::vector<std::string> table_sequences(const DataSpec& spec, const TextTable& table) {
  require_letters(spec);
  const std::size_t column = table.column(spec.sequence_column);
  std::vector<std::string> sequences;
  sequences.reserve(table.rows.size());
  for (std::size_t row = 0; row < table.rows.size(); ++row) {
    const CellPlace place{table, row, spec.sequence_column};
    sequences.push_back(checked_sequence(table.rows[row][column], spec.alphabet, [&] { return place.str(); }));
  }
  return sequences;
}

std::vector<std::string> table_ids(const TextTable& table, const std::string& id_column) {
  std::vector<std::string> ids;
  ids.reserve(table.rows.size());
  if (id_column.empty()) {
    for (std::size_t row = 0; row < table.rows.size(); ++row) ids.push_back(std::to_string(row + 1));
    return ids;
  }
  // Ids name samples in predictions and splits, so they must be present and unique.
  const std::size_t column = table.column(id_column);
  std::unordered_map<std::string_view, std::size_t> first_row_of_id;
  first_row_of_id.reserve(table.rows.size());
  for (std::size_t row = 0; row < table.rows.size(); ++row) {
    const std::string_view id = trim(table.rows[row][column]);
    const CellPlace place{table, row, id_column};
    if (id.empty()) throw DataError(fmt::format("{}: the id is empty", place.str()));
    const auto [first, inserted] = first_row_of_id.emplace(id, row);
    if (!inserted) {
      throw DataError(
          fmt::format("{}: id '{}' was already used at line {}", place.str(), id, table.line_of_row[first->second]));
    }
    ids.emplace_back(id);
  }
  return ids;
}

void require_samples(const std::filesystem::path& file, std::size_t count) {
  if (count == 0) throw DataError(fmt::format("{}: the data holds no samples", file.string()));
}

Dataset load_table_dataset(const DataSpec& spec, const TextTable& table,
                           const std::vector<std::string>& extra_columns) {
  require_samples(spec.path, table.rows.size());
  Dataset dataset;
  dataset.ids = table_ids(table, spec.id_column);
  if (!spec.sequence_column.empty()) dataset.sequences = table_sequences(spec, table);
  SampleRows rows{table, std::vector<std::size_t>(table.rows.size())};
  for (std::size_t row = 0; row < table.rows.size(); ++row) rows.row_of_sample[row] = row;
  load_features(spec.feature_columns, rows, dataset.ids, dataset);
  load_targets(spec.targets, rows, dataset);
  load_extra_columns(extra_columns, rows, dataset);
  return dataset;
}

char delimiter_for(const std::filesystem::path& file) {
  const std::string extension = file.extension().string();
  return (extension == ".tsv" || extension == ".tab") ? '\t' : ',';
}

// Each record's row in the labels table, matched on the key column; kNoRow when it has none.
std::vector<std::size_t> rows_of_records(const std::vector<FastaRecord>& records, const TextTable& labels,
                                         const std::string& id_column, const std::filesystem::path& fasta) {
  const std::size_t key = id_column.empty() ? 0 : labels.column(id_column);
  const std::string& key_name = labels.header.at(key);
  std::unordered_map<std::string_view, std::size_t> row_of_id;
  row_of_id.reserve(labels.rows.size());
  for (std::size_t row = 0; row < labels.rows.size(); ++row) {
    const std::string_view id = trim(labels.rows[row][key]);
    if (id.empty()) continue;  // matches no record: FASTA ids are never empty
    const auto [first, inserted] = row_of_id.emplace(id, row);
    if (!inserted) {
      throw DataError(fmt::format("{}: id '{}' is labelled twice (also at line {})",
                                  CellPlace{labels, row, key_name}.str(), id, labels.line_of_row[first->second]));
    }
  }
  std::vector<std::size_t> rows(records.size(), kNoRow);
  for (std::size_t sample = 0; sample < records.size(); ++sample) {
    if (const auto found = row_of_id.find(records[sample].id); found != row_of_id.end()) rows[sample] = found->second;
  }
  if (std::all_of(rows.begin(), rows.end(), [](std::size_t row) { return row == kNoRow; })) {
    throw DataError(
        fmt::format("{}: no id in column '{}' matches a record of {} (first record id: '{}'); set data.id_column to "
                    "the labels column holding the FASTA ids",
                    labels.file.string(), key_name, fasta.string(), records.front().id));
  }
  return rows;
}

Dataset load_fasta_dataset(const DataSpec& spec, const std::vector<std::string>& extra_columns) {
  require_letters(spec);
  const std::vector<FastaRecord> records = read_fasta(spec.path);
  require_samples(spec.path, records.size());
  Dataset dataset;
  for (const FastaRecord& record : records) {
    dataset.ids.push_back(record.id);
    dataset.sequences.push_back(checked_sequence(record.sequence, spec.alphabet, [&] {
      return fmt::format("{}:{}: record '{}'", spec.path.string(), record.line, record.id);
    }));
  }
  const bool needs_labels = !spec.targets.empty() || !spec.feature_columns.empty() || !extra_columns.empty();
  if (!needs_labels) return dataset;
  if (spec.labels.empty()) {
    throw DataError(
        fmt::format("{}: FASTA data needs a labels table (data.labels) keyed by record id "
                    "for its targets, features and columns",
                    spec.path.string()));
  }
  const TextTable labels = read_table(spec.labels, delimiter_for(spec.labels));
  const SampleRows rows{labels, rows_of_records(records, labels, spec.id_column, spec.path)};
  load_features(spec.feature_columns, rows, dataset.ids, dataset);
  load_targets(spec.targets, rows, dataset);
  load_extra_columns(extra_columns, rows, dataset);
  return dataset;
}

}  // namespace

std::size_t TextTable::column(const std::string& name) const {
  const auto found = std::find(header.begin(), header.end(), name);
  if (found != header.end()) return static_cast<std::size_t>(found - header.begin());
  const auto suggestion = closest_match(name, header);
  throw DataError(fmt::format("{}: no column '{}'{}; the columns are: {}", file.string(), name,
                              suggestion ? fmt::format(" (did you mean '{}'?)", *suggestion) : "",
                              fmt::join(header, ", ")));
}

TextTable read_table(const std::filesystem::path& file, char delimiter) {
  const std::string text = read_text_file(file);
  TextTable table;
  table.file = file;
  DelimitedRecords reader(file, without_byte_order_mark(text), delimiter);
  std::size_t line = 0;
  if (!reader.next(table.header, line)) {
    throw DataError(fmt::format("{}: the file is empty; a header line naming the columns is required", file.string()));
  }
  trim_and_check_header(table, line);
  std::vector<std::string> cells;
  cells.reserve(table.header.size());
  while (reader.next(cells, line)) {
    if (cells.size() != table.header.size()) {
      throw DataError(fmt::format("{}:{}: the row has {} cells but the header has {} columns", file.string(), line,
                                  cells.size(), table.header.size()));
    }
    table.rows.push_back(std::move(cells));
    cells.reserve(table.header.size());
    table.line_of_row.push_back(line);
  }
  return table;
}

std::vector<FastaRecord> read_fasta(const std::filesystem::path& file) {
  const std::string file_text = read_text_file(file);
  const std::string_view text = without_byte_order_mark(file_text);
  std::vector<FastaRecord> records;
  std::unordered_map<std::string, std::size_t> header_line_of_id;
  std::size_t line_number = 0;
  for (std::size_t start = 0; start < text.size();) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    const std::string_view line = trim(text.substr(start, end - start));
    start = end + 1;
    ++line_number;
    if (line.empty()) continue;
    if (line.front() != '>') {
      if (records.empty()) {
        throw DataError(
            fmt::format("{}:{}: sequence text before the first '>' header line", file.string(), line_number));
      }
      std::copy_if(line.begin(), line.end(), std::back_inserter(records.back().sequence),
                   [](char c) { return c != ' ' && c != '\t'; });
      continue;
    }
    const std::string_view header = trim(line.substr(1));
    std::string id(header.substr(0, header.find_first_of(" \t")));
    if (id.empty()) throw DataError(fmt::format("{}:{}: the '>' header has no id", file.string(), line_number));
    const auto [first, inserted] = header_line_of_id.emplace(id, line_number);
    if (!inserted) {
      throw DataError(fmt::format("{}:{}: duplicate id '{}' (first used at line {})", file.string(), line_number, id,
                                  first->second));
    }
    records.push_back(FastaRecord{std::move(id), {}, line_number});
  }
  return records;
}

const std::vector<std::string>& Dataset::extra_column(const std::string& name) const {
  const auto found = std::find(extra_names.begin(), extra_names.end(), name);
  if (found == extra_names.end()) {
    throw std::out_of_range(
        fmt::format("column '{}' was not loaded; loaded columns: {}", name, fmt::join(extra_names, ", ")));
  }
  return extra[static_cast<std::size_t>(found - extra_names.begin())];
}

Dataset load_dataset(const DataSpec& spec, const std::vector<std::string>& extra_columns) {
  switch (spec.format) {
    case DataFormat::csv:
      return load_table_dataset(spec, read_table(spec.path, ','), extra_columns);
    case DataFormat::tsv:
      return load_table_dataset(spec, read_table(spec.path, '\t'), extra_columns);
    case DataFormat::fasta:
      return load_fasta_dataset(spec, extra_columns);
  }
  throw DataError(fmt::format("{}: unknown data format", spec.path.string()));
}

}  // namespace gridfold
