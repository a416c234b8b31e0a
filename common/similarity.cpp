#include "common/similarity.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>

#include "common/errors.hpp"

namespace gridfold {
namespace {

constexpr std::size_t kBins = MinHashSketches::kBins;

std::uint64_t mix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// 2-bit codes of A C G T/U (either case); 4 for every other letter.
constexpr std::array<std::uint8_t, 256> kNucleotideCode = [] {
  std::array<std::uint8_t, 256> t{};
  t.fill(4);
  t['A'] = t['a'] = 0;
  t['C'] = t['c'] = 1;
  t['G'] = t['g'] = 2;
  t['T'] = t['t'] = t['U'] = t['u'] = 3;
  return t;
}();

void check_k(int k) {
  if (k < 1 || k > 32) throw InternalError(fmt::format("k-mer length {} is outside 1 to 32", k));
}

// Calls emit(hash) for every k-mer of the sequence (repeats included).
template <typename Emit>
void for_each_kmer(std::string_view seq, Alphabet alphabet, int k, Emit&& emit) {
  check_k(k);
  const auto width = static_cast<std::size_t>(k);
  if (seq.size() < width) return;
  if (alphabet == Alphabet::dna || alphabet == Alphabet::rna) {
    // Forward and reverse-complement codes rolled along the sequence; a k-mer and its reverse
    // complement hash alike because the smaller code is hashed.
    const std::uint64_t mask = k == 32 ? ~0ull : (1ull << (2 * k)) - 1;
    const int top = 2 * (k - 1);
    std::uint64_t fwd = 0, rev = 0;
    std::size_t valid = 0;
    for (char c : seq) {
      const std::uint8_t code = kNucleotideCode[static_cast<unsigned char>(c)];
      if (code > 3) {
        valid = 0;
        continue;
      }
      fwd = ((fwd << 2) | code) & mask;
      rev = (rev >> 2) | (static_cast<std::uint64_t>(3 - code) << top);
      if (++valid >= width) emit(mix64(std::min(fwd, rev)));
    }
    return;
  }
  // Protein: FNV-1a of each window's upper-cased letters, mixed.
  for (std::size_t i = 0; i + width <= seq.size(); ++i) {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (std::size_t j = i; j < i + width; ++j) {
      const auto c = static_cast<unsigned char>(seq[j]);
      h = (h ^ static_cast<std::uint64_t>(c >= 'a' && c <= 'z' ? c - 32 : c)) * 0x100000001b3ull;
    }
    emit(mix64(h));
  }
}

// Union-find whose root is always the smallest member, so clusters do not depend on the order
// in which pairs are linked.
class UnionFind {
 public:
  explicit UnionFind(std::size_t n) : parent_(n) { std::iota(parent_.begin(), parent_.end(), 0u); }
  std::uint32_t find(std::uint32_t x) {
    while (parent_[x] != x) x = parent_[x] = parent_[parent_[x]];
    return x;
  }
  void unite(std::uint32_t a, std::uint32_t b) {
    a = find(a);
    b = find(b);
    if (a != b) parent_[std::max(a, b)] = std::min(a, b);
  }

