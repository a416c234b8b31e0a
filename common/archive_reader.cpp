// Reading archives: the whole archive in one pass (background threads decompress frames ahead
// while libarchive parses the tar headers in the caller's thread), chosen members through the
// index, or one member by way of the frame that holds it.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "common/archive.hpp"
#include "common/archive_frames.hpp"
#include "common/checksum.hpp"

namespace gridfold {
namespace fs = std::filesystem;

namespace {

class ArchiveFile {
 public:
  explicit ArchiveFile(const fs::path& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw ArchiveError(fmt::format("cannot open archive {}: {}", path.string(), std::strerror(errno)));
    struct stat st {};
    if (::fstat(fd_, &st) != 0) {
      ::close(fd_);
      throw ArchiveError(fmt::format("cannot stat archive {}: {}", path.string(), std::strerror(errno)));
    }
    size_ = static_cast<std::uint64_t>(st.st_size);
  }
  ArchiveFile(const ArchiveFile&) = delete;
  ArchiveFile& operator=(const ArchiveFile&) = delete;
  ~ArchiveFile() { ::close(fd_); }

  std::uint64_t size() const { return size_; }
  const fs::path& path() const { return path_; }

  std::vector<std::byte> read(std::uint64_t offset, std::uint64_t length) const {
    std::vector<std::byte> bytes(length);
    std::uint64_t done = 0;
    while (done < length) {
      const ssize_t n = ::pread(fd_, bytes.data() + done, length - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw ArchiveError(fmt::format("cannot read archive {}: {}", path_.string(), std::strerror(errno)));
      if (n == 0) throw ArchiveError(fmt::format("archive {} is shorter than its index says", path_.string()));
      done += static_cast<std::uint64_t>(n);
    }
    return bytes;
  }

 private:
  fs::path path_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

std::string frame_name(const fs::path& archive, std::size_t frame) {
  return fmt::format("archive {} frame {}", archive.string(), frame);
}

void read_frame(const ArchiveFile& file, const ArchiveIndex& index, std::size_t i, std::vector<std::byte>& raw) {
  const ArchiveFrame& f = index.frames[i];
  decompress_frame(index.compression, file.read(f.stored_offset, f.stored_size), f.size, frame_name(file.path(), i),
                   raw);
}

void check_file_size(const ArchiveFile& file, const ArchiveIndex& index) {
  const std::uint64_t expected = archive_file_size(index);
  if (file.size() != expected) {
    throw ArchiveError(
        fmt::format("archive {} holds {} bytes, its index describes {}", file.path().string(), file.size(), expected));
  }
}

void check_checksum(const fs::path& archive, const ArchiveMember& m, std::span<const std::byte> data) {
  const std::uint64_t actual = xxh64(data);
  if (actual != m.checksum) {
    throw ArchiveError(fmt::format("archive {}: member {} is corrupt (checksum {}, the index records {})",
                                   archive.string(), m.name, checksum_hex(actual), checksum_hex(m.checksum)));
  }
}

// Decompresses the chosen frames of one archive in background threads and hands them out in
// order, at most two frames per thread ahead of the consumer.
class FramePrefetcher {
 public:
  FramePrefetcher(const ArchiveFile& file, const ArchiveIndex& index, std::vector<std::size_t> frames)
      : file_(file), index_(index), frames_(std::move(frames)) {
    const unsigned threads = std::clamp(std::thread::hardware_concurrency(), 1u, 4u);
    ahead_ = 2 * threads;
    for (unsigned t = 0; t < threads; ++t) threads_.emplace_back([this] { run(); });
  }
  FramePrefetcher(const FramePrefetcher&) = delete;
  FramePrefetcher& operator=(const FramePrefetcher&) = delete;
  ~FramePrefetcher() {
    {
      std::lock_guard lock(mutex_);
      cancelled_ = true;
    }
    changed_.notify_all();
    for (auto& t : threads_) t.join();
  }

  // Takes back a frame's buffer for reuse: fresh buffers of many MiB cost a page fault per 4 KiB.
  void recycle(std::vector<std::byte>&& buffer) {
    std::lock_guard lock(mutex_);
    spare_.push_back(std::move(buffer));
  }

  // The next frame in order, or nullopt after the last one.
  std::optional<std::vector<std::byte>> next() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return delivered_ == frames_.size() || ready_.count(delivered_) || error_; });
    if (error_) std::rethrow_exception(error_);
    if (delivered_ == frames_.size()) return std::nullopt;
    auto frame = std::move(ready_.at(delivered_));
    ready_.erase(delivered_++);
    changed_.notify_all();
    return frame;
  }

