// ArchiveWriter: a libarchive pax writer produces the tar stream into memory; the stream is
// cut into frames at member boundaries and compressed by a pool of threads; frames are
// written to the file in order as they complete.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

#include "common/archive.hpp"
#include "common/archive_frames.hpp"
#include "common/checksum.hpp"

namespace gridfold {
namespace fs = std::filesystem;

namespace {

struct FrameJob {
  std::uint64_t offset = 0;
  std::vector<std::byte> raw, stored;
  bool done = false;
  std::exception_ptr error;
};

}  // namespace

struct ArchiveWriter::Impl {
  fs::path path;
  ArchiveWriterOptions options;
  int fd = -1;
  archive* tar = nullptr;
  bool finished = false;

  std::vector<std::byte> frame;      // tar bytes not yet handed to a compression job
  std::uint64_t stream_bytes = 0;    // tar bytes produced so far
  std::uint64_t frame_offset = 0;    // stream offset of frame[0]
  std::uint64_t stored_written = 0;  // bytes written to the file
  ArchiveIndex index;

  std::mutex mutex;
  std::condition_variable work_ready, job_done;
  std::deque<std::shared_ptr<FrameJob>> in_flight;  // in stream order
  std::deque<std::shared_ptr<FrameJob>> to_compress;
  // Buffers of written frames, reused: fresh buffers of many MiB cost a page fault per 4 KiB.
  std::vector<std::vector<std::byte>> spare_raw, spare_stored;
  bool stopping = false;
  std::vector<std::thread> workers;

  Impl(const fs::path& file, const ArchiveWriterOptions& o) : path(file), options(o) {
    index.compression = o.compression;
    fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw IoError(fmt::format("cannot create {}: {}", file.string(), std::strerror(errno)));
    tar = archive_write_new();
    // pax_restricted writes plain ustar headers and adds a pax extended header only for
    // what ustar cannot hold (long names, large sizes): GNU tar reads both.
    check(archive_write_set_format_pax_restricted(tar), "format");
    check(archive_write_add_filter_none(tar), "filter");
    // No blocking: every byte reaches append_stream at once, so offsets are exact.
    check(archive_write_set_bytes_per_block(tar, 0), "block size");
    check(archive_write_open2(tar, this, nullptr, append_stream, nullptr, nullptr), "open");
    frame.reserve(options.frame_size + (1 << 20));
    const unsigned threads = options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency());
    for (unsigned i = 0; i < threads; ++i) workers.emplace_back([this] { compress_jobs(); });
  }

  ~Impl() {
    {
      std::lock_guard lock(mutex);
      stopping = true;
    }
    work_ready.notify_all();
    for (auto& t : workers) t.join();
    if (tar) archive_write_free(tar);
    if (fd >= 0) ::close(fd);
  }

  void check(int status, const char* step) const {
    if (status < ARCHIVE_WARN) {
      throw IoError(fmt::format("cannot write tar stream of {} ({}): {}", path.string(), step,
                                archive_error_string(tar) ? archive_error_string(tar) : "unknown error"));
    }
  }

  static la_ssize_t append_stream(archive*, void* self, const void* buffer, size_t length) {
    auto& impl = *static_cast<Impl*>(self);
    const auto* p = static_cast<const std::byte*>(buffer);
    impl.frame.insert(impl.frame.end(), p, p + length);
    impl.stream_bytes += length;
    return static_cast<la_ssize_t>(length);
  }

  void compress_jobs() {
    while (true) {
      std::shared_ptr<FrameJob> job;
      {
        std::unique_lock lock(mutex);
        work_ready.wait(lock, [&] { return stopping || !to_compress.empty(); });
        if (stopping) return;
        job = std::move(to_compress.front());
        to_compress.pop_front();
      }
      std::vector<std::byte> stored = take_spare(spare_stored);
      std::exception_ptr error;
      try {
        compress_frame(options.compression, job->raw, stored);
      } catch (const std::exception&) {
        error = std::current_exception();  // rethrown by the thread that writes the file
      }
      {
        std::lock_guard lock(mutex);
        job->stored = std::move(stored);
        job->error = error;
        job->done = true;
      }
      job_done.notify_all();
    }
  }

