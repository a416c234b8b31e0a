#include "common/archive_frames.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>

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
  WriteHandle a(archive_write_new(), archive_write_free);
  check_write(a.get(), compression == Compression::zstd ? archive_write_add_filter_zstd(a.get())
                                                        : archive_write_add_filter_gzip(a.get()),
              "filter");
  // The raw format writes the data of its single entry and nothing else.
  check_write(a.get(), archive_write_set_format_raw(a.get()), "format");
  check_write(a.get(), archive_write_set_bytes_per_block(a.get(), 0), "block size");
  if (compression == Compression::gzip) {
    // Without a timestamp equal frames compress to equal bytes.
    check_write(a.get(), archive_write_set_filter_option(a.get(), "gzip", "timestamp", nullptr), "timestamp");
  }
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
  ReadHandle a(archive_read_new(), archive_read_free);
  const auto fail = [&](const char* step) {
    const char* reason = archive_error_string(a.get());
    return ArchiveError(fmt::format("{}: cannot decompress ({}): {}", what, step, reason ? reason : "corrupt data"));
  };
  const int filter = compression == Compression::zstd ? archive_read_support_filter_zstd(a.get())
                                                      : archive_read_support_filter_gzip(a.get());
  if (filter < ARCHIVE_WARN || archive_read_support_format_raw(a.get()) < ARCHIVE_WARN) throw fail("setup");
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
