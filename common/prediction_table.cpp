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

std::vector<std::size_t> output_widths(const ModelFile& model) {
  std::vector<std::size_t> widths;
  for (const auto& t : model.targets) widths.push_back(t.task == TaskType::multiclass ? t.classes.size() : 1);
  return widths;
}

std::vector<std::string> prediction_columns(const ModelFile& model) {
  std::vector<std::string> columns{"id"};
  for (const auto& t : model.targets) {
    if (t.task == TaskType::per_position) continue;
    columns.push_back(t.name);
    if (t.task != TaskType::multiclass) continue;
    for (const auto& label : t.classes) columns.push_back(fmt::format("{}_prob_{}", t.name, label));
  }
  return columns;
}

std::string prediction_csv(const ModelFile& model, const std::vector<std::string>& ids,
                           const std::vector<float>& outputs) {
  const std::vector<std::size_t> widths = output_widths(model);
  std::size_t width = 0;
  for (std::size_t w : widths) width += w;
  if (outputs.size() != ids.size() * width) {
    throw std::logic_error(
        fmt::format("prediction_csv: {} outputs for {} samples of width {}", outputs.size(), ids.size(), width));
  }
  std::string text;
  const auto columns = prediction_columns(model);
  for (std::size_t c = 0; c < columns.size(); ++c) text += (c ? "," : "") + csv_field(columns[c]);
  text += '\n';
  for (std::size_t i = 0; i < ids.size(); ++i) {
    text += csv_field(ids[i]);
    std::size_t offset = i * width;
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
        case TaskType::per_position:
          break;
      }
    }
    text += '\n';
  }
  return text;
}

}  // namespace gridfold
