// Compression of one archive frame on its own, with libzstd or libarchive's gzip filter (an internal part
// of common/archive.hpp: the writer compresses frames, the readers decompress them).
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "common/spec.hpp"

namespace gridfold {

// Replaces `stored` with one complete zstd frame (level 3, 8 MiB window) or gzip member (level 6) holding
// `raw`, or `raw` itself for Compression::none. The output buffers are the caller's so that it
// can reuse them: fresh buffers of many MiB cost a page fault per 4 KiB.
void compress_frame(Compression compression, std::span<const std::byte> raw, std::vector<std::byte>& stored);

// The inverse, into `raw`; throws ArchiveError naming `what` unless the frame decompresses to
// exactly raw_size bytes.
void decompress_frame(Compression compression, std::span<const std::byte> stored, std::size_t raw_size,
                      const std::string& what, std::vector<std::byte>& raw);

}  // namespace gridfold
