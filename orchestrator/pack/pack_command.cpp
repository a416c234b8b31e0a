#include "orchestrator/pack/pack_command.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <thread>
#include <unordered_map>

#include "common/archive.hpp"
#include "common/archive_catalog.hpp"
#include "common/archive_summary.hpp"
#include "common/atomic_file.hpp"
#include "common/checksum.hpp"
#include "common/exclusive_rename.hpp"
#include "common/experiment_layout.hpp"
#include "common/file_bytes.hpp"
#include "common/plan.hpp"
#include "common/planned_experiment.hpp"
#include "common/result_completeness.hpp"
#include "orchestrator/pack/pack_lock.hpp"

namespace gridfold {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kTemporaryPrefix = ".tmp-";

// Unlinking is latency-bound (a journal commit on local disks, a metadata-server round trip on
// Lustre); many in flight at once finish tens of times sooner than one after another.
constexpr unsigned kRemovalThreads = 16;

struct LooseFile {
  fs::path path;
  std::string name;  // member name: the path relative to the experiment directory
  bool is_result = false;
};

// What was read, so that a file replaced since (a rerun task renaming a new result into
// place) is never removed unarchived.
struct FileIdentity {
  fs::path path;
  dev_t device = 0;
  ino_t inode = 0;
  off_t size = 0;
  std::int64_t mtime_ns = 0;

  static FileIdentity of(const fs::path& path, const struct stat& st) {
    return {path, st.st_dev, st.st_ino, st.st_size,
            static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
  }
  bool same_file(const FileIdentity& o) const {
    return device == o.device && inode == o.inode && size == o.size && mtime_ns == o.mtime_ns;
  }
};

std::vector<LooseFile> find_loose_files(const ExperimentLayout& layout, double log_min_age_seconds, PackSummary& s) {
  std::vector<LooseFile> files;
  const auto add = [&](const fs::path& path, std::string name, bool is_result) {
    if (!is_safe_member_name(name)) {
      ++s.unsafe_names;
      return;
    }
    files.push_back({path, std::move(name), is_result});
  };
  const std::string results = layout.results_dir().filename().string();
  if (fs::is_directory(layout.results_dir())) {
    for (const auto& config : fs::directory_iterator(layout.results_dir())) {
      if (!config.is_directory()) continue;
      const std::string config_dir = results + "/" + config.path().filename().string() + "/";
      for (const auto& f : fs::directory_iterator(config.path())) {
        const std::string file = f.path().filename().string();
        if (file.starts_with(kTemporaryPrefix) || !f.is_regular_file()) continue;
        add(f.path(), config_dir + file, true);
      }
    }
  }
  const std::string logs = layout.logs_dir().filename().string();
  if (fs::is_directory(layout.logs_dir())) {
    const auto now = fs::file_time_type::clock::now();
    for (const auto& f : fs::recursive_directory_iterator(layout.logs_dir())) {
      if (!f.is_regular_file() || f.path().filename().string().starts_with(kTemporaryPrefix)) continue;
      if (std::chrono::duration<double>(now - f.last_write_time()).count() < log_min_age_seconds) {
        ++s.recent_logs;
        continue;
      }
      add(f.path(), logs + "/" + f.path().lexically_relative(layout.logs_dir()).generic_string(), false);
    }
  }
  std::sort(files.begin(), files.end(), [](const LooseFile& a, const LooseFile& b) { return a.name < b.name; });
  return files;
}

// Reads the files in a thread of its own, a few dozen ahead of the archiving loop, as tar reads
// ahead of zstd: opening and reading 100,000 small files is about a third of pack's CPU time,
// which this way overlaps checksumming and compression instead of adding to them.
class FilesReadAhead {
 public:
  explicit FilesReadAhead(const std::vector<LooseFile>& files) : files_(files), thread_([this] { run(); }) {}
  FilesReadAhead(const FilesReadAhead&) = delete;
  FilesReadAhead& operator=(const FilesReadAhead&) = delete;
  ~FilesReadAhead() {
    {
      const std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }

  // read_file_bytes of the next file, in order: its bytes replace `bytes`, whose buffer is
  // reused for a later file, and for a result its summary (common/archive_summary.hpp), read
  // here so that opening the result's image overlaps compression. Rethrows what the read threw.
  std::optional<struct stat> next(std::vector<std::byte>& bytes, std::optional<ResultSummary>& summary) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return !done_.empty(); });
    FileRead read = std::move(done_.front());
    done_.pop_front();
    spare_.push_back(std::move(bytes));
    lock.unlock();
    changed_.notify_all();
    if (read.error) std::rethrow_exception(read.error);
    bytes = std::move(read.bytes);
    summary = std::move(read.summary);
    return read.status;
  }

