// Content checksums of archive members: XXH64 (seed 0), the same value `xxhsum -H64` prints,
// fast enough (several GB/s) to check every byte that pack writes and every byte harvest reads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace gridfold {

std::uint64_t xxh64(std::span<const std::byte> data, std::uint64_t seed = 0);

// 16 lower-case hex digits, as written in archive indexes.
std::string checksum_hex(std::uint64_t checksum);

}  // namespace gridfold
