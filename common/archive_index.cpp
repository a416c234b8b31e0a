// The index beside each archive and the member-name rules every reader applies.
#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include "common/archive.hpp"
#include "common/atomic_file.hpp"
#include "common/checksum.hpp"

namespace gridfold {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kMagic = "gridfold-archive-index\t1";
constexpr std::uint64_t kMaxExpansion = 65536;

// Why extracting `name` could write outside the target directory or confuse the index; null
// when it cannot.
const char* unsafe_name_reason(std::string_view name) {
  if (name.empty()) return "empty name";
  if (name.front() == '/') return "absolute path";
  for (const char c : name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return "control character in the name";
  }
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = name.find('/', start);
    const std::string_view part = name.substr(start, slash == std::string_view::npos ? name.npos : slash - start);
    if (part == "..") return "'..' component (path traversal)";
    if (part.empty() || part == ".") return "empty or '.' component";
    if (slash == std::string_view::npos) return nullptr;
    start = slash + 1;
  }
}

std::vector<std::string_view> split_tabs(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t start = 0;
  for (std::size_t tab; (tab = line.find('\t', start)) != std::string_view::npos; start = tab + 1) {
    fields.push_back(line.substr(start, tab - start));
  }
  fields.push_back(line.substr(start));
  return fields;
}

class IndexParser {
 public:
  explicit IndexParser(const fs::path& file) : file_(file) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw ArchiveError(fmt::format("{}:{}: {}; the archive index is damaged (it is written once and never edited)",
                                   file_.string(), line_number_, what));
  }

  std::uint64_t number(std::string_view field, int base = 10) const {
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), v, base);
    if (ec != std::errc() || end != field.data() + field.size() || field.empty()) {
      fail(fmt::format("'{}' is not a number", field));
    }
    return v;
  }

  ArchiveIndex parse(std::string_view text) {
    ArchiveIndex index;
    bool ended = false;
    std::size_t start = 0;
    while (start < text.size()) {
      std::size_t newline = text.find('\n', start);
      if (newline == std::string_view::npos) fail("the last line is not terminated (truncated file)");
      const std::string_view line = text.substr(start, newline - start);
      start = newline + 1;
      ++line_number_;
      if (ended) fail("text after the end line");
      if (line_number_ == 1) {
        if (line != kMagic) fail(fmt::format("expected the header '{}'", kMagic));
        continue;
      }
      const auto fields = split_tabs(line);
      const std::string_view kind = fields[0];
      if (kind == "compression" && fields.size() == 2) {
        if (fields[1] == "zstd")
          index.compression = Compression::zstd;
        else if (fields[1] == "gzip")
          index.compression = Compression::gzip;
        else if (fields[1] == "none")
          index.compression = Compression::none;
        else
          fail(fmt::format("unknown compression '{}'", fields[1]));
      } else if (kind == "frame" && fields.size() == 5) {
        add_frame(index, {number(fields[1]), number(fields[2]), number(fields[3]), number(fields[4])});
      } else if (kind == "member" && fields.size() == 5) {
        ArchiveMember m{std::string(fields[4]), number(fields[1]), number(fields[2]), number(fields[3], 16)};
        add_member(index, std::move(m));
      } else if (kind == "end" && fields.size() == 3) {
        if (number(fields[1]) != index.frames.size() || number(fields[2]) != index.members.size()) {
          fail(fmt::format("the end line counts {} frames and {} members, the index lists {} and {}", fields[1],
                           fields[2], index.frames.size(), index.members.size()));
        }
        ended = true;
      } else {
        fail(fmt::format("unexpected line '{}'", line));
      }
    }
    if (line_number_ == 0) fail("empty file");
    if (!ended) fail("no end line (truncated file)");
    return index;
  }

 private:
  // a + b, refusing a sum past 2^64, which a damaged or forged index can ask for.
  std::uint64_t end_of(std::uint64_t offset, std::uint64_t size, std::string_view what) const {
    if (size > std::numeric_limits<std::uint64_t>::max() - offset) {
      fail(fmt::format("{} at offset {} of size {} ends past 2^64", what, offset, size));
    }
    return offset + size;
  }

  void add_frame(ArchiveIndex& index, const ArchiveFrame& f) {
    end_of(f.offset, f.size, "frame");
    end_of(f.stored_offset, f.stored_size, "stored frame");
    const ArchiveFrame previous = index.frames.empty() ? ArchiveFrame{} : index.frames.back();
    if (f.offset != previous.offset + previous.size ||
        f.stored_offset != previous.stored_offset + previous.stored_size) {
      fail("frame does not start where the previous one ends");
    }
    if (f.size == 0) fail("empty frame");
    // Neither zstd nor gzip expands data more than ~43,700-fold (zstd's RLE blocks), so a frame
    // claiming more is damage, refused before a reader sizes a buffer by it.
    if (f.size / kMaxExpansion > f.stored_size) {
      fail(fmt::format("frame of {} stored bytes claims {} bytes of data", f.stored_size, f.size));
    }
    index.frames.push_back(f);
  }

  // Members come in stream order and each lies inside one frame, so a single cursor suffices.
  void add_member(ArchiveIndex& index, ArchiveMember m) {
    if (const char* reason = unsafe_name_reason(m.name)) fail(fmt::format("refusing member '{}': {}", m.name, reason));
    const std::uint64_t previous_end =
        index.members.empty() ? 0 : index.members.back().offset + index.members.back().size;
    if (m.offset < previous_end) fail(fmt::format("member {} overlaps the previous member", m.name));
    while (frame_cursor_ < index.frames.size() &&
           index.frames[frame_cursor_].offset + index.frames[frame_cursor_].size <= m.offset) {
      ++frame_cursor_;
    }
    if (frame_cursor_ == index.frames.size() ||
        end_of(m.offset, m.size, fmt::format("member {}", m.name)) >
            index.frames[frame_cursor_].offset + index.frames[frame_cursor_].size) {
      fail(fmt::format("member {} does not lie inside one frame", m.name));
    }
    index.members.push_back(std::move(m));
  }

  const fs::path& file_;
  int line_number_ = 0;
  std::size_t frame_cursor_ = 0;
};

}  // namespace