 private:
  static constexpr std::size_t kAhead = 32;

  struct FileRead {
    std::optional<struct stat> status;
    std::vector<std::byte> bytes;
    std::optional<ResultSummary> summary;
    std::exception_ptr error;
  };

  void run() {
    for (const LooseFile& f : files_) {
      FileRead read;
      {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return stopping_ || done_.size() < kAhead; });
        if (stopping_) return;
        if (!spare_.empty()) {
          read.bytes = std::move(spare_.back());
          spare_.pop_back();
        }
      }
      try {
        read.status = read_file_bytes(f.path, read.bytes);
        if (read.status && f.is_result) read.summary = summarize_result(f.name, read.bytes);
      } catch (const std::exception&) {
        read.error = std::current_exception();  // rethrown in order by next()
      }
      {
        const std::lock_guard lock(mutex_);
        done_.push_back(std::move(read));
      }
      changed_.notify_all();
    }
  }

  const std::vector<LooseFile>& files_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<FileRead> done_;
  std::vector<std::vector<std::byte>> spare_;
  bool stopping_ = false;
  std::thread thread_;
};

// Where originals are moved before they are unlinked: beside results/ and logs/ (one file
// system, so moving is a rename), outside both, so no reader takes it for a result.
fs::path trash_dir(const ExperimentLayout& layout) {
  return layout.root() / ".pack-trash";
}

// Puts back what an interrupted removal left in the trash, unless a newer file has taken its
// place since (that one then stays in the trash, counted as set aside). Empty directories go.
void restore_trash(const ExperimentLayout& layout, PackSummary& s) {
  const fs::path trash = trash_dir(layout);
  if (!fs::is_directory(trash)) return;
  for (const auto& f : fs::recursive_directory_iterator(trash)) {
    if (f.is_directory()) continue;
    const fs::path original = layout.root() / f.path().lexically_relative(trash);
    fs::create_directories(original.parent_path());
    if (rename_exclusive(f.path(), original)) ++s.restored_from_trash;
  }
  std::vector<fs::path> dirs;
  for (const auto& f : fs::recursive_directory_iterator(trash)) {
    if (f.is_directory()) dirs.push_back(f.path());
  }
  dirs.push_back(trash);
  std::sort(dirs.rbegin(), dirs.rend());  // children before their parents
  std::error_code not_empty;
  for (const fs::path& d : dirs) fs::remove(d, not_empty);
  if (fs::exists(trash)) {
    for (const auto& f : fs::recursive_directory_iterator(trash)) s.set_aside += f.is_regular_file() ? 1 : 0;
  }
}