 private:
  std::vector<std::uint32_t> parent_;
};

std::uint64_t band_key(std::span<const std::uint16_t> sketch, int band, int rows) {
  std::uint64_t h = mix64(static_cast<std::uint64_t>(band) + 1);
  for (int r = 0; r < rows; ++r) h = mix64(h ^ sketch[static_cast<std::size_t>(band * rows + r)]);
  return h;
}

struct Keyed {
  std::uint64_t key;
  std::uint32_t row;
  bool operator<(const Keyed& o) const { return key != o.key ? key < o.key : row < o.row; }
};

// The band's keys of the given rows (sequences without k-mers left out), sorted.
std::vector<Keyed> band_keys(const MinHashSketches& s, std::span<const std::uint32_t> rows, int band, int band_rows) {
  std::vector<Keyed> keyed;
  keyed.reserve(rows.size());
  for (std::uint32_t i : rows) {
    if (!s.empty[i]) keyed.push_back({band_key(s.of(i), band, band_rows), i});
  }
  std::sort(keyed.begin(), keyed.end());
  return keyed;
}

std::size_t agreeing_bins(const MinHashSketches& s, std::size_t i, std::size_t j) {
  const auto a = s.of(i), b = s.of(j);
  std::size_t same = 0;
  for (std::size_t k = 0; k < kBins; ++k) same += a[k] == b[k];
  return same;
}

// Which rows of the data a fold tests and trains on (the rest it leaves out), and for each
// test row the most bins it shares with a training row so far.
struct FoldRoles {
  enum : std::uint8_t { kOut = 0, kTest = 1, kTrain = 2 };
  std::vector<std::uint8_t> role;
  std::vector<std::uint8_t> best;
};

// The LSH candidate pairs of all folds at once: each band's keys are computed and sorted once
// for all rows, and each fold then looks only at the runs of rows that share a key.
void banded_best(const MinHashSketches& s, const LshBanding& banding, std::vector<FoldRoles>& folds) {
  if (folds.empty()) return;
  std::vector<std::uint32_t> all(s.count);
  std::iota(all.begin(), all.end(), 0u);
  std::vector<std::pair<std::size_t, std::size_t>> runs;
  for (int band = 0; band < banding.bands; ++band) {
    const std::vector<Keyed> keyed = band_keys(s, all, band, banding.rows);
    runs.clear();
    for (std::size_t first = 0; first < keyed.size();) {
      std::size_t last = first + 1;
      while (last < keyed.size() && keyed[last].key == keyed[first].key) ++last;
      if (last - first > 1) runs.emplace_back(first, last);
      first = last;
    }
    for (FoldRoles& fold : folds) {
      for (const auto& [first, last] : runs) {
        for (std::size_t a = first; a < last; ++a) {
          const std::uint32_t t = keyed[a].row;
          if (fold.role[t] != FoldRoles::kTest) continue;
          for (std::size_t b = first; b < last && fold.best[t] < kBins; ++b) {
            const std::uint32_t r = keyed[b].row;
            if (fold.role[r] != FoldRoles::kTrain) continue;
            fold.best[t] = std::max(fold.best[t], static_cast<std::uint8_t>(agreeing_bins(s, t, r)));
          }
        }
      }
    }
  }
}

// The bins each test row shares at most with a training row, by comparing all pairs when the
// fold has at most all_pairs_limit of them; otherwise zeros, and the fold's roles are appended
// to `banded` for banded_best to fill in.
std::vector<std::uint8_t> test_similarity_bins(const MinHashSketches& s, std::span<const std::uint32_t> test,
                                               std::span<const std::uint32_t> train, std::size_t all_pairs_limit,
                                               std::vector<FoldRoles>& banded) {
  std::vector<std::uint8_t> best(test.size(), 0);
  if (train.empty()) return best;
  if (test.size() > all_pairs_limit / train.size()) {
    FoldRoles& roles = banded.emplace_back();
    roles.role.assign(s.count, FoldRoles::kOut);
    roles.best.assign(s.count, 0);
    for (std::uint32_t i : test) roles.role[i] = FoldRoles::kTest;
    for (std::uint32_t i : train) roles.role[i] = FoldRoles::kTrain;
    return best;
  }
  for (std::size_t t = 0; t < test.size(); ++t) {
    if (s.empty[test[t]]) continue;
    for (std::uint32_t r : train) {
      if (!s.empty[r]) best[t] = std::max(best[t], static_cast<std::uint8_t>(agreeing_bins(s, test[t], r)));
      if (best[t] == kBins) break;
    }
  }
  return best;
}

std::vector<float> as_similarity(const std::vector<std::uint8_t>& bins) {
  std::vector<float> out(bins.size());
  for (std::size_t i = 0; i < bins.size(); ++i) out[i] = static_cast<float>(bins[i]) / static_cast<float>(kBins);
  return out;
}

}  // namespace

std::vector<std::uint64_t> kmer_hashes(std::string_view sequence, Alphabet alphabet, int k) {
  std::vector<std::uint64_t> out;
  for_each_kmer(sequence, alphabet, k, [&](std::uint64_t h) { out.push_back(h); });
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

double exact_jaccard(std::span<const std::uint64_t> a, std::span<const std::uint64_t> b) {
  std::size_t common = 0;
  for (std::size_t i = 0, j = 0; i < a.size() && j < b.size();) {
    if (a[i] < b[j]) {
      ++i;
    } else if (b[j] < a[i]) {
      ++j;
    } else {
      ++common, ++i, ++j;
    }
  }
  const std::size_t all = a.size() + b.size() - common;
  return all == 0 ? 0.0 : static_cast<double>(common) / static_cast<double>(all);
}

MinHashSketches minhash_sketches(const std::vector<std::string>& sequences, Alphabet alphabet, int k) {
  MinHashSketches s;
  s.count = sequences.size();
  s.bins.resize(s.count * kBins);
  s.empty.assign(s.count, false);
  constexpr std::uint64_t kNone = ~0ull;
  std::array<std::uint64_t, kBins> least{};
  for (std::size_t i = 0; i < s.count; ++i) {
    least.fill(kNone);
    // The top 7 bits choose the bin, the other 57 compete for its minimum.
    for_each_kmer(sequences[i], alphabet, k, [&](std::uint64_t h) {
      auto& bin = least[h >> 57];
      bin = std::min<std::uint64_t>(bin, h & ((std::uint64_t{1} << 57) - 1));
    });
    const auto filled = std::find_if(least.begin(), least.end(), [](std::uint64_t v) { return v != kNone; });
    if (filled == least.end()) {
      s.empty[i] = true;
      continue;
    }
    // Rotation densification: an empty bin takes the next filled bin's minimum, marked with the
    // distance, so that two sets borrow alike exactly when their nearby bins agree.
    std::uint16_t* out = s.bins.data() + i * kBins;
    for (std::size_t b = 0; b < kBins; ++b) {
      std::size_t d = 0;
      while (least[(b + d) % kBins] == kNone) ++d;
      out[b] = static_cast<std::uint16_t>(mix64(least[(b + d) % kBins] + d * 0x9e3779b97f4a7c15ull));
    }
  }
  return s;
}

double estimated_jaccard(const MinHashSketches& sketches, std::size_t i, std::size_t j) {
  if (sketches.empty[i] || sketches.empty[j]) return 0.0;
  return static_cast<double>(agreeing_bins(sketches, i, j)) / static_cast<double>(kBins);
}

LshBanding lsh_banding(double threshold) {
  LshBanding best;
  for (int rows = 1; rows <= static_cast<int>(kBins); ++rows) {
    const int bands = static_cast<int>(kBins) / rows;
    const double found = 1.0 - std::pow(1.0 - std::pow(threshold, rows), bands);
    if (found >= 0.995) best = {rows, bands};
  }
  return best;
}

SimilarityClusters cluster_by_similarity(const MinHashSketches& sketches, double threshold) {
  if (sketches.count > std::numeric_limits<std::uint32_t>::max()) {
    throw BadInputError(fmt::format("{} sequences exceed the 2^32 that similarity clusters index", sketches.count));
  }
  const LshBanding banding = lsh_banding(threshold);
  // Agreeing bins needed, so that the comparison is exact in integers.
  const auto needed = static_cast<std::size_t>(std::ceil(threshold * static_cast<double>(kBins) - 1e-9));
  std::vector<std::uint32_t> all(sketches.count);
  std::iota(all.begin(), all.end(), 0u);
  UnionFind links(sketches.count);
  for (int band = 0; band < banding.bands; ++band) {
    const std::vector<Keyed> keyed = band_keys(sketches, all, band, banding.rows);
    for (std::size_t first = 0; first < keyed.size();) {
      std::size_t last = first + 1;
      while (last < keyed.size() && keyed[last].key == keyed[first].key) ++last;
      for (std::size_t a = first; a < last; ++a) {
        for (std::size_t b = a + 1; b < last; ++b) {
          const std::uint32_t x = keyed[a].row, y = keyed[b].row;
          if (links.find(x) != links.find(y) && agreeing_bins(sketches, x, y) >= needed) links.unite(x, y);
        }
      }
      first = last;
    }
  }
  SimilarityClusters c;
  c.cluster_of.resize(sketches.count);
  for (std::uint32_t i = 0; i < sketches.count; ++i) {
    const std::uint32_t root = links.find(i);
    // Roots are the smallest members, so a root is met before the rest of its cluster.
    c.cluster_of[i] = root == i ? static_cast<std::uint32_t>(c.count++) : c.cluster_of[root];
  }
  return c;
}

std::vector<std::size_t> cluster_sizes(const SimilarityClusters& clusters) {
  std::vector<std::size_t> sizes(clusters.count);
  for (std::uint32_t c : clusters.cluster_of) ++sizes[c];
  return sizes;
}

std::vector<float> max_similarity_to(const MinHashSketches& sketches, const LshBanding& banding,
                                     std::span<const std::uint32_t> test, std::span<const std::uint32_t> train,
                                     std::size_t all_pairs_limit) {
  std::vector<FoldRoles> folds;
  std::vector<std::uint8_t> best = test_similarity_bins(sketches, test, train, all_pairs_limit, folds);
  if (!folds.empty()) {
    banded_best(sketches, banding, folds);
    for (std::size_t t = 0; t < test.size(); ++t) best[t] = folds[0].best[test[t]];
  }
  return as_similarity(best);
}

void add_test_similarity(ResamplingPlan& folds, const MinHashSketches& sketches, const LshBanding& banding) {
  // Every fold's test and training rows, outer folds first, each followed by its inner folds.
  std::vector<std::pair<std::span<const std::uint32_t>, std::vector<std::uint32_t>>> sets;
  for (std::size_t f = 0; f < folds.outer_count(); ++f) {
    sets.emplace_back(folds.outer_test[f], folds.outer_train(f));
    for (int j = 0; j < folds.inner_count; ++j) {
      sets.emplace_back(folds.inner_test_of(f, static_cast<std::size_t>(j)),
                        folds.inner_train(f, static_cast<std::size_t>(j)));
    }
  }
  // Small folds compare all pairs at once; the large ones share one banded pass over the data.
  std::vector<std::vector<std::uint8_t>> best(sets.size());
  std::vector<FoldRoles> large;
  std::vector<std::size_t> large_set;
  for (std::size_t i = 0; i < sets.size(); ++i) {
    const std::size_t before = large.size();
    best[i] = test_similarity_bins(sketches, sets[i].first, sets[i].second, kSimilarityAllPairsLimit, large);
    if (large.size() > before) large_set.push_back(i);
  }
  banded_best(sketches, banding, large);
  for (std::size_t l = 0; l < large.size(); ++l) {
    const auto test = sets[large_set[l]].first;
    for (std::size_t t = 0; t < test.size(); ++t) best[large_set[l]][t] = large[l].best[test[t]];
  }
  folds.outer_similarity.clear();
  folds.inner_similarity.clear();
  const auto inner = static_cast<std::size_t>(folds.inner_count);
  for (std::size_t i = 0; i < sets.size(); ++i) {
    const std::vector<float> values = as_similarity(best[i]);
    auto& out = i % (inner + 1) == 0 ? folds.outer_similarity : folds.inner_similarity;
    out.insert(out.end(), values.begin(), values.end());
  }
}

}  // namespace gridfold
