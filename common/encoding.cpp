#include "common/encoding.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

#include "common/dataset.hpp"

namespace gridfold {
namespace {

constexpr std::size_t kNucleotideChannels = 4;
constexpr std::size_t kProteinChannels = 21;

// What a letter sets in the one-hot: a bit per channel, each set channel getting `weight`.
// No bits means the letter is not valid for the alphabet.
struct LetterCode {
  std::uint32_t channels = 0;
  float weight = 0.0f;
};
// Indexed by the letter as unsigned char; upper- and lowercase both filled in.
using LetterTable = std::array<LetterCode, 256>;

constexpr char to_lower(char letter) {
  return static_cast<char>(letter - 'A' + 'a');
}

constexpr void set_letter(LetterTable& table, char upper, std::uint32_t channels) {
  const LetterCode code{channels, 1.0f / static_cast<float>(std::popcount(channels))};
  table[static_cast<unsigned char>(upper)] = code;
  table[static_cast<unsigned char>(to_lower(upper))] = code;
}

// Which of the four bases (A C G T/U, as bits 0..3) each IUPAC nucleotide code stands for.
// The last base is T for DNA and U for RNA, so its letter is not in the list.
struct NucleotideCode {
  char letter;
  std::uint32_t bases;
};
constexpr std::uint32_t kThymineOrUracil = 0b1000;
constexpr std::array<NucleotideCode, 14> kNucleotideCodes{{
    {'A', 0b0001},
    {'C', 0b0010},
    {'G', 0b0100},
    {'R', 0b0101},
    {'Y', 0b1010},
    {'S', 0b0110},
    {'W', 0b1001},
    {'K', 0b1100},
    {'M', 0b0011},
    {'B', 0b1110},
    {'D', 0b1101},
    {'H', 0b1011},
    {'V', 0b0111},
    {'N', 0b1111},
}};

constexpr LetterTable nucleotide_table(char thymine_or_uracil) {
  LetterTable table{};
  for (const auto& code : kNucleotideCodes) set_letter(table, code.letter, code.bases);
  set_letter(table, thymine_or_uracil, kThymineOrUracil);
  return table;
}

// Protein channel 20 takes the letters that are real but not one of the 20 standard amino
// acids: X (unknown), the ambiguity codes B (D/N), Z (E/Q) and J (I/L), and the rare
// residues U (selenocysteine) and O (pyrrolysine). One shared channel keeps the other 20 a
// pure one-hot and gives these letters, too rare to learn one channel each, somewhere to go.
// '*' (stop) and '-' (gap) are rejected: they are translation and alignment artefacts, not
// residues, and encoding them as "unknown" would hide them from the user.
constexpr std::string_view kAminoAcids = "ACDEFGHIKLMNPQRSTVWY";
constexpr std::string_view kNonStandardResidues = "XBZJUO";
constexpr std::uint32_t kUnknownResidueChannel = 20;

constexpr LetterTable protein_table() {
  LetterTable table{};
  for (std::uint32_t channel = 0; channel < kAminoAcids.size(); ++channel) {
    set_letter(table, kAminoAcids[channel], 1u << channel);
  }
  for (const char letter : kNonStandardResidues) set_letter(table, letter, 1u << kUnknownResidueChannel);
  return table;
}

constexpr LetterTable kDnaLetters = nucleotide_table('T');
constexpr LetterTable kRnaLetters = nucleotide_table('U');
constexpr LetterTable kProteinLetters = protein_table();
constexpr LetterTable kNoLetters{};

const LetterTable& letter_table(Alphabet alphabet) {
  switch (alphabet) {
    case Alphabet::dna:
      return kDnaLetters;
    case Alphabet::rna:
      return kRnaLetters;
    case Alphabet::protein:
      return kProteinLetters;
    case Alphabet::none:
      return kNoLetters;
  }
  throw std::invalid_argument("unknown alphabet");
}

LetterCode letter_code(char letter, const LetterTable& table) {
  return table[static_cast<unsigned char>(letter)];
}

bool is_nucleotide(Alphabet alphabet) {
  return alphabet == Alphabet::dna || alphabet == Alphabet::rna;
}

// Complementing swaps A<->T/U and C<->G, i.e. reverses the order of the four base bits.
constexpr std::uint32_t complement_bases(std::uint32_t bases) {
  return ((bases & 0b0001) << 3) | ((bases & 0b0010) << 1) | ((bases & 0b0100) >> 1) | ((bases & 0b1000) >> 3);
}

constexpr char letter_of_bases(std::uint32_t bases, char thymine_or_uracil) {
  if (bases == kThymineOrUracil) return thymine_or_uracil;
  for (const auto& code : kNucleotideCodes) {
    if (code.bases == bases) return code.letter;
  }
  return '\0';
}

// The complement of each letter, in the letter's case; '\0' for letters that are not valid.
using ComplementTable = std::array<char, 256>;

constexpr ComplementTable complement_table(char thymine_or_uracil) {
  ComplementTable table{};
  const auto set_complement = [&](char upper, std::uint32_t bases) {
    const char complement = letter_of_bases(complement_bases(bases), thymine_or_uracil);
    table[static_cast<unsigned char>(upper)] = complement;
    table[static_cast<unsigned char>(to_lower(upper))] = to_lower(complement);
  };
  for (const auto& code : kNucleotideCodes) set_complement(code.letter, code.bases);
  set_complement(thymine_or_uracil, kThymineOrUracil);
  return table;
}

constexpr ComplementTable kDnaComplements = complement_table('T');
constexpr ComplementTable kRnaComplements = complement_table('U');

void require_sequence_alphabet(Alphabet alphabet) {
  if (alphabet == Alphabet::none) {
    throw std::invalid_argument("alphabet none has no letters to encode (it is for feature data)");
  }
}

// The error for an invalid letter; `sequence_index` names the sequence within a batch.
DataError invalid_letter(std::string_view sequence, std::size_t position, Alphabet alphabet,
                         std::optional<std::size_t> sequence_index = std::nullopt) {
  return DataError(fmt::format("{}letter '{}' at position {} is not valid for alphabet {} (valid: {})",
                               sequence_index ? fmt::format("sequence {}: ", *sequence_index) : "", sequence[position],
                               position + 1, to_string(alphabet), describe_valid_letters(alphabet)));
}

// one_hot without the argument checks.
void write_one_hot(std::string_view sequence, Alphabet alphabet, std::span<float> out, std::size_t length,
                   std::optional<std::size_t> sequence_index = std::nullopt) {
  std::fill(out.begin(), out.end(), 0.0f);
  const LetterTable& table = letter_table(alphabet);
  for (std::size_t position = 0; position < sequence.size(); ++position) {
    const LetterCode code = letter_code(sequence[position], table);
    if (code.channels == 0) throw invalid_letter(sequence, position, alphabet, sequence_index);
    for (std::uint32_t bits = code.channels; bits != 0; bits &= bits - 1) {
      out[static_cast<std::size_t>(std::countr_zero(bits)) * length + position] = code.weight;
    }
  }
}

// Mean and population standard deviation of values[rows], NaN skipped; scale 1 without spread.
// Two passes in double: the one-pass formula loses digits when the mean is large.
std::pair<double, double> fit_mean_and_scale(const std::vector<float>& values, std::span<const std::uint32_t> rows) {
  // Per-position targets carry no scalar values; they get the identity mapping.
  if (values.empty()) return {0.0, 1.0};
  double sum = 0.0;
  std::size_t count = 0;
  for (const std::uint32_t row : rows) {
    const double value = values.at(row);
    if (std::isnan(value)) continue;
    sum += value;
    ++count;
  }
  const double mean = count > 0 ? sum / static_cast<double>(count) : 0.0;
  double squares = 0.0;
  for (const std::uint32_t row : rows) {
    const double value = values[row];
    if (!std::isnan(value)) squares += (value - mean) * (value - mean);
  }
  const double std_dev = count >= 2 ? std::sqrt(squares / static_cast<double>(count)) : 0.0;
  return {mean, std_dev > 0.0 ? std_dev : 1.0};
}

}  // namespace

int alphabet_channels(Alphabet alphabet) {
  switch (alphabet) {
    case Alphabet::dna:
    case Alphabet::rna:
      return static_cast<int>(kNucleotideChannels);
    case Alphabet::protein:
      return static_cast<int>(kProteinChannels);
    case Alphabet::none:
      return 0;
  }
  throw std::invalid_argument("unknown alphabet");
}

bool is_valid_letter(char letter, Alphabet alphabet) {
  return letter_code(letter, letter_table(alphabet)).channels != 0;
}

std::string describe_valid_letters(Alphabet alphabet) {
  switch (alphabet) {
    case Alphabet::dna:
      return "A C G T and IUPAC codes N R Y S W K M B D H V";
    case Alphabet::rna:
      return "A C G U and IUPAC codes N R Y S W K M B D H V";
    case Alphabet::protein:
      return "the 20 amino acids A C D E F G H I K L M N P Q R S T V W Y and X B Z J U O";
    case Alphabet::none:
      return "none: alphabet none is for feature data";
  }
  throw std::invalid_argument("unknown alphabet");
}

void one_hot(std::string_view sequence, Alphabet alphabet, std::span<float> out, std::size_t length) {
  require_sequence_alphabet(alphabet);
  if (sequence.size() > length) {
    throw std::invalid_argument(
        fmt::format("sequence of length {} does not fit the encoding length {}", sequence.size(), length));
  }
  const std::size_t needed = static_cast<std::size_t>(alphabet_channels(alphabet)) * length;
  if (out.size() != needed) {
    throw std::invalid_argument(fmt::format("one-hot output holds {} values; {} channels x {} positions need {}",
                                            out.size(), alphabet_channels(alphabet), length, needed));
  }
  write_one_hot(sequence, alphabet, out, length);
}

std::string reverse_complement(std::string_view sequence, Alphabet alphabet) {
  if (!is_nucleotide(alphabet)) {
    throw std::invalid_argument(
        fmt::format("reverse complement needs a dna or rna alphabet, not {}", to_string(alphabet)));
  }
  const ComplementTable& complements = alphabet == Alphabet::rna ? kRnaComplements : kDnaComplements;
  std::string result(sequence.size(), ' ');
  for (std::size_t position = 0; position < sequence.size(); ++position) {
    const char complement = complements[static_cast<unsigned char>(sequence[position])];
    if (complement == '\0') throw invalid_letter(sequence, position, alphabet);
    result[sequence.size() - 1 - position] = complement;
  }
  return result;
}

EncodedBatch encode_sequences(const std::vector<std::string>& sequences, Alphabet alphabet, std::size_t length) {
  require_sequence_alphabet(alphabet);
  EncodedBatch batch;
  batch.count = sequences.size();
  batch.channels = static_cast<std::size_t>(alphabet_channels(alphabet));
  batch.length = length;
  if (length == 0) {
    for (const auto& sequence : sequences) batch.length = std::max(batch.length, sequence.size());
  }
  batch.values.resize(batch.count * batch.channels * batch.length);
  batch.lengths.reserve(batch.count);
  const std::size_t stride = batch.channels * batch.length;
  for (std::size_t index = 0; index < sequences.size(); ++index) {
    const std::string& sequence = sequences[index];
    if (sequence.size() > batch.length) {
      throw std::invalid_argument(fmt::format("sequence {} has length {}, longer than the encoding length {}", index,
                                              sequence.size(), batch.length));
    }
    const std::span<float> block(batch.values.data() + index * stride, stride);
    write_one_hot(sequence, alphabet, block, batch.length, index);
    batch.lengths.push_back(static_cast<std::int32_t>(sequence.size()));
  }
  return batch;
}

Standardizer Standardizer::fit(const std::vector<std::vector<float>>& targets, std::span<const std::uint32_t> rows) {
  Standardizer standardizer;
  for (const auto& values : targets) {
    const auto [mean, scale] = fit_mean_and_scale(values, rows);
    standardizer.mean.push_back(mean);
    standardizer.scale.push_back(scale);
  }
  return standardizer;
}

float Standardizer::transform(std::size_t target, float value) const {
  return static_cast<float>((value - mean.at(target)) / scale.at(target));
}

float Standardizer::inverse(std::size_t target, float value) const {
  return static_cast<float>(value * scale.at(target) + mean.at(target));
}

}  // namespace gridfold
