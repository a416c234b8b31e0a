// The two ends of `gridfold predict` that need no network: reading the new samples the way
// the model's training data was read, and writing the predictions as a CSV.
#pragma once

#include <cstddef>
#include <filesystem>
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

// The output columns for the model's targets after `id`: regression targets one value
// column, binary targets one probability column, multiclass targets a label column and one
// probability column per class (`<target>_prob_<class>`). Per-position targets have none.
std::vector<std::string> prediction_columns(const ModelFile& model);

// How many network outputs per sample the targets take (1, or the number of classes), in
// target order; the CSV reads `outputs` [sample][sum of widths] in this layout.
std::vector<std::size_t> output_widths(const ModelFile& model);

// The CSV text: one row per id; `outputs` are regression values in original units, binary
// probabilities, and per-class probabilities for multiclass targets.
std::string prediction_csv(const ModelFile& model, const std::vector<std::string>& ids,
                           const std::vector<float>& outputs);

}  // namespace gridfold
