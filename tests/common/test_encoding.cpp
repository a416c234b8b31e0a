#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "common/dataset.hpp"
#include "common/encoding.hpp"

using namespace gridfold;

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// The one-hot of a sequence as [channel][position], for readable comparisons.
std::vector<std::vector<float>> one_hot_matrix(std::string_view sequence, Alphabet alphabet, std::size_t length) {
  const auto channels = static_cast<std::size_t>(alphabet_channels(alphabet));
  std::vector<float> flat(channels * length, -1.0f);
  one_hot(sequence, alphabet, flat, length);
  std::vector<std::vector<float>> matrix(channels);
  for (std::size_t c = 0; c < channels; ++c) {
    matrix[c].assign(flat.begin() + static_cast<std::ptrdiff_t>(c * length),
                     flat.begin() + static_cast<std::ptrdiff_t>((c + 1) * length));
  }
  return matrix;
}

std::vector<float> channel_column(const std::vector<std::vector<float>>& matrix, std::size_t position) {
  std::vector<float> column;
  for (const auto& channel : matrix) column.push_back(channel[position]);
  return column;
}

}  // namespace

TEST_CASE("nucleotide alphabets have 4 channels and protein 21", "[encoding]") {
  CHECK(alphabet_channels(Alphabet::dna) == 4);
  CHECK(alphabet_channels(Alphabet::rna) == 4);
  CHECK(alphabet_channels(Alphabet::protein) == 21);
  CHECK(alphabet_channels(Alphabet::none) == 0);
}

TEST_CASE("one-hot of ACGT puts each base in its own channel, channels first", "[encoding]") {
  const auto matrix = one_hot_matrix("ACGT", Alphabet::dna, 4);
  CHECK(matrix == std::vector<std::vector<float>>{{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}});
}

TEST_CASE("lowercase letters encode like uppercase", "[encoding]") {
  CHECK(one_hot_matrix("acgtn", Alphabet::dna, 5) == one_hot_matrix("ACGTN", Alphabet::dna, 5));
  CHECK(one_hot_matrix("mkwy", Alphabet::protein, 4) == one_hot_matrix("MKWY", Alphabet::protein, 4));
}

TEST_CASE("ambiguity codes spread their weight evenly over the bases they stand for", "[encoding]") {
  const auto matrix = one_hot_matrix("NRYB", Alphabet::dna, 4);
  CHECK(channel_column(matrix, 0) == std::vector<float>{0.25f, 0.25f, 0.25f, 0.25f});  // N = A C G T
  CHECK(channel_column(matrix, 1) == std::vector<float>{0.5f, 0.0f, 0.5f, 0.0f});      // R = A G
  CHECK(channel_column(matrix, 2) == std::vector<float>{0.0f, 0.5f, 0.0f, 0.5f});      // Y = C T
  const float third = 1.0f / 3.0f;
  CHECK(channel_column(matrix, 3) == std::vector<float>{0.0f, third, third, third});  // B = C G T
}

TEST_CASE("positions past the end of the sequence are zero padding", "[encoding]") {
  const auto matrix = one_hot_matrix("GA", Alphabet::dna, 5);
  CHECK(matrix == std::vector<std::vector<float>>{{0, 1, 0, 0, 0}, {0, 0, 0, 0, 0}, {1, 0, 0, 0, 0}, {0, 0, 0, 0, 0}});
}

TEST_CASE("RNA takes U where DNA takes T", "[encoding]") {
  CHECK(one_hot_matrix("ACGU", Alphabet::rna, 4) == one_hot_matrix("ACGT", Alphabet::dna, 4));
  CHECK(is_valid_letter('U', Alphabet::rna));
  CHECK_FALSE(is_valid_letter('T', Alphabet::rna));
  CHECK(is_valid_letter('t', Alphabet::dna));
  CHECK_FALSE(is_valid_letter('U', Alphabet::dna));
  CHECK_FALSE(is_valid_letter('-', Alphabet::dna));
}

TEST_CASE("protein letters use the order ACDEFGHIKLMNPQRSTVWY", "[encoding]") {
  const auto matrix = one_hot_matrix("ACWY", Alphabet::protein, 4);
  CHECK(matrix[0][0] == 1.0f);
  CHECK(matrix[1][1] == 1.0f);
  CHECK(matrix[18][2] == 1.0f);
  CHECK(matrix[19][3] == 1.0f);
  for (std::size_t position = 0; position < 4; ++position) {
    const auto column = channel_column(matrix, position);
    CHECK(std::accumulate(column.begin(), column.end(), 0.0f) == 1.0f);
  }
}

TEST_CASE("non-standard residues X B Z J U O share the protein unknown channel", "[encoding]") {
  const auto matrix = one_hot_matrix("XBZJUO", Alphabet::protein, 6);
  CHECK(matrix[20] == std::vector<float>(6, 1.0f));
  CHECK(matrix[0] == std::vector<float>(6, 0.0f));
}

TEST_CASE("stop and gap symbols are not protein letters", "[encoding]") {
  CHECK_FALSE(is_valid_letter('*', Alphabet::protein));
  CHECK_FALSE(is_valid_letter('-', Alphabet::protein));
  std::vector<float> out(21 * 3);
  CHECK_THROWS_AS(one_hot("AC*", Alphabet::protein, out, 3), DataError);
}