 private:
  void run() {
    while (true) {
      std::size_t position;
      {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] {
          return cancelled_ || error_ || claimed_ == frames_.size() || claimed_ < delivered_ + ahead_;
        });
        if (cancelled_ || error_ || claimed_ == frames_.size()) return;
        position = claimed_++;
      }
      try {
        std::vector<std::byte> frame;
        {
          std::lock_guard lock(mutex_);
          if (!spare_.empty()) {
            frame = std::move(spare_.back());
            spare_.pop_back();
          }
        }
        read_frame(file_, index_, frames_[position], frame);
        std::lock_guard lock(mutex_);
        ready_.emplace(position, std::move(frame));
      } catch (const std::exception&) {
        std::lock_guard lock(mutex_);
        if (!error_) error_ = std::current_exception();  // rethrown in the consumer's thread by next()
      }
      changed_.notify_all();
    }
  }

  const ArchiveFile& file_;
  const ArchiveIndex& index_;
  const std::vector<std::size_t> frames_;
  std::size_t ahead_ = 2;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::size_t, std::vector<std::byte>> ready_;  // by position in frames_
  std::vector<std::vector<std::byte>> spare_;
  std::size_t claimed_ = 0, delivered_ = 0;
  std::exception_ptr error_;
  bool cancelled_ = false;
  std::vector<std::thread> threads_;
};

std::vector<std::size_t> all_frames(const ArchiveIndex& index) {
  std::vector<std::size_t> frames(index.frames.size());
  for (std::size_t i = 0; i < frames.size(); ++i) frames[i] = i;
  return frames;
}

// Feeds the decompressed frames to libarchive's tar reader and keeps the frames that members
// still to be visited lie in.
class TarStream {
 public:
  TarStream(const ArchiveFile& file, const ArchiveIndex& index)
      : file_(file),
        index_(index),
        prefetcher_(file, index, all_frames(index)),
        tar_(archive_read_new(), archive_read_free) {
    if (archive_read_support_format_tar(tar_.get()) != ARCHIVE_OK ||
        archive_read_open(tar_.get(), this, nullptr, &TarStream::supply, nullptr) != ARCHIVE_OK) {
      fail("open");
    }
  }

  // Checks the next tar header against `member` and returns the member's bytes.
  std::span<const std::byte> next(const ArchiveMember& member, std::size_t frame) {
    archive_entry* entry = nullptr;
    const int status = archive_read_next_header(tar_.get(), &entry);
    if (status == ARCHIVE_EOF) fail(fmt::format("the tar stream ends before member {}", member.name));
    if (status < ARCHIVE_WARN) fail("header");
    const char* raw_name = archive_entry_pathname(entry);
    const std::string name = raw_name ? raw_name : "";
    check_member_name(name);
    if (name != member.name || archive_entry_size(entry) != static_cast<la_int64_t>(member.size) ||
        archive_entry_filetype(entry) != AE_IFREG) {
      fail(fmt::format("tar header '{}' ({} bytes) disagrees with the index entry '{}' ({} bytes)", name,
                       archive_entry_size(entry), member.name, member.size));
    }
    if (member.size == 0) {
      check_checksum(file_.path(), member, {});
      return {};
    }
    // The frame holding the header is the last one handed to libarchive or an earlier one.
    while (!frames_.empty() && frames_.front().number < frame) {
      prefetcher_.recycle(std::move(frames_.front().bytes));
      frames_.pop_front();
    }
    if (frames_.empty() || frames_.front().number != frame) {
      fail(fmt::format("member {} is not where its index says", member.name));
    }
    const Frame& f = frames_.front();
    const std::uint64_t start = member.offset - index_.frames[frame].offset;
    const std::span<const std::byte> data(f.bytes.data() + start, member.size);
    check_checksum(file_.path(), member, data);
    return data;
  }

  void skip_data() {
    if (archive_read_data_skip(tar_.get()) < ARCHIVE_WARN) fail("data");
  }

  void expect_end() {
    archive_entry* entry = nullptr;
    const int status = archive_read_next_header(tar_.get(), &entry);
    if (status != ARCHIVE_EOF) fail("the tar stream holds members that its index does not list");
  }

 private:
  struct Frame {
    std::size_t number;
    std::vector<std::byte> bytes;
  };

