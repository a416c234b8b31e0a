// Tar archives of experiment files, each with an index beside it (format and rationale in
// docs/archive-format.md).
//
// An archive is a pax/ustar tar stream cut into frames at member boundaries; each frame is
// compressed on its own (one zstd frame or gzip member) and the frames are concatenated, so
// the file is an ordinary .tar.zst / .tar.gz that GNU tar lists and extracts, while one member
// is read by decompressing only the frame that holds it. The index records every frame and
// every member (offset of its data in the uncompressed tar stream, size, XXH64 checksum).
//
// Every reader refuses member names that are absolute or contain `..` components, and checks
// each member it serves against the index checksum.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/errors.hpp"
#include "common/spec.hpp"

namespace gridfold {

// An archive or index that is unreadable, corrupt, unsafe, or disagrees with its index.
class ArchiveError : public BadInputError {
 public:
  using BadInputError::BadInputError;
};

struct ArchiveMember {
  std::string name;          // relative path, '/'-separated
  std::uint64_t offset = 0;  // of the member's data in the uncompressed tar stream
  std::uint64_t size = 0;
  std::uint64_t checksum = 0;  // XXH64 (seed 0) of the data
  bool operator==(const ArchiveMember&) const = default;
};

// A run of the uncompressed tar stream compressed independently of the others.
struct ArchiveFrame {
  std::uint64_t offset = 0, size = 0;                // in the uncompressed tar stream
  std::uint64_t stored_offset = 0, stored_size = 0;  // in the archive file
  bool operator==(const ArchiveFrame&) const = default;
};

struct ArchiveIndex {
  Compression compression = Compression::zstd;
  std::vector<ArchiveFrame> frames;    // in file order, contiguous
  std::vector<ArchiveMember> members;  // in archive order
};

// The size of the archive file that `index` describes: where its last frame ends.
std::uint64_t archive_file_size(const ArchiveIndex& index);

// "<archive>.index.tsv"
std::filesystem::path index_path_for(const std::filesystem::path& archive);
// ".tar.zst", ".tar.gz" or ".tar"
std::string archive_extension(Compression compression);

// Writes and fsyncs `file`; the caller renames it into place. Throws IoError when it cannot.
void write_index(const std::filesystem::path& file, const ArchiveIndex& index);
// Throws ArchiveError for a malformed index, unsafe member names or frames and members that
// do not tile the stream.
ArchiveIndex read_index(const std::filesystem::path& file);

// A member name is safe when it is a relative path without empty, `.` or `..` components and
// without control characters.
bool is_safe_member_name(std::string_view name);
// Throws ArchiveError, giving the reason, unless `name` is safe.
void check_member_name(std::string_view name);

struct ArchiveWriterOptions {
  Compression compression = Compression::zstd;
  std::size_t frame_size = 32 << 20;  // uncompressed bytes per frame (at least)
  unsigned threads = 0;               // compression threads; 0 = one per core
};

// Writes one archive file. Members are compressed in background threads while the caller
// adds more; nothing is durable until finish() returns. Failing to create, write, sync or close
// the file is an IoError (exit 5), never an ArchiveError: the input was fine, the disk was not.
class ArchiveWriter {
 public:
  ArchiveWriter(const std::filesystem::path& file, const ArchiveWriterOptions& options);
  ArchiveWriter(const ArchiveWriter&) = delete;
  ArchiveWriter& operator=(const ArchiveWriter&) = delete;
  ~ArchiveWriter();  // abandons an unfinished archive (the caller removes the file)

  void add(std::string name, std::span<const std::byte> data, std::time_t mtime);
  // Bytes already in the file; frames still being compressed are not counted.
  std::uint64_t stored_bytes() const;
  // Ends the tar stream, writes the remaining frames and fsyncs the file.
  ArchiveIndex finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

using MemberVisitor = std::function<void(const ArchiveMember& member, std::span<const std::byte> data)>;

// Reads the whole archive once, in order, decompressing ahead in background threads, and
// calls visit for every member in the calling thread. Checks the tar headers against the
// index (names, sizes, count) and every member's checksum; throws ArchiveError on the first
// disagreement.
void read_archive(const std::filesystem::path& archive, const ArchiveIndex& index, const MemberVisitor& visit);

// Reads the given members (pointers into index.members, in archive order) through the index,
// decompressing each frame that holds one of them once, ahead in background threads; checks
// every member's checksum. Visits in the calling thread, in order.
void read_members(const std::filesystem::path& archive, const ArchiveIndex& index,
                  std::span<const ArchiveMember* const> members, const MemberVisitor& visit);

// Reads one member by decompressing only the frame that holds it; checks its checksum.
std::vector<std::byte> read_member(const std::filesystem::path& archive, const ArchiveIndex& index,
                                   const ArchiveMember& member);

}  // namespace gridfold
