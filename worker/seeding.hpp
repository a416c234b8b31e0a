// Reproducible randomness for one task: independent random streams derived from the task's
// single seed, and a shuffle that orders rows the same way with every standard library, so
// that a task splits, initialises and batches identically on every cluster.
#pragma once

#include <cstdint>
#include <random>
#include <span>

namespace gridfold::worker {

// The random streams a training draws from. Each has its own seed, so that how much one
// stream consumes never shifts another.
enum class SeedStream : std::uint64_t {
  validation_split = 1,  // which training rows become the validation split
  weights = 2,           // the network's initial weights (and torch's generator after them)
  batch_order = 3,       // epoch order, crop starts, reverse-complement draws
  loss_balance = 4,      // the balanced draws the loss's class weights are fitted on
};

// The seed of `stream` for a task seeded with `seed` (splitmix64): the same pair gives the
// same seed everywhere, different streams give unrelated seeds.
std::uint64_t derive_seed(std::uint64_t seed, SeedStream stream);

// Fisher-Yates with modulo draws from `rng`. std::shuffle's algorithm differs between
// standard libraries; this one gives the same order for the same generator state everywhere.
void shuffle_in_place(std::span<std::uint32_t> values, std::mt19937_64& rng);
void shuffle_in_place(std::span<std::int64_t> values, std::mt19937_64& rng);

}  // namespace gridfold::worker
