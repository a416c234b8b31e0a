// Sequence similarity for splits that do not leak: k-mer Jaccard similarity estimated by
// MinHash, candidate pairs by LSH banding, single-linkage clusters by union-find. The clusters
// are the groups of `resampling.group_by: {similarity: {kmer, threshold}}`, so that no cluster
// has members on both sides of a fold; each test sample's highest similarity to its fold's
// training part is kept with the plan and every result (docs/spec.md#similarity-groups).
//
// DNA and RNA k-mers are canonical (the smaller of a k-mer and its reverse complement), so a
// sequence and its reverse complement have similarity 1; protein k-mers are taken as written.
// Everything here is deterministic: the same sequences give the same sketches and clusters on
// every machine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/resampling.hpp"
#include "common/spec.hpp"

namespace gridfold {

// The distinct k-mers of `sequence` as 64-bit hashes, sorted. K-mers holding a letter other
// than A C G T/U (DNA/RNA: N and the IUPAC codes) are skipped; letters are case-insensitive.
// `k` from 1 to 32.
std::vector<std::uint64_t> kmer_hashes(std::string_view sequence, Alphabet alphabet, int k);

// |a ∩ b| / |a ∪ b| of two sorted sets; 0 when both are empty.
double exact_jaccard(std::span<const std::uint64_t> a, std::span<const std::uint64_t> b);

// One-permutation MinHash sketches: each k-mer hash falls into one of kBins bins, a bin keeps
// its smallest hash (16 bits of it), and empty bins borrow from the next filled one. Two
// sketches agree in a bin with probability close to the sets' Jaccard similarity.
struct MinHashSketches {
  static constexpr std::size_t kBins = 128;
  std::size_t count = 0;
  std::vector<std::uint16_t> bins;  // count x kBins
  std::vector<bool> empty;          // sequences with no k-mer: similar to nothing
  std::span<const std::uint16_t> of(std::size_t i) const { return {bins.data() + i * kBins, kBins}; }
};

MinHashSketches minhash_sketches(const std::vector<std::string>& sequences, Alphabet alphabet, int k);

// Estimated Jaccard similarity of sketches i and j: the fraction of bins that agree (0 when
// either sequence has no k-mer).
double estimated_jaccard(const MinHashSketches& sketches, std::size_t i, std::size_t j);

// LSH banding: the kBins bins cut into `bands` bands of `rows` bins; pairs that agree on a
// whole band are candidates. The rows are as many as keep the chance of finding a pair of
// similarity `threshold` at 99.5% or more, which keeps dissimilar candidates few.
struct LshBanding {
  int rows = 1, bands = 1;
};
LshBanding lsh_banding(double threshold);

struct SimilarityClusters {
  std::vector<std::uint32_t> cluster_of;  // per sequence; clusters numbered by their first sequence
  std::size_t count = 0;
};

// Single-linkage clusters: two sequences are linked when their estimated similarity reaches
// `threshold` (threshold in (0, 1]); a pair can be missed only if it agrees on no band
// (lsh_banding), so pairs at the threshold are linked with probability >= 99.5%.
SimilarityClusters cluster_by_similarity(const MinHashSketches& sketches, double threshold);

// The size of each cluster, by cluster number.
std::vector<std::size_t> cluster_sizes(const SimilarityClusters& clusters);

// Folds with more test x training pairs than this are searched for their most similar pairs
// by LSH banding only; smaller ones compare every pair.
inline constexpr std::size_t kSimilarityAllPairsLimit = std::size_t{1} << 22;

// For each row of `test`, its highest estimated similarity to any row of `train`. Folds with at
// most `all_pairs_limit` test x train pairs compare every pair; larger ones compare only the
// candidate pairs of `banding`, so a test row whose training neighbours all lie well below the
// banding's threshold may show less than its true highest similarity (0 when none is found).
std::vector<float> max_similarity_to(const MinHashSketches& sketches, const LshBanding& banding,
                                     std::span<const std::uint32_t> test, std::span<const std::uint32_t> train,
                                     std::size_t all_pairs_limit = kSimilarityAllPairsLimit);

// Fills folds.outer_similarity and folds.inner_similarity: every test row's max_similarity_to
// the training part of its fold (for inner folds, the inner training set). The folds too large
// for all pairs share one pass over the LSH bands.
void add_test_similarity(ResamplingPlan& folds, const MinHashSketches& sketches, const LshBanding& banding);

}  // namespace gridfold