std::uint64_t archive_file_size(const ArchiveIndex& index) {
  return index.frames.empty() ? 0 : index.frames.back().stored_offset + index.frames.back().stored_size;
}

fs::path index_path_for(const fs::path& archive) {
  return archive.parent_path() / (archive.filename().string() + ".index.tsv");
}

std::string archive_extension(Compression compression) {
  switch (compression) {
    case Compression::zstd:
      return ".tar.zst";
    case Compression::gzip:
      return ".tar.gz";
    case Compression::none:
      return ".tar";
  }
  throw std::logic_error("unknown compression");
}

bool is_safe_member_name(std::string_view name) {
  return unsafe_name_reason(name) == nullptr;
}

void check_member_name(std::string_view name) {
  if (const char* reason = unsafe_name_reason(name)) {
    throw ArchiveError(fmt::format("refusing archive member '{}': {}", name, reason));
  }
}

void write_index(const fs::path& file, const ArchiveIndex& index) {
  std::string text;
  text.reserve(64 * (index.members.size() + index.frames.size()) + 128);
  auto out = std::back_inserter(text);
  fmt::format_to(out, "{}\ncompression\t{}\n", kMagic, to_string(index.compression));
  for (const ArchiveFrame& f : index.frames) {
    fmt::format_to(out, "frame\t{}\t{}\t{}\t{}\n", f.offset, f.size, f.stored_offset, f.stored_size);
  }
  for (const ArchiveMember& m : index.members) {
    check_member_name(m.name);
    fmt::format_to(out, "member\t{}\t{}\t{}\t{}\n", m.offset, m.size, checksum_hex(m.checksum), m.name);
  }
  fmt::format_to(out, "end\t{}\t{}\n", index.frames.size(), index.members.size());

  std::ofstream out_file(file, std::ios::binary | std::ios::trunc);
  out_file.write(text.data(), static_cast<std::streamsize>(text.size()));
  out_file.close();
  if (!out_file) throw IoError(fmt::format("cannot write {}: {}", file.string(), std::strerror(errno)));
  fsync_path(file);
}

ArchiveIndex read_index(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ArchiveError(fmt::format("cannot open archive index {}: {}", file.string(), std::strerror(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  return IndexParser(file).parse(text.str());
}

}  // namespace gridfold
