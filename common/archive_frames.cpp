#include "common/archive_frames.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>
#include <zstd.h>
#include <zstd_errors.h>

#include <memory>
#include <stdexcept>

#include "common/archive.hpp"

namespace gridfold {
namespace {

using WriteHandle = std::unique_ptr<archive, decltype(&archive_write_free)>;
using ReadHandle = std::unique_ptr<archive, decltype(&archive_read_free)>;
using EntryHandle = std::unique_ptr<archive_entry, decltype(&archive_entry_free)>;

// libarchive failures while compressing are resource problems (memory), not bad input.
void check_write(archive* a, int status, const char* step) {
  if (status < ARCHIVE_WARN) {
    throw std::runtime_error(fmt::format("cannot compress an archive frame ({}): {}", step,
                                         archive_error_string(a) ? archive_error_string(a) : "unknown error"));
  }
}

// Level 3 as zstd's default, with an 8 MiB window instead of level 3's 2 MiB: results of one
// experiment resemble each other, and the wider window finds them ~10 % smaller at the same
// speed. Decoders accept windows up to 128 MiB without options, so plain `zstd -d` reads it.
constexpr int kZstdLevel = 3;
constexpr int kZstdWindowLog = 23;

// Contexts hold a few MiB of tables; one per thread, reused for every frame it compresses.
ZSTD_CCtx& compression_context() {
  thread_local const std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> context = [] {
    std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> c(ZSTD_createCCtx(), ZSTD_freeCCtx);
    if (!c || ZSTD_isError(ZSTD_CCtx_setParameter(c.get(), ZSTD_c_compressionLevel, kZstdLevel)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(c.get(), ZSTD_c_windowLog, kZstdWindowLog))) {
      throw std::runtime_error("cannot set up zstd compression (out of memory?)");
    }
    return c;
  }();
  return *context;
}

ZSTD_DCtx& decompression_context() {
  thread_local const std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> context(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (!context) throw std::runtime_error("cannot set up zstd decompression (out of memory?)");
  return *context;
}

void compress_zstd(std::span<const std::byte> raw, std::vector<std::byte>& stored) {
  stored.resize(ZSTD_compressBound(raw.size()));
  const std::size_t n = ZSTD_compress2(&compression_context(), stored.data(), stored.size(), raw.data(), raw.size());
  if (ZSTD_isError(n)) {
    throw std::runtime_error(fmt::format("cannot compress an archive frame: {}", ZSTD_getErrorName(n)));
  }
  stored.resize(n);
}

// One or more concatenated zstd frames must decompress to exactly raw_size bytes.
void decompress_zstd(std::span<const std::byte> stored, std::size_t raw_size, const std::string& what,
                     std::vector<std::byte>& raw) {
  // One byte of room beyond raw_size tells "longer than recorded" apart from "exactly".
  raw.resize(raw_size + 1);
  const std::size_t n =
      ZSTD_decompressDCtx(&decompression_context(), raw.data(), raw.size(), stored.data(), stored.size());
  if (ZSTD_isError(n)) {
    if (ZSTD_getErrorCode(n) == ZSTD_error_dstSize_tooSmall) {
      throw ArchiveError(fmt::format("{}: decompresses to more than the {} bytes its index records", what, raw_size));
    }
    throw ArchiveError(fmt::format("{}: cannot decompress: {}", what, ZSTD_getErrorName(n)));
  }
  if (n != raw_size) {
    throw ArchiveError(n > raw_size
                           ? fmt::format("{}: decompresses to more than the {} bytes its index records", what, raw_size)
                           : fmt::format("{}: decompresses to {} bytes, its index records {}", what, n, raw_size));
  }
  raw.resize(raw_size);
}

la_ssize_t append_output(archive*, void* out, const void* buffer, size_t length) {
  auto& bytes = *static_cast<std::vector<std::byte>*>(out);
  const auto* p = static_cast<const std::byte*>(buffer);
  bytes.insert(bytes.end(), p, p + length);
  return static_cast<la_ssize_t>(length);
}

}  // namespace

void compress_frame(Compression compression, std::span<const std::byte> raw, std::vector<std::byte>& stored) {
  stored.clear();
  if (compression == Compression::none) {
    stored.insert(stored.end(), raw.begin(), raw.end());
    return;
  }
  if (compression == Compression::zstd) {
    compress_zstd(raw, stored);
    return;
  }
  WriteHandle a(archive_write_new(), archive_write_free);
  check_write(a.get(), archive_write_add_filter_gzip(a.get()), "filter");
  // The raw format writes the data of its single entry and nothing else.
  check_write(a.get(), archive_write_set_format_raw(a.get()), "format");
  check_write(a.get(), archive_write_set_bytes_per_block(a.get(), 0), "block size");
  // Without a timestamp equal frames compress to equal bytes.
  check_write(a.get(), archive_write_set_filter_option(a.get(), "gzip", "timestamp", nullptr), "timestamp");
  check_write(a.get(), archive_write_open2(a.get(), &stored, nullptr, append_output, nullptr, nullptr), "open");
  EntryHandle entry(archive_entry_new(), archive_entry_free);
  archive_entry_set_filetype(entry.get(), AE_IFREG);
  archive_entry_set_size(entry.get(), static_cast<la_int64_t>(raw.size()));
  check_write(a.get(), archive_write_header(a.get(), entry.get()), "header");
  std::size_t done = 0;
  while (done < raw.size()) {
    const la_ssize_t n = archive_write_data(a.get(), raw.data() + done, raw.size() - done);
    check_write(a.get(), n < 0 ? static_cast<int>(n) : ARCHIVE_OK, "data");
    done += static_cast<std::size_t>(n);
  }
  check_write(a.get(), archive_write_close(a.get()), "close");
}

void decompress_frame(Compression compression, std::span<const std::byte> stored, std::size_t raw_size,
                      const std::string& what, std::vector<std::byte>& raw) {
  if (compression == Compression::none) {
    if (stored.size() != raw_size) {
      throw ArchiveError(fmt::format("{}: holds {} bytes, the index says {}", what, stored.size(), raw_size));
    }
    raw.assign(stored.begin(), stored.end());
    return;
  }
  if (compression == Compression::zstd) {
    decompress_zstd(stored, raw_size, what, raw);
    return;
  }
  ReadHandle a(archive_read_new(), archive_read_free);
  const auto fail = [&](const char* step) {
    const char* reason = archive_error_string(a.get());
    return ArchiveError(fmt::format("{}: cannot decompress ({}): {}", what, step, reason ? reason : "corrupt data"));
  };
  if (archive_read_support_filter_gzip(a.get()) < ARCHIVE_WARN ||
      archive_read_support_format_raw(a.get()) < ARCHIVE_WARN) {
    throw fail("setup");
  }
  if (archive_read_open_memory(a.get(), stored.data(), stored.size()) < ARCHIVE_WARN) throw fail("open");
  archive_entry* entry = nullptr;
  if (archive_read_next_header(a.get(), &entry) < ARCHIVE_WARN) throw fail("header");
  // A corrupt frame must not make us allocate whatever it claims: read at most raw_size + 1.
  raw.resize(raw_size + 1);
  std::size_t done = 0;
  while (done < raw.size()) {
    const la_ssize_t n = archive_read_data(a.get(), raw.data() + done, raw.size() - done);
    if (n < 0) throw fail("data");
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  if (done > raw_size) {
    throw ArchiveError(fmt::format("{}: decompresses to more than the {} bytes its index records", what, raw_size));
  }
  if (done < raw_size) {
    throw ArchiveError(fmt::format("{}: decompresses to {} bytes, its index records {}", what, done, raw_size));
  }
  raw.resize(raw_size);
}

}  // namespace gridfold