// Removes the originals that are still the files that were read; returns how many it removed.
// Checking a path and then unlinking it would lose a file renamed into place in between (a
// rerun task's new result), so each original is first moved into the trash, atomically, and
// what was moved is checked: unlinked if it is the file that was read, else moved back. On a
// file system where the trash is not reachable by rename (EXDEV) it falls back to checking
// then unlinking.
std::size_t remove_originals(const ExperimentLayout& layout, const std::vector<FileIdentity>& files,
                             const std::function<void(const fs::path&)>& before_removal, PackSummary& s) {
  const fs::path trash = trash_dir(layout);
  std::map<fs::path, bool> parents;
  for (const FileIdentity& f : files) parents[(trash / f.path.lexically_relative(layout.root())).parent_path()];
  for (const auto& [parent, unused] : parents) fs::create_directories(parent);
  std::atomic<std::size_t> next{0}, removed{0}, replaced{0}, set_aside{0};
  std::mutex error_mutex;
  std::string first_error;
  const auto remove_one = [&](const FileIdentity& f) {
    const fs::path aside = trash / f.path.lexically_relative(layout.root());
    fs::path check = aside;
    // A file set aside by an earlier pack may hold the name: it must stay, so this original is
    // checked in place instead. Only packs (holding the lock) write into the trash.
    if (fs::exists(aside)) {
      check = f.path;
    } else if (::rename(f.path.c_str(), aside.c_str()) != 0) {
      if (errno == ENOENT) return;
      if (errno != EXDEV) throw IoError(fmt::format("{}: {}", f.path.string(), std::strerror(errno)));
      check = f.path;
    }
    if (before_removal) before_removal(f.path);
    struct stat st {};
    if (::lstat(check.c_str(), &st) != 0) throw IoError(fmt::format("{}: {}", check.string(), std::strerror(errno)));
    if (FileIdentity::of(f.path, st).same_file(f)) {
      if (::unlink(check.c_str()) != 0 && errno != ENOENT) {
        throw IoError(fmt::format("{}: {}", check.string(), std::strerror(errno)));
      }
      ++removed;
      return;
    }
    ++replaced;
    if (check == aside && !rename_exclusive(aside, f.path)) ++set_aside;  // replaced once more meanwhile
  };
  const auto work = [&] {
    for (std::size_t i; (i = next++) < files.size();) {
      try {
        remove_one(files[i]);
      } catch (const std::exception& e) {
        const std::lock_guard lock(error_mutex);
        if (first_error.empty()) first_error = e.what();
      }
    }
  };
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < std::min<std::size_t>(kRemovalThreads, files.size()); ++t) threads.emplace_back(work);
  for (auto& t : threads) t.join();
  s.changed_while_packing += replaced;
  s.set_aside += set_aside;
  std::error_code not_empty;
  for (auto p = parents.rbegin(); p != parents.rend(); ++p) {
    for (fs::path d = p->first; d != layout.root() && fs::remove(d, not_empty);) d = d.parent_path();
  }
  if (!first_error.empty()) {
    throw IoError(
        fmt::format("the archives are committed, but an original could not be removed ({}); fix the cause and rerun "
                    "gridfold pack, which removes the originals it finds archived",
                    first_error));
  }
  return removed;
}

// One archive being written under temporary names (unique to this host and process); removed
// again unless committed.
class ArchiveInProgress {
 public:
  ArchiveInProgress(const fs::path& dir, const std::string& experiment_id, std::uint64_t sequence,
                    const ArchiveWriterOptions& options,
                    const std::function<void(const fs::path&)>& before_verification)
      : dir_(dir),
        experiment_id_(experiment_id),
        sequence_(sequence),
        compression_(options.compression),
        name_(archive_file_name(experiment_id, sequence, options.compression)),
        temporary_(temporary_path_for(dir / name_)),
        temporary_index_(temporary_path_for(index_path_for(dir / name_))),
        before_verification_(before_verification),
        writer_(temporary_, options) {}
  ArchiveInProgress(const ArchiveInProgress&) = delete;
  ArchiveInProgress& operator=(const ArchiveInProgress&) = delete;
  ~ArchiveInProgress() {
    if (committed_) return;
    std::error_code ignored;  // best effort: the next pack removes whatever remains as debris
    fs::remove(temporary_, ignored);
    fs::remove(temporary_index_, ignored);
  }

  void add(const std::string& name, std::span<const std::byte> data, std::time_t mtime) {
    writer_.add(name, data, mtime);
    original_bytes_ += data.size();
  }
  std::uint64_t stored_bytes() const { return writer_.stored_bytes(); }
  // The archive number: the one planned until commit(), then the one claimed.
  std::uint64_t sequence() const { return sequence_; }

  // `summaries`: of the results added, by member name; written beside the committed archive.
  PackedArchive commit(std::unordered_map<std::string, ResultSummary>& summaries) {
    const ArchiveIndex index = writer_.finish();
    write_index(temporary_index_, index);
    if (before_verification_) before_verification_(temporary_);
    verify(index);
    const CommittedArchive committed =
        commit_archive(temporary_, temporary_index_, dir_, experiment_id_, sequence_, compression_);
    committed_ = true;
    sequence_ = committed.sequence;
    // After the commit, so that a summary never describes an uncommitted archive; a pack killed
    // before this line leaves the summary to the first reader (archive_summary).
    std::vector<ResultSummary> list;
    for (const ArchiveMember* m : result_members(index)) {
      const auto s = summaries.find(m->name);
      if (s == summaries.end()) break;
      list.push_back(std::move(s->second));
    }
    write_archive_summary(committed.archive, index, list);
    return {committed.archive, index.members.size(), original_bytes_, archive_file_size(index)};
  }