  void cut_frame() {
    if (frame.empty()) return;
    auto job = std::make_shared<FrameJob>();
    job->offset = frame_offset;
    job->raw = std::move(frame);
    frame_offset = stream_bytes;
    frame = take_spare(spare_raw);
    frame.reserve(options.frame_size + (1 << 20));
    {
      std::lock_guard lock(mutex);
      in_flight.push_back(job);
      to_compress.push_back(job);
    }
    work_ready.notify_one();
  }

  // Writes finished frames in order. Waits while more frames are in flight than `max_in_flight`,
  // which bounds memory and keeps the caller from running far ahead of the compressors.
  void write_frames(std::size_t max_in_flight) {
    while (true) {
      std::shared_ptr<FrameJob> job;
      {
        std::unique_lock lock(mutex);
        if (in_flight.empty()) return;
        if (in_flight.size() > max_in_flight) {
          job_done.wait(lock, [&] { return in_flight.front()->done; });
        } else if (!in_flight.front()->done) {
          return;
        }
        job = std::move(in_flight.front());
        in_flight.pop_front();
      }
      if (job->error) std::rethrow_exception(job->error);
      write_all(job->stored);
      index.frames.push_back({job->offset, job->raw.size(), stored_written - job->stored.size(), job->stored.size()});
      std::lock_guard lock(mutex);
      job->raw.clear();
      job->stored.clear();
      spare_raw.push_back(std::move(job->raw));
      spare_stored.push_back(std::move(job->stored));
    }
  }

  std::vector<std::byte> take_spare(std::vector<std::vector<std::byte>>& spares) {
    std::lock_guard lock(mutex);
    if (spares.empty()) return {};
    std::vector<std::byte> buffer = std::move(spares.back());
    spares.pop_back();
    return buffer;
  }

  void write_all(std::span<const std::byte> bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw IoError(fmt::format("cannot write {}: {}", path.string(), std::strerror(errno)));
      done += static_cast<std::size_t>(n);
    }
    stored_written += bytes.size();
  }

  std::size_t max_in_flight() const { return workers.size() + 1; }
};

ArchiveWriter::ArchiveWriter(const fs::path& file, const ArchiveWriterOptions& options)
    : impl_(std::make_unique<Impl>(file, options)) {}

ArchiveWriter::~ArchiveWriter() = default;

void ArchiveWriter::add(std::string name, std::span<const std::byte> data, std::time_t mtime) {
  Impl& w = *impl_;
  if (w.finished) throw InternalError("ArchiveWriter::add after finish");
  check_member_name(name);
  std::unique_ptr<archive_entry, decltype(&archive_entry_free)> entry(archive_entry_new(), archive_entry_free);
  archive_entry_copy_pathname(entry.get(), name.c_str());
  archive_entry_set_filetype(entry.get(), AE_IFREG);
  archive_entry_set_perm(entry.get(), 0644);
  archive_entry_set_size(entry.get(), static_cast<la_int64_t>(data.size()));
  archive_entry_set_mtime(entry.get(), mtime, 0);
  w.check(archive_write_header(w.tar, entry.get()), "header");
  ArchiveMember member{std::move(name), w.stream_bytes, data.size(), xxh64(data)};
  std::size_t done = 0;
  while (done < data.size()) {
    const la_ssize_t n = archive_write_data(w.tar, data.data() + done, data.size() - done);
    w.check(n < 0 ? static_cast<int>(n) : ARCHIVE_OK, "data");
    done += static_cast<std::size_t>(n);
  }
  // Writes the padding now, so that a frame cut here ends on a member boundary.
  w.check(archive_write_finish_entry(w.tar), "padding");
  w.index.members.push_back(std::move(member));
  if (w.frame.size() >= w.options.frame_size) w.cut_frame();
  w.write_frames(w.max_in_flight());
}

std::uint64_t ArchiveWriter::stored_bytes() const {
  return impl_->stored_written;
}

ArchiveIndex ArchiveWriter::finish() {
  Impl& w = *impl_;
  if (w.finished) throw InternalError("ArchiveWriter::finish called twice");
  w.check(archive_write_close(w.tar), "end of archive");
  w.cut_frame();
  w.write_frames(0);
  if (::fsync(w.fd) != 0) {
    throw IoError(fmt::format("cannot sync {}: {}", w.path.string(), std::strerror(errno)));
  }
  const int fd = w.fd;
  w.fd = -1;
  if (::close(fd) != 0) {
    throw IoError(fmt::format("cannot close {}: {}", w.path.string(), std::strerror(errno)));
  }
  w.finished = true;
  return w.index;
}

}  // namespace gridfold
