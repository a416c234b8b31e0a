#include "orchestrator/prepare/expression_table.hpp"

#include <algorithm>
#include <limits>
#include <unordered_map>

#include <fmt/format.h>

#include "common/dataset.hpp"
#include "common/text_lines.hpp"

namespace gridfold {
namespace {

bool is_missing(const std::string& cell) {
  return cell.empty() || cell == "NA" || cell == "NaN" || cell == "nan";
}

}  // namespace

std::optional<std::size_t> ExpressionTable::sample_column(const std::string& sample) const {
  const auto found = std::find(samples.begin(), samples.end(), sample);
  if (found == samples.end()) return std::nullopt;
  return static_cast<std::size_t>(found - samples.begin());
}

ExpressionTable read_expression_table(const std::filesystem::path& file) {
  const TextTable table = read_table(file, '\t');
  if (table.header.size() < 2) {
    throw DataError(
        fmt::format("{}: the header has {} column(s); an expression table needs the gene id column "
                    "and one column per sample",
                    file.string(), table.header.size()));
  }
  ExpressionTable expression;
  expression.file = file;
  expression.samples.assign(table.header.begin() + 1, table.header.end());
  std::unordered_map<std::string, std::size_t> line_of_gene;
  for (std::size_t row = 0; row < table.rows.size(); ++row) {
    const auto& cells = table.rows[row];
    const std::size_t line = table.line_of_row[row];
    if (cells[0].empty()) throw DataError(fmt::format("{}:{}: the gene id (column 1) is empty", file.string(), line));
    if (const auto [first, inserted] = line_of_gene.emplace(cells[0], line); !inserted) {
      throw DataError(
          fmt::format("{}:{}: gene '{}' was already listed at line {}", file.string(), line, cells[0], first->second));
    }
    std::vector<double> values(expression.samples.size());
    for (std::size_t sample = 0; sample < values.size(); ++sample) {
      const std::string& cell = cells[sample + 1];
      if (is_missing(cell)) {
        values[sample] = std::numeric_limits<double>::quiet_NaN();
        continue;
      }
      const auto value = parse_real(cell);
      if (!value) {
        throw DataError(fmt::format("{}:{}: column '{}': '{}' is not a number (missing values are NA or empty)",
                                    file.string(), line, expression.samples[sample], cell));
      }
      values[sample] = *value;
    }
    expression.genes.push_back(cells[0]);
    expression.values.push_back(std::move(values));
  }
  if (expression.genes.empty()) throw DataError(fmt::format("{}: the table lists no genes", file.string()));
  return expression;
}

}  // namespace gridfold