  static la_ssize_t supply(archive*, void* self, const void** buffer) {
    auto& s = *static_cast<TarStream*>(self);
    try {
      auto frame = s.prefetcher_.next();
      if (!frame) return 0;
      s.frames_.push_back({s.next_frame_++, std::move(*frame)});
      *buffer = s.frames_.back().bytes.data();
      return static_cast<la_ssize_t>(s.frames_.back().bytes.size());
    } catch (const std::exception&) {
      // libarchive is C: keep the error and report it once libarchive returns.
      s.error_ = std::current_exception();
      archive_set_error(s.tar_.get(), EIO, "frame unreadable");
      return -1;
    }
  }

  [[noreturn]] void fail(const std::string& what) const {
    if (error_) std::rethrow_exception(error_);
    const char* reason = archive_error_string(tar_.get());
    throw ArchiveError(
        fmt::format("archive {}: {}{}", file_.path().string(), what, reason ? fmt::format(" ({})", reason) : ""));
  }

  const ArchiveFile& file_;
  const ArchiveIndex& index_;
  FramePrefetcher prefetcher_;
  std::unique_ptr<archive, decltype(&archive_read_free)> tar_;
  std::deque<Frame> frames_;
  std::size_t next_frame_ = 0;
  std::exception_ptr error_;
};

std::size_t frame_of(const ArchiveIndex& index, const ArchiveMember& m) {
  const auto it = std::upper_bound(index.frames.begin(), index.frames.end(), m.offset,
                                   [](std::uint64_t offset, const ArchiveFrame& f) { return offset < f.offset; });
  if (it == index.frames.begin()) throw ArchiveError(fmt::format("member {} lies before the first frame", m.name));
  const std::size_t i = static_cast<std::size_t>(it - index.frames.begin()) - 1;
  const ArchiveFrame& f = index.frames[i];
  if (m.offset + m.size > f.offset + f.size) throw ArchiveError(fmt::format("member {} straddles two frames", m.name));
  return i;
}

}  // namespace

void read_archive(const fs::path& archive, const ArchiveIndex& index, const MemberVisitor& visit) {
  const ArchiveFile file(archive);
  check_file_size(file, index);
  TarStream stream(file, index);
  std::size_t frame = 0;
  for (const ArchiveMember& member : index.members) {
    check_member_name(member.name);
    while (frame < index.frames.size() && index.frames[frame].offset + index.frames[frame].size <= member.offset) {
      ++frame;
    }
    if (frame == index.frames.size())
      throw ArchiveError(fmt::format("member {} lies past the last frame", member.name));
    visit(member, stream.next(member, frame));
    stream.skip_data();
  }
  stream.expect_end();
}

void read_members(const fs::path& archive, const ArchiveIndex& index, std::span<const ArchiveMember* const> members,
                  const MemberVisitor& visit) {
  const ArchiveFile file(archive);
  check_file_size(file, index);
  std::vector<std::size_t> member_frames, frames;
  for (const ArchiveMember* m : members) {
    check_member_name(m->name);
    member_frames.push_back(frame_of(index, *m));
    if (!frames.empty() && member_frames.back() < frames.back()) {
      throw std::logic_error("read_members: members must come in archive order");
    }
    if (frames.empty() || frames.back() != member_frames.back()) frames.push_back(member_frames.back());
  }
  FramePrefetcher prefetcher(file, index, frames);
  std::vector<std::byte> frame;
  std::size_t current = index.frames.size();
  for (std::size_t i = 0; i < members.size(); ++i) {
    const ArchiveMember& m = *members[i];
    if (member_frames[i] != current) {
      prefetcher.recycle(std::move(frame));
      frame = *prefetcher.next();
      current = member_frames[i];
    }
    const std::span<const std::byte> data(frame.data() + (m.offset - index.frames[current].offset), m.size);
    check_checksum(archive, m, data);
    visit(m, data);
  }
}

std::vector<std::byte> read_member(const fs::path& archive, const ArchiveIndex& index, const ArchiveMember& member) {
  check_member_name(member.name);
  const ArchiveFile file(archive);
  check_file_size(file, index);
  const std::size_t i = frame_of(index, member);
  std::vector<std::byte> frame;
  read_frame(file, index, i, frame);
  const std::uint64_t start = member.offset - index.frames[i].offset;
  std::vector<std::byte> data(frame.begin() + static_cast<std::ptrdiff_t>(start),
                              frame.begin() + static_cast<std::ptrdiff_t>(start + member.size));
  check_checksum(archive, member, data);
  return data;
}

}  // namespace gridfold
