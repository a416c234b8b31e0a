// Gene expression per sample, read from a TSV: the first column holds gene ids, every other
// column is a sample named in the header line. Values are numbers; NA, NaN or an empty cell
// mark a missing value.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace gridfold {

struct ExpressionTable {
  std::filesystem::path file;
  std::vector<std::string> genes;           // file order, distinct
  std::vector<std::string> samples;         // header order, distinct
  std::vector<std::vector<double>> values;  // [gene][sample]; NaN marks a missing value
  std::optional<std::size_t> sample_column(const std::string& sample) const;  // index into samples
};

ExpressionTable read_expression_table(const std::filesystem::path& file);

}  // namespace gridfold
