// Sequence encodings shared by the worker and the tools: one-hot (channels first, as
// Conv1d expects), reverse complement, and target standardisation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/spec.hpp"

namespace gridfold {

// Channels per position: 4 for DNA/RNA (A C G T/U), 21 for protein (20 amino acids + unknown).
int alphabet_channels(Alphabet alphabet);

// Writes the one-hot encoding of `sequence` into `out` laid out [channel][position] with
// `length` positions; positions past the sequence stay zero (padding). Ambiguous nucleotide
// codes (N, R, Y, ...) spread their weight evenly over the bases they stand for. Throws
// DataError naming the position and letter when a letter is not valid for the alphabet.
void one_hot(std::string_view sequence, Alphabet alphabet, std::span<float> out, std::size_t length);

// A letter's validity, for readers that want to report file:line themselves.
bool is_valid_letter(char letter, Alphabet alphabet);
// The valid letters in words, for error messages: "A C G T and IUPAC codes N R Y S W K M B D H V".
std::string describe_valid_letters(Alphabet alphabet);

std::string reverse_complement(std::string_view sequence, Alphabet alphabet);

// All sequences encoded into one contiguous [count][channels][length] block; `length` 0
// pads to the longest sequence. `lengths` keeps each true length (the padding mask).
struct EncodedBatch {
  std::size_t count = 0, channels = 0, length = 0;
  std::vector<float> values;
  std::vector<std::int32_t> lengths;
};
EncodedBatch encode_sequences(const std::vector<std::string>& sequences, Alphabet alphabet, std::size_t length = 0);

// Per-target standardisation fitted on the training part of a fold only (missing values
// ignored); predictions are mapped back with inverse().
struct Standardizer {
  std::vector<double> mean, scale;  // scale 1 where a target has no spread
  static Standardizer fit(const std::vector<std::vector<float>>& targets, std::span<const std::uint32_t> rows);
  float transform(std::size_t target, float value) const;
  float inverse(std::size_t target, float value) const;
};

}  // namespace gridfold