 private:
  // Reads the index and the archive back from disk as any later reader will; read_archive
  // checks every member against the checksum taken from the bytes read from its original.
  void verify(const ArchiveIndex& written) const {
    try {
      const ArchiveIndex reread = read_index(temporary_index_);
      if (reread.compression != written.compression || reread.frames != written.frames ||
          reread.members != written.members) {
        throw ArchiveError(fmt::format("{} does not read back as written", temporary_index_.string()));
      }
      read_archive(temporary_, reread, [](const ArchiveMember&, std::span<const std::byte>) {});
    } catch (const ArchiveError& e) {
      throw std::runtime_error(
          fmt::format("verification of {} failed, so it was discarded and every original kept: {}", name_, e.what()));
    }
  }

  fs::path dir_;
  std::string experiment_id_;
  std::uint64_t sequence_;
  Compression compression_;
  std::string name_;
  fs::path temporary_, temporary_index_;
  std::function<void(const fs::path&)> before_verification_;
  ArchiveWriter writer_;
  std::uint64_t original_bytes_ = 0;
  bool committed_ = false;
};

std::string human_bytes(std::uint64_t bytes) {
  if (bytes < 1000 * 1000) return fmt::format("{:.1f} kB", bytes / 1e3);
  if (bytes < 1000ull * 1000 * 1000) return fmt::format("{:.1f} MB", bytes / 1e6);
  return fmt::format("{:.2f} GB", bytes / 1e9);
}

}  // namespace

PackSummary pack_experiment(const PackOptions& o) {
  const auto started = std::chrono::steady_clock::now();
  const PlannedExperiment experiment(o.experiment);
  const auto& [layout, plan, doc] = experiment;
  const ExperimentSpec& spec = experiment.spec();

  PackSummary s;
  s.experiment_dir = fs::absolute(layout.root()).lexically_normal();
  s.archive_dir = fs::absolute(experiment.archive_dir()).lexically_normal();
  s.compression = spec.output.compression;
  // Beside the archives, where their numbers are taken; it also guards the trash.
  const PackLock lock(s.archive_dir, o.break_lock);
  restore_trash(layout, s);
  for (const fs::path& debris : list_debris(s.archive_dir, plan.experiment_id)) {
    fs::remove(debris);
    ++s.debris_removed;
  }

  // The indexes are the record of what is archived; a later archive holds the newer copy.
  const std::vector<CatalogedArchive> archives = list_archives(s.archive_dir, plan.experiment_id);
  std::unordered_map<std::string_view, const ArchiveMember*> archived;
  std::uint64_t sequence = 0;
  for (const CatalogedArchive& a : archives) {
    sequence = std::max(sequence, a.sequence);
    for (const ArchiveMember& m : a.index.members) archived[m.name] = &m;
  }

  const std::uint64_t target = o.archive_size_bytes.value_or(spec.output.archive_size_mb << 20);
  ArchiveWriterOptions writer_options;
  writer_options.compression = spec.output.compression;
  writer_options.frame_size = static_cast<std::size_t>(std::clamp<std::uint64_t>(target, 1, o.frame_size));
  writer_options.threads = o.threads;

  std::optional<ArchiveInProgress> current;
  std::vector<FileIdentity> in_current, archived_copies;
  std::unordered_map<std::string, ResultSummary> summaries;  // of the results in `current`
  const auto commit = [&] {
    s.archives.push_back(current->commit(summaries));
    summaries.clear();
    sequence = current->sequence();  // another pack may have claimed the number planned
    current.reset();
    if (!o.keep_originals) s.originals_removed += remove_originals(layout, in_current, o.before_removal, s);
    in_current.clear();
  };

  const std::vector<LooseFile> loose = find_loose_files(layout, o.log_min_age_seconds, s);
  FilesReadAhead reads(loose);
  std::vector<std::byte> bytes;
  std::optional<ResultSummary> summary;
  for (const LooseFile& f : loose) {
    const std::optional<struct stat> status = reads.next(bytes, summary);
    if (!status) continue;  // removed since it was listed
    // Checked on the bytes read, which are what gets archived.
    if (f.is_result && !is_complete_fold_result(f.path, bytes)) {
      ++s.incomplete_results;
      continue;
    }
    FileIdentity identity = FileIdentity::of(f.path, *status);
    const auto copy = archived.find(f.name);
    if (copy != archived.end() && copy->second->size == bytes.size() && copy->second->checksum == xxh64(bytes)) {
      ++s.already_archived;
      archived_copies.push_back(std::move(identity));
      continue;
    }
    if (!current) {
      current.emplace(s.archive_dir, plan.experiment_id, sequence + 1, writer_options, o.before_verification);
    }
    current->add(f.name, bytes, status->st_mtim.tv_sec);
    if (summary) summaries.insert_or_assign(f.name, std::move(*summary));
    ++(f.is_result ? s.results : s.logs);
    in_current.push_back(std::move(identity));
    if (current->stored_bytes() >= target) commit();
  }
  if (current) commit();
  if (!o.keep_originals) s.originals_removed += remove_originals(layout, archived_copies, o.before_removal, s);
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return s;
}

