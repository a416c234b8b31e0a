#include "common/prediction_table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "common/csv_text.hpp"

namespace gridfold {
namespace {

bool is_fasta(const std::filesystem::path& file) {
  const std::string extension = file.extension().string();
  return extension == ".fa" || extension == ".fasta" || extension == ".fna" || extension == ".faa";
}

char delimiter_of(const std::filesystem::path& file) {
  const std::string extension = file.extension().string();
  return extension == ".tsv" || extension == ".tab" ? '\t' : ',';
}

std::string number(float value) {
  if (std::isnan(value)) return "";
  return fmt::format("{}", value);
}

}  // namespace

Dataset read_prediction_input(const std::filesystem::path& input, const ModelFile& model) {
  DataSpec spec;
  spec.path = input;
  spec.alphabet = model.alphabet;
  spec.sequence_column = model.sequence_column;
  spec.feature_columns = model.feature_columns;
  if (is_fasta(input)) {
    if (model.sequence_column.empty()) {
      throw DataError(
          fmt::format("{}: the model reads the feature columns {}, not sequences; give a CSV with "
                      "those columns",
                      input.string(), fmt::join(model.feature_columns, ", ")));
    }
    spec.format = DataFormat::fasta;
  } else {
    spec.format = delimiter_of(input) == '\t' ? DataFormat::tsv : DataFormat::csv;
    const TextTable table = read_table(input, delimiter_of(input));
    const auto& header = table.header;
    if (!model.id_column.empty() && std::find(header.begin(), header.end(), model.id_column) != header.end()) {
      spec.id_column = model.id_column;
    }
  }
  return load_dataset(spec);
}

Dataset select_samples(const Dataset& samples, const std::vector<std::size_t>& rows) {
  Dataset out;
  out.feature_count = samples.feature_count;
  for (const std::size_t r : rows) {
    out.ids.push_back(samples.ids.at(r));
    if (!samples.sequences.empty()) out.sequences.push_back(samples.sequences.at(r));
    const auto first = samples.features.begin() + static_cast<std::ptrdiff_t>(r * samples.feature_count);
    out.features.insert(out.features.end(), first, first + static_cast<std::ptrdiff_t>(samples.feature_count));
  }
  return out;
}

std::optional<std::vector<std::string>> read_input_column(const std::filesystem::path& input,
                                                          const std::string& column) {
  if (is_fasta(input)) return std::nullopt;
  const TextTable table = read_table(input, delimiter_of(input));
  const auto found = std::find(table.header.begin(), table.header.end(), column);
  if (found == table.header.end()) return std::nullopt;
  const auto index = static_cast<std::size_t>(found - table.header.begin());
  std::vector<std::string> values;
  values.reserve(table.rows.size());
  for (const auto& row : table.rows) values.push_back(index < row.size() ? row[index] : std::string());
  return values;
}

std::vector<std::size_t> output_widths(const ModelFile& model) {
  std::vector<std::size_t> widths;
  for (const auto& t : model.targets) {
    widths.push_back(t.task == TaskType::multiclass ? t.classes.size() : t.task == TaskType::per_position ? 0 : 1);
  }
  return widths;
}

std::vector<std::string> prediction_columns(const ModelFile& model, const std::string& filter_target) {
  std::vector<std::string> columns{"id"};
  for (const auto& t : model.targets) {
    columns.push_back(t.name);
    if (t.task == TaskType::per_position) columns.push_back(t.name + "_calls");
    if (t.task != TaskType::multiclass) continue;
    for (const auto& label : t.classes) columns.push_back(fmt::format("{}_prob_{}", t.name, label));
  }
  if (!filter_target.empty()) {
    columns.push_back(filter_target + "_probability");
    columns.push_back("passed");
  }
  return columns;
}

std::string boundary_calls_text(const std::string& digits, const std::vector<std::string>& classes) {
  std::string text;
  for (std::size_t p = 0; p < digits.size(); ++p) {
    if (digits[p] == '0') continue;
    const auto c = static_cast<std::size_t>(digits[p] - '0');
    if (!text.empty()) text += ';';
    text += fmt::format("{}:{}", p, c < classes.size() ? classes[c] : std::string(1, digits[p]));
  }
  return text;
}

std::string prediction_csv(const ModelFile& model, const std::vector<std::string>& ids,
                           const std::vector<float>& outputs,
                           const std::vector<std::vector<std::string>>& position_classes, const FilterColumns* filter) {
  const std::vector<std::size_t> widths = output_widths(model);
  std::size_t width = 0;
  for (std::size_t w : widths) width += w;
  if (outputs.size() != ids.size() * width) {
    throw std::logic_error(
        fmt::format("prediction_csv: {} outputs for {} samples of width {}", outputs.size(), ids.size(), width));
  }
  const auto per_position =
      static_cast<std::size_t>(std::count_if(model.targets.begin(), model.targets.end(),
                                             [](const ModelTarget& t) { return t.task == TaskType::per_position; }));
  if (position_classes.size() != per_position ||
      std::any_of(position_classes.begin(), position_classes.end(),
                  [&](const auto& column) { return column.size() != ids.size(); })) {
    throw std::logic_error(fmt::format("prediction_csv: {} per-position columns for {} per_position targets",
                                       position_classes.size(), per_position));
  }
  if (filter && (filter->probability.size() != ids.size() || filter->passed.size() != ids.size())) {
    throw std::logic_error("prediction_csv: the filter columns are not one value per sample");
  }
  std::string text;
  const auto columns = prediction_columns(model, filter ? filter->target : "");
  for (std::size_t c = 0; c < columns.size(); ++c) text += (c ? "," : "") + csv_field(columns[c]);
  text += '\n';
  for (std::size_t i = 0; i < ids.size(); ++i) {
    text += csv_field(ids[i]);
    std::size_t offset = i * width;
    std::size_t rank = 0;  // of the per_position target
    for (std::size_t t = 0; t < model.targets.size(); ++t) {
      const ModelTarget& target = model.targets[t];
      const float* values = outputs.data() + offset;
      offset += widths[t];
      switch (target.task) {
        case TaskType::regression:
        case TaskType::binary:
          text += ',' + number(values[0]);
          break;
        case TaskType::multiclass: {
          const auto best = std::max_element(values, values + widths[t]) - values;
          text += ',' + csv_field(target.classes[static_cast<std::size_t>(best)]);
          for (std::size_t k = 0; k < widths[t]; ++k) text += ',' + number(values[k]);
          break;
        }
        case TaskType::per_position: {
          const std::string& digits = position_classes[rank++][i];
          text += ',' + digits + ',' + csv_field(boundary_calls_text(digits, target.classes));
          break;
        }
      }
    }
    if (filter) text += fmt::format(",{},{}", number(filter->probability[i]), filter->passed[i] ? 1 : 0);
    text += '\n';
  }
  return text;
}

}  // namespace gridfold