TEST_CASE("an invalid letter in one-hot is reported with its position and the valid letters", "[encoding]") {
  std::vector<float> out(4 * 4);
  CHECK_THROWS_WITH(one_hot("ACXG", Alphabet::dna, out, 4),
                    "letter 'X' at position 3 is not valid for alphabet dna "
                    "(valid: A C G T and IUPAC codes N R Y S W K M B D H V)");
}

TEST_CASE("one-hot rejects a sequence longer than the length or an output of the wrong size", "[encoding]") {
  std::vector<float> out(4 * 3);
  CHECK_THROWS_AS(one_hot("ACGT", Alphabet::dna, out, 3), std::invalid_argument);
  CHECK_THROWS_AS(one_hot("ACG", Alphabet::dna, out, 4), std::invalid_argument);
  CHECK_THROWS_AS(one_hot("ACG", Alphabet::none, out, 3), std::invalid_argument);
}

TEST_CASE("reverse complement maps IUPAC codes to their complements", "[encoding]") {
  // complements: A-T C-G R-Y K-M B-V D-H; N S W are their own complements
  CHECK(reverse_complement("ACGTRYKMBDHVNSW", Alphabet::dna) == "WSNBDHVKMRYACGT");
  CHECK(reverse_complement("AUGC", Alphabet::rna) == "GCAU");
}

TEST_CASE("reverse complement keeps each letter's case", "[encoding]") {
  CHECK(reverse_complement("aCgN", Alphabet::dna) == "NcGt");
}

TEST_CASE("reverse complement of a protein is an invalid request", "[encoding]") {
  CHECK_THROWS_AS(reverse_complement("ACDE", Alphabet::protein), std::invalid_argument);
  CHECK_THROWS_AS(reverse_complement("ACGU", Alphabet::dna), DataError);
}

TEST_CASE("encoding a batch pads to the longest sequence and keeps true lengths", "[encoding]") {
  const EncodedBatch batch = encode_sequences({"ACG", "T"}, Alphabet::dna);
  CHECK(batch.count == 2);
  CHECK(batch.channels == 4);
  CHECK(batch.length == 3);
  CHECK(batch.lengths == std::vector<std::int32_t>{3, 1});
  // [sample][channel][position]
  CHECK(batch.values == std::vector<float>{1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0,  //
                                           0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0});
}

TEST_CASE("encoding a batch to a fixed length pads every sequence to it", "[encoding]") {
  const EncodedBatch batch = encode_sequences({"AC", "G"}, Alphabet::dna, 6);
  CHECK(batch.length == 6);
  CHECK(batch.values.size() == 2 * 4 * 6);
  CHECK(batch.lengths == std::vector<std::int32_t>{2, 1});
}

TEST_CASE("a batch sequence longer than the fixed length is reported with its index", "[encoding]") {
  CHECK_THROWS_WITH(encode_sequences({"AC", "ACGTA"}, Alphabet::dna, 4),
                    "sequence 1 has length 5, longer than the encoding length 4");
}

TEST_CASE("an invalid letter in a batch is reported with the sequence index", "[encoding]") {
  CHECK_THROWS_WITH(encode_sequences({"ACGT", "AC?T"}, Alphabet::dna),
                    Catch::Contains("sequence 1: letter '?' at position 3"));
}

TEST_CASE("the standardizer fits mean and population std on the given rows only, ignoring NaN", "[encoding]") {
  // Rows 0..2 hold 1, 3 and a missing value: mean 2, population std 1. Row 3 (100) is
  // outside the fit set and must not move either.
  const std::vector<std::vector<float>> targets{{1.0f, 3.0f, kNaN, 100.0f}};
  const std::vector<std::uint32_t> rows{0, 1, 2};
  const Standardizer standardizer = Standardizer::fit(targets, rows);
  CHECK(standardizer.mean == std::vector<double>{2.0});
  CHECK(standardizer.scale == std::vector<double>{1.0});
  CHECK(standardizer.transform(0, 3.0f) == 1.0f);
  CHECK(standardizer.inverse(0, -1.0f) == 1.0f);
}

TEST_CASE("standardizing round-trips and keeps NaN", "[encoding]") {
  // values 2, 4, 4, 4, 5, 5, 7, 9: mean 5, population std 2 (the textbook example)
  const std::vector<std::vector<float>> targets{{2, 4, 4, 4, 5, 5, 7, 9}};
  const std::vector<std::uint32_t> rows{0, 1, 2, 3, 4, 5, 6, 7};
  const Standardizer standardizer = Standardizer::fit(targets, rows);
  CHECK(standardizer.mean[0] == Approx(5.0));
  CHECK(standardizer.scale[0] == Approx(2.0));
  CHECK(standardizer.transform(0, 9.0f) == Approx(2.0f));
  CHECK(standardizer.inverse(0, standardizer.transform(0, 7.0f)) == Approx(7.0f));
  CHECK(std::isnan(standardizer.transform(0, kNaN)));
  CHECK(std::isnan(standardizer.inverse(0, kNaN)));
}

TEST_CASE("a target without spread or with fewer than two values keeps scale 1", "[encoding]") {
  const std::vector<std::vector<float>> targets{{4, 4, 4}, {kNaN, 7, kNaN}, {kNaN, kNaN, kNaN}, {}};
  const std::vector<std::uint32_t> rows{0, 1, 2};
  const Standardizer standardizer = Standardizer::fit(targets, rows);
  CHECK(standardizer.mean == std::vector<double>{4.0, 7.0, 0.0, 0.0});
  CHECK(standardizer.scale == std::vector<double>{1.0, 1.0, 1.0, 1.0});
}