std::string render_text(const PackSummary& s) {
  std::string out = fmt::format("experiment  {}\narchives    {}\n", s.experiment_dir.string(), s.archive_dir.string());
  if (s.archives.empty()) out += "packed      nothing new\n";
  for (const PackedArchive& a : s.archives) {
    out += fmt::format("archive     {}: {} members, {} -> {} ({})\n", a.file.filename().string(), a.members,
                       human_bytes(a.original_bytes), human_bytes(a.stored_bytes), to_string(s.compression));
  }
  out += fmt::format(
      "packed      {} results, {} logs\n"
      "removed     {} originals ({} of them already archived before)\n",
      s.results, s.logs, s.originals_removed, s.already_archived);
  if (s.incomplete_results + s.recent_logs + s.unsafe_names + s.changed_while_packing > 0) {
    out += fmt::format(
        "left        {} incomplete results, {} logs modified recently, {} unsafe names, "
        "{} files replaced while packing\n",
        s.incomplete_results, s.recent_logs, s.unsafe_names, s.changed_while_packing);
  }
  if (s.debris_removed > 0) out += fmt::format("cleaned     {} files left by an interrupted pack\n", s.debris_removed);
  if (s.restored_from_trash > 0) {
    out += fmt::format("restored    {} originals an interrupted pack had moved aside\n", s.restored_from_trash);
  }
  if (s.set_aside > 0) {
    out += fmt::format("set aside   {} files in {}/.pack-trash: each was replaced while pack moved it; look at them\n",
                       s.set_aside, s.experiment_dir.string());
  }
  out += fmt::format("time        {:.2f} s\n", s.seconds);
  return out;
}

std::string render_json(const PackSummary& s) {
  nlohmann::json archives = nlohmann::json::array();
  for (const PackedArchive& a : s.archives) {
    archives.push_back({{"file", a.file.string()},
                        {"members", a.members},
                        {"original_bytes", a.original_bytes},
                        {"stored_bytes", a.stored_bytes}});
  }
  const nlohmann::json j{{"experiment", s.experiment_dir.string()},
                         {"archive_dir", s.archive_dir.string()},
                         {"compression", to_string(s.compression)},
                         {"archives", archives},
                         {"results", s.results},
                         {"logs", s.logs},
                         {"already_archived", s.already_archived},
                         {"originals_removed", s.originals_removed},
                         {"changed_while_packing", s.changed_while_packing},
                         {"incomplete_results", s.incomplete_results},
                         {"recent_logs", s.recent_logs},
                         {"unsafe_names", s.unsafe_names},
                         {"debris_removed", s.debris_removed},
                         {"restored_from_trash", s.restored_from_trash},
                         {"set_aside", s.set_aside},
                         {"seconds", s.seconds}};
  return j.dump(2) + "\n";
}

}  // namespace gridfold
