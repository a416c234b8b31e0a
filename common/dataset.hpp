// Reading experiment data into memory: sequence tables (CSV/TSV), FASTA with a labels
// table, and numeric feature matrices. Every rejected row is reported with file:line
// (DataError); a file that cannot be opened or read fails as common/text_file.hpp describes.
#pragma once

#include <cstddef>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/spec.hpp"
#include "common/text_lines.hpp"

namespace gridfold {

// A delimited text table kept as strings; `line_of_row[i]` is the 1-based file line of row i.
struct TextTable {
  std::filesystem::path file;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::vector<std::size_t> line_of_row;
  // Column index by name; throws DataError listing the available columns.
  std::size_t column(const std::string& name) const;
};

// Reads a CSV (RFC 4180 quoting) or TSV file with a header line; a leading UTF-8 byte order
// mark is dropped, and the header's names are trimmed.
TextTable read_table(const std::filesystem::path& file, char delimiter);

struct FastaRecord {
  std::string id;  // first word of the header line
  std::string sequence;
  std::size_t line = 0;  // line of the '>' header
};
std::vector<FastaRecord> read_fasta(const std::filesystem::path& file);

// The samples of an experiment, in file order. Targets are per target name, one value per
// sample: regression value, binary 0/1, multiclass class index; NaN marks a missing value.
struct Dataset {
  std::vector<std::string> ids;
  std::vector<std::string> sequences;  // empty for feature data
  std::size_t feature_count = 0;
  std::vector<float> features;  // size() x feature_count, row-major
  // targets, position_labels and classes are all indexed like target_names; each leaves
  // a target's entry empty when the target's task type does not use it.
  std::vector<std::string> target_names;
  std::vector<std::vector<float>> targets;  // [target][sample]; empty for per_position targets
  // per_position targets: one label string per sample, as long as its sequence, digits = class;
  // an empty string marks a missing label
  std::vector<std::vector<std::string>> position_labels;  // [target][sample]
  // multiclass targets: the label of each class index (the spec's classes, or the sorted
  // distinct labels when the spec lists none)
  std::vector<std::vector<std::string>> classes;  // [target]
  // Columns asked for by name (stratify_by, group_by), as text.
  std::vector<std::string> extra_names;
  std::vector<std::vector<std::string>> extra;  // [column][sample]

  std::size_t size() const { return ids.size(); }
  const std::vector<std::string>& extra_column(const std::string& name) const;
};

// Loads the data a spec describes, validating letters against the alphabet and numbers;
// `extra_columns` are kept as text (for stratification and grouping).
Dataset load_dataset(const DataSpec& spec, const std::vector<std::string>& extra_columns = {});

}  // namespace gridfold
