#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <numeric>
#include <random>
#include <set>

#include "common/encoding.hpp"
#include "common/resampling.hpp"
#include "common/similarity.hpp"

using namespace gridfold;

namespace {

std::string random_dna(std::mt19937_64& rng, std::size_t length) {
  std::string s(length, 'A');
  for (char& c : s) c = "ACGT"[rng() % 4];
  return s;
}

// A copy with each base replaced by a different one with probability `rate`.
std::string mutated(std::mt19937_64& rng, std::string s, double rate) {
  std::uniform_real_distribution<double> u(0, 1);
  for (char& c : s) {
    if (u(rng) < rate) c = "ACGT"[(std::string_view("ACGT").find(c) + 1 + rng() % 3) % 4];
  }
  return s;
}

// `families` random sequences, each followed by `copies` relatives: mutated copies, every
// other one reverse-complemented. family[i] is the family of sequence i.
struct Planted {
  std::vector<std::string> sequences;
  std::vector<int> family;
};

Planted planted_families(int families, int copies, std::size_t length, double rate, std::uint64_t seed = 7) {
  std::mt19937_64 rng(seed);
  Planted p;
  for (int f = 0; f < families; ++f) {
    const std::string origin = random_dna(rng, length);
    p.sequences.push_back(origin);
    p.family.push_back(f);
    for (int c = 0; c < copies; ++c) {
      std::string copy = mutated(rng, origin, rate);
      p.sequences.push_back(c % 2 ? reverse_complement(copy, Alphabet::dna) : copy);
      p.family.push_back(f);
    }
  }
  return p;
}

// Whether two labellings partition the samples alike.
bool same_partition(const std::vector<std::uint32_t>& a, const std::vector<int>& b) {
  std::map<std::uint32_t, int> ab;
  std::map<int, std::uint32_t> ba;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ab.emplace(a[i], b[i]).first->second != b[i]) return false;
    if (ba.emplace(b[i], a[i]).first->second != a[i]) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("a DNA or RNA sequence and its reverse complement have the same canonical k-mers", "[similarity]") {
  std::mt19937_64 rng(1);
  const std::string seq = random_dna(rng, 300);
  for (int k : {1, 5, 16, 31, 32}) {
    INFO("k = " << k);
    const auto forward = kmer_hashes(seq, Alphabet::dna, k);
    CHECK(forward == kmer_hashes(reverse_complement(seq, Alphabet::dna), Alphabet::dna, k));
    CHECK_FALSE(forward.empty());
  }
  std::string rna = seq;
  std::replace(rna.begin(), rna.end(), 'T', 'u');
  CHECK(kmer_hashes(rna, Alphabet::rna, 8) == kmer_hashes(seq, Alphabet::dna, 8));
  CHECK(exact_jaccard(kmer_hashes(seq, Alphabet::dna, 8),
                      kmer_hashes(reverse_complement(seq, Alphabet::dna), Alphabet::dna, 8)) == 1.0);
}

TEST_CASE("protein k-mers are taken as written and k-mers across an ambiguous letter are skipped", "[similarity]") {
  CHECK(kmer_hashes("ACDEFGHIK", Alphabet::protein, 3) != kmer_hashes("KIHGFEDCA", Alphabet::protein, 3));
  CHECK(kmer_hashes("acdefghik", Alphabet::protein, 3) == kmer_hashes("ACDEFGHIK", Alphabet::protein, 3));
  CHECK(kmer_hashes("ACGTNNACGT", Alphabet::dna, 4) == kmer_hashes("ACGT", Alphabet::dna, 4));
  CHECK(kmer_hashes("ACG", Alphabet::dna, 4).empty());
}

TEST_CASE("MinHash estimates the exact k-mer Jaccard similarity", "[similarity]") {
  std::mt19937_64 rng(3);
  std::vector<std::string> seqs;
  for (double rate : {0.0, 0.01, 0.03, 0.06, 0.1, 0.2, 1.0}) {
    for (int rep = 0; rep < 6; ++rep) {
      const std::string a = random_dna(rng, 800);
      seqs.push_back(a);
      seqs.push_back(mutated(rng, a, rate));
    }
  }
  const MinHashSketches sketches = minhash_sketches(seqs, Alphabet::dna, 10);
  double total_error = 0;
  for (std::size_t i = 0; i < seqs.size(); i += 2) {
    const double exact =
        exact_jaccard(kmer_hashes(seqs[i], Alphabet::dna, 10), kmer_hashes(seqs[i + 1], Alphabet::dna, 10));
    const double estimate = estimated_jaccard(sketches, i, i + 1);
    INFO("pair " << i / 2 << ": exact " << exact << ", estimate " << estimate);
    CHECK(std::abs(estimate - exact) < 0.15);  // over 3 standard deviations at 128 bins
    total_error += std::abs(estimate - exact);
  }
  CHECK(total_error / static_cast<double>(seqs.size() / 2) < 0.04);
  CHECK(estimated_jaccard(sketches, 0, 1) == 1.0);  // rate 0: identical
}

TEST_CASE("LSH banding finds pairs at the threshold and keeps dissimilar candidates rare", "[similarity]") {
  for (double t : {0.2, 0.3, 0.5, 0.7, 0.9, 1.0}) {
    const LshBanding b = lsh_banding(t);
    INFO("threshold " << t << ": " << b.bands << " bands of " << b.rows << " rows");
    CHECK(b.rows * b.bands <= static_cast<int>(MinHashSketches::kBins));
    CHECK(1.0 - std::pow(1.0 - std::pow(t, b.rows), b.bands) >= 0.995);
  }
  CHECK(lsh_banding(1.0).bands == 1);
  CHECK(lsh_banding(0.5).rows > lsh_banding(0.3).rows);
}

TEST_CASE("clustering finds planted families of mutated copies and reverse complements", "[similarity]") {
  const Planted p = planted_families(40, 5, 300, 0.02);
  const MinHashSketches sketches = minhash_sketches(p.sequences, Alphabet::dna, 12);
  const SimilarityClusters clusters = cluster_by_similarity(sketches, 0.3);
  CHECK(clusters.count == 40);
  CHECK(same_partition(clusters.cluster_of, p.family));
  const auto sizes = cluster_sizes(clusters);
  CHECK(std::all_of(sizes.begin(), sizes.end(), [](std::size_t s) { return s == 6; }));

  // Threshold 1 links only sequences with equal k-mer sets: a sequence and its reverse complement.
  std::vector<std::string> pair = {p.sequences[0], reverse_complement(p.sequences[0], Alphabet::dna), p.sequences[2]};
  const SimilarityClusters exact = cluster_by_similarity(minhash_sketches(pair, Alphabet::dna, 12), 1.0);
  CHECK(exact.cluster_of == std::vector<std::uint32_t>{0, 0, 1});
}

TEST_CASE("clusters are numbered by their first sequence and do not depend on input order", "[similarity]") {
  const Planted p = planted_families(30, 3, 200, 0.03, 11);
  const SimilarityClusters a = cluster_by_similarity(minhash_sketches(p.sequences, Alphabet::dna, 10), 0.3);
  const SimilarityClusters b = cluster_by_similarity(minhash_sketches(p.sequences, Alphabet::dna, 10), 0.3);
  CHECK(a.cluster_of == b.cluster_of);
  std::uint32_t next = 0;
  for (std::uint32_t c : a.cluster_of) {
    CHECK(c <= next);
    if (c == next) ++next;
  }
  // Reversed input: the same partition, renumbered.
  std::vector<std::string> reversed(p.sequences.rbegin(), p.sequences.rend());
  const SimilarityClusters r = cluster_by_similarity(minhash_sketches(reversed, Alphabet::dna, 10), 0.3);
  std::vector<int> back(a.cluster_of.size());
  for (std::size_t i = 0; i < back.size(); ++i) back[i] = static_cast<int>(r.cluster_of[back.size() - 1 - i]);
  CHECK(same_partition(a.cluster_of, back));
}

TEST_CASE("a sequence without k-mers is a cluster of its own and similar to nothing", "[similarity]") {
  const std::vector<std::string> seqs{"ACG", "ACG", "NNNNNNNNNN"};
  const MinHashSketches s = minhash_sketches(seqs, Alphabet::dna, 5);
  CHECK(estimated_jaccard(s, 0, 1) == 0.0);
  CHECK(cluster_by_similarity(s, 0.5).count == 3);
}

TEST_CASE("grouped folds of similarity clusters never split a cluster and keep test samples dissimilar",
          "[similarity][resampling]") {
  const Planted p = planted_families(60, 4, 250, 0.02, 5);
  const MinHashSketches sketches = minhash_sketches(p.sequences, Alphabet::dna, 12);
  const SimilarityClusters clusters = cluster_by_similarity(sketches, 0.3);
  std::vector<std::string> groups;
  for (std::uint32_t c : clusters.cluster_of) groups.push_back(std::to_string(c));
  ResamplingSpec spec;
  spec.outer.k = 5;
  spec.inner = FoldScheme{FoldScheme::Kind::kfold, 3};
  ResamplingPlan grouped = make_resampling_plan(spec, p.sequences.size(), {}, groups);
  ResamplingPlan random = make_resampling_plan(spec, p.sequences.size());
  for (std::size_t f = 0; f < grouped.outer_count(); ++f) {
    std::set<std::uint32_t> test_clusters, train_clusters;
    for (auto i : grouped.outer_test[f]) test_clusters.insert(clusters.cluster_of[i]);
    for (auto i : grouped.outer_train(f)) train_clusters.insert(clusters.cluster_of[i]);
    for (auto c : test_clusters) CHECK(train_clusters.count(c) == 0);
  }
  add_test_similarity(grouped, sketches, lsh_banding(0.3));
  add_test_similarity(random, sketches, lsh_banding(0.3));
  REQUIRE(grouped.outer_similarity.size() == grouped.outer_test.indices.size());
  REQUIRE(grouped.inner_similarity.size() == grouped.inner_test.indices.size());
  CHECK(*std::max_element(grouped.outer_similarity.begin(), grouped.outer_similarity.end()) < 0.3f);
  CHECK(*std::max_element(grouped.inner_similarity.begin(), grouped.inner_similarity.end()) < 0.3f);
  // A random split leaves most test samples a relative in training.
  const auto near =
      std::count_if(random.outer_similarity.begin(), random.outer_similarity.end(), [](float s) { return s >= 0.3f; });
  CHECK(near > static_cast<long>(random.outer_similarity.size() * 9 / 10));
  // The values of one fold's tests come back by fold.
  const auto second = random.test_similarity(1, -1);
  CHECK(second.size() == random.outer_test[1].size());
  CHECK(random.test_similarity(2, 1).size() == random.inner_test_of(2, 1).size());
}

TEST_CASE("the highest similarity to training is the same from all pairs and from LSH candidates", "[similarity]") {
  const Planted p = planted_families(50, 3, 300, 0.02, 9);
  const MinHashSketches sketches = minhash_sketches(p.sequences, Alphabet::dna, 12);
  std::vector<std::uint32_t> test, train;
  for (std::uint32_t i = 0; i < p.sequences.size(); ++i) (i % 5 == 0 ? test : train).push_back(i);
  const LshBanding banding = lsh_banding(0.3);
  const auto all_pairs = max_similarity_to(sketches, banding, test, train);
  const auto candidates = max_similarity_to(sketches, banding, test, train, 0);
  REQUIRE(all_pairs.size() == test.size());
  for (std::size_t t = 0; t < test.size(); ++t) {
    INFO("test row " << test[t]);
    // Every test row has 3 relatives of which at least 2 are in training.
    CHECK(all_pairs[t] >= 0.3f);
    CHECK(candidates[t] == all_pairs[t]);
    float best = 0;
    for (auto r : train) best = std::max(best, static_cast<float>(estimated_jaccard(sketches, test[t], r)));
    CHECK(all_pairs[t] == best);
  }
  // A reverse complement in training is a perfect match.
  const std::vector<std::string> twin{p.sequences[0], reverse_complement(p.sequences[0], Alphabet::dna)};
  const std::vector<std::uint32_t> zero{0}, one{1};
  CHECK(max_similarity_to(minhash_sketches(twin, Alphabet::dna, 12), banding, zero, one)[0] == 1.0f);
}

TEST_CASE("folds too large for all pairs get their similarities from one banded pass", "[similarity][resampling]") {
  const Planted p = planted_families(1250, 3, 100, 0.01, 13);
  const MinHashSketches sketches = minhash_sketches(p.sequences, Alphabet::dna, 10);
  ResamplingSpec spec;
  spec.outer.k = 2;
  ResamplingPlan folds = make_resampling_plan(spec, p.sequences.size());
  REQUIRE(folds.outer_test[0].size() * folds.outer_train(0).size() > kSimilarityAllPairsLimit);
  const LshBanding banding = lsh_banding(0.5);
  add_test_similarity(folds, sketches, banding);
  std::size_t compared = 0;
  for (std::size_t f = 0; f < 2; ++f) {
    const auto banded = folds.test_similarity(f, -1);
    const auto train = folds.outer_train(f);
    const auto exact = max_similarity_to(sketches, banding, folds.outer_test[f], train, SIZE_MAX);
    REQUIRE(banded.size() == exact.size());
    for (std::size_t t = 0; t < exact.size(); ++t) {
      CHECK(banded[t] <= exact[t]);  // a banded search can only miss pairs
      if (exact[t] >= 0.6f) {
        CHECK(banded[t] == exact[t]);
        ++compared;
      }
    }
  }
  CHECK(compared > p.sequences.size() / 2);
}
