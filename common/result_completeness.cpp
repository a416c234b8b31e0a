// Reads the few HDF5 structures that hold the completion marker, following the HDF5 file
// format specification (superblock version 0/1, object header version 1, attribute message
// versions 1-3, datatype and dataspace messages); all fields are little-endian.
#include "common/result_completeness.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "common/fold_result.hpp"

namespace gridfold {
namespace {

constexpr std::array<std::uint8_t, 8> kSignature{0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
constexpr std::string_view kMarker{"complete\0", 9};  // the name as stored, with its terminator
constexpr std::uint64_t kContinuationMessage = 0x0010, kAttributeMessage = 0x000C;
constexpr std::uint64_t kSharedMessageFlag = 0x02;
// A result's root header is one chunk; more than this many means a loop or a foreign file.
constexpr std::size_t kMaxHeaderChunks = 64;

// Bounds-checked little-endian reads: nullopt for anything past the end of the image.
class Image {
 public:
  explicit Image(std::span<const std::byte> bytes) : bytes_(bytes) {}
  std::uint64_t size() const { return bytes_.size(); }

  bool holds(std::uint64_t at, std::uint64_t length) const { return at <= size() && length <= size() - at; }

  std::optional<std::uint64_t> uint(std::uint64_t at, std::uint64_t width) const {
    if (width > 8 || !holds(at, width)) return std::nullopt;
    std::uint64_t value = 0;
    for (std::uint64_t i = 0; i < width; ++i) value |= std::to_integer<std::uint64_t>(bytes_[at + i]) << (8 * i);
    return value;
  }

  std::string_view text(std::uint64_t at, std::uint64_t length) const {
    if (!holds(at, length)) return {};
    return {reinterpret_cast<const char*>(bytes_.data() + at), length};
  }

 private:
  std::span<const std::byte> bytes_;
};

std::uint64_t padded8(std::uint64_t n) {
  return (n + 7) / 8 * 8;
}

// Whether the attribute message at [at, at + size) is the marker holding 1.
bool is_marker_set(const Image& image, std::uint64_t at, std::uint64_t size) {
  const auto version = image.uint(at, 1);
  const auto name_size = image.uint(at + 2, 2), type_size = image.uint(at + 4, 2), space_size = image.uint(at + 6, 2);
  if (!version || !name_size || !type_size || !space_size || *version < 1 || *version > 3) return false;
  // Version 1 pads name, datatype and dataspace to 8 bytes; version 3 adds a character-set byte.
  const auto field = [&](std::uint64_t n) { return *version == 1 ? padded8(n) : n; };
  const std::uint64_t name = at + (*version == 3 ? 9 : 8);
  const std::uint64_t type = name + field(*name_size);
  const std::uint64_t space = type + field(*type_size);
  const std::uint64_t data = space + field(*space_size);
  if (image.text(name, *name_size) != kMarker) return false;

  // Datatype: a fixed-point (class 0), little-endian (bit 0 of the class bits clear) integer.
  const auto class_and_version = image.uint(type, 1), class_bits = image.uint(type + 1, 1);
  const auto width = image.uint(type + 4, 4);
  if (!class_and_version || !class_bits || !width) return false;
  if ((*class_and_version & 0x0F) != 0 || (*class_bits & 0x01) != 0 || *width == 0 || *width > 8) return false;
  // Dataspace: scalar, which is rank 0 (and, from version 2 on, type 0).
  const auto space_version = image.uint(space, 1), rank = image.uint(space + 1, 1);
  if (!space_version || !rank || *rank != 0) return false;
  if (*space_version >= 2 && image.uint(space + 3, 1) != std::optional<std::uint64_t>{0}) return false;

  if (data + *width > at + size) return false;
  return image.uint(data, *width) == std::optional<std::uint64_t>{1};
}

}  // namespace

MarkerReading read_completion_marker(std::span<const std::byte> bytes) {
  const Image image(bytes);
  for (std::size_t i = 0; i < kSignature.size(); ++i) {
    if (image.uint(i, 1) != std::optional<std::uint64_t>{kSignature[i]}) return MarkerReading::ask_library;
  }
  const auto superblock_version = image.uint(8, 1);
  const auto offset_size = image.uint(13, 1), length_size = image.uint(14, 1);
  if (!superblock_version || *superblock_version > 1 || !offset_size || !length_size) return MarkerReading::ask_library;
  const std::uint64_t o = *offset_size, l = *length_size;
  if ((o != 4 && o != 8) || (l != 4 && l != 8)) return MarkerReading::ask_library;
  // Base, free-space, end-of-file and driver addresses follow the fixed fields (4 more bytes of
  // them in version 1), then the root group's symbol table entry: name offset, header address.
  const std::uint64_t addresses = *superblock_version == 0 ? 24 : 28;
  const auto base = image.uint(addresses, o), end_of_file = image.uint(addresses + 2 * o, o);
  const auto root_header = image.uint(addresses + 5 * o, o);
  if (!base || !end_of_file || !root_header || *base != 0) return MarkerReading::ask_library;
  if (*end_of_file > image.size()) return MarkerReading::truncated;
  if (*end_of_file != image.size()) return MarkerReading::ask_library;

  const auto header_version = image.uint(*root_header, 1), header_size = image.uint(*root_header + 8, 4);
  if (header_version != std::optional<std::uint64_t>{1} || !header_size) return MarkerReading::ask_library;
  // Messages start 16 bytes into a version 1 header (12 bytes of prefix, aligned to 8).
  std::vector<std::pair<std::uint64_t, std::uint64_t>> chunks{{*root_header + 16, *header_size}};
  for (std::size_t c = 0; c < chunks.size() && c < kMaxHeaderChunks; ++c) {
    const auto [start, length] = chunks[c];
    if (!image.holds(start, length)) return MarkerReading::ask_library;
    for (std::uint64_t at = start; at + 8 <= start + length;) {
      const std::uint64_t type = *image.uint(at, 2), size = *image.uint(at + 2, 2), flags = *image.uint(at + 4, 1);
      const std::uint64_t body = at + 8;
      if (body + size > start + length) return MarkerReading::ask_library;
      if (type == kAttributeMessage && (flags & kSharedMessageFlag) == 0 && is_marker_set(image, body, size)) {
        return MarkerReading::complete;
      }
      if (type == kContinuationMessage) {
        const auto next = image.uint(body, o), next_length = image.uint(body + o, l);
        if (!next || !next_length) return MarkerReading::ask_library;
        chunks.emplace_back(*next, *next_length);
      }
      at = body + size;
    }
  }
  return MarkerReading::ask_library;
}

bool is_complete_fold_result(const std::filesystem::path& file, std::span<const std::byte> bytes) {
  switch (read_completion_marker(bytes)) {
    case MarkerReading::complete:
      return true;
    case MarkerReading::truncated:
      return false;
    case MarkerReading::ask_library:
      break;
  }
  return is_complete_fold_result(file);
}

}  // namespace gridfold
