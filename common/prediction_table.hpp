// The two ends of `gridfold predict` that need no network: reading the new samples the way
// the model's training data was read, and writing the predictions as a CSV.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/dataset.hpp"
#include "common/model_file.hpp"

namespace gridfold {

// The samples of `input`: FASTA records (.fa, .fasta, .fna, .faa), or a CSV/TSV table (.tsv,
// .tab: tab-separated) with the model's sequence or feature columns. Ids come from the FASTA
// headers or the model's id column, else they are row numbers from 1. Letters are checked
// against the model's alphabet; errors name the file and line (DataError).
Dataset read_prediction_input(const std::filesystem::path& input, const ModelFile& model);

// The rows `rows` of `samples` (ids, sequences, features; no targets), in that order: the
// chunks and subsets that predict runs its networks on.
Dataset select_samples(const Dataset& samples, const std::vector<std::size_t>& rows);

// Column `column` of the table `input` as text, one entry per data row; nullopt for FASTA
// input or a table without that column. `predict` reads the truth from it when it is there.
std::optional<std::vector<std::string>> read_input_column(const std::filesystem::path& input,
                                                          const std::string& column);

// The output columns for the model's targets after `id`: regression targets one value
// column, binary targets one probability column, multiclass targets a label column and one
// probability column per class (`<target>_prob_<class>`), per_position targets a column of
// class digits (`<target>`, one per position, as the training labels) and their boundary calls
// (`<target>_calls`, boundary_calls_text). With a filter model (`gridfold predict
// --filter-model`) two more: `<filter_target>_probability` and `passed`.
std::vector<std::string> prediction_columns(const ModelFile& model, const std::string& filter_target = "");

// How many network outputs per sample the targets take (1, or the number of classes; 0 for
// per_position targets, whose classes come as digit strings), in target order; the CSV reads
// `outputs` [sample][sum of widths] in this layout.
std::vector<std::size_t> output_widths(const ModelFile& model);

// The boundary calls in one sample's class digits (`0` background): `position:class` pairs,
// 0-based positions ascending, `;`-separated, class by its name in `classes` (the digit when
// the target names none); empty without calls.
std::string boundary_calls_text(const std::string& digits, const std::vector<std::string>& classes);

// The cascade's columns: the filter model's probability of its binary target per sample, and
// whether the sample passed (probability >= the threshold) to the boundary model.
struct FilterColumns {
  std::string target;
  std::vector<float> probability;
  std::vector<std::uint8_t> passed;
};

// The CSV text: one row per id; `outputs` are regression values in original units, binary
// probabilities, and per-class probabilities for multiclass targets; `position_classes`
// [per_position target, in target order][sample] the class digits of every position.
// Throws std::logic_error when the sizes disagree with the model's columns.
std::string prediction_csv(const ModelFile& model, const std::vector<std::string>& ids,
                           const std::vector<float>& outputs,
                           const std::vector<std::vector<std::string>>& position_classes = {},
                           const FilterColumns* filter = nullptr);

}  // namespace gridfold
