#include "orchestrator/pack/pack_lock.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <optional>
#include <sstream>

#include "common/exclusive_rename.hpp"

namespace gridfold {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kHeader = "gridfold pack lock";

std::string this_host() {
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  return name;
}

// What a lock file says about its holder; `complete` is false for one its writer did not finish.
struct Holder {
  std::string host;
  long pid = 0;
  std::int64_t started = 0;  // Unix seconds
  bool complete = false;
};

Holder parse_holder(const std::string& text) {
  Holder h;
  std::istringstream in(text);
  std::string line;
  if (!std::getline(in, line) || line != kHeader) return h;
  bool has_host = false, has_pid = false, has_started = false;
  while (std::getline(in, line)) {
    const std::size_t tab = line.find('\t');
    if (tab == std::string::npos) continue;
    const std::string key = line.substr(0, tab), value = line.substr(tab + 1);
    const auto number = [&](auto& out) {
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
      return ec == std::errc() && end == value.data() + value.size();
    };
    if (key == "host") has_host = !(h.host = value).empty();
    if (key == "pid") has_pid = number(h.pid);
    if (key == "started") has_started = number(h.started);
  }
  h.complete = has_host && has_pid && has_started;
  return h;
}

struct LockFileState {
  Holder holder;
  struct stat status {};
};

// The lock file's holder and status; nullopt when it vanished (its holder released it).
std::optional<LockFileState> read_lock_file(const fs::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    throw IoError(fmt::format("cannot read the pack lock {}: {}", file.string(), std::strerror(errno)));
  }
  LockFileState state;
  ::fstat(fd, &state.status);
  std::string text(4096, '\0');
  const ssize_t n = ::read(fd, text.data(), text.size());
  ::close(fd);
  text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  state.holder = parse_holder(text);
  return state;
}

bool process_is_gone(long pid) {
  return pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
}

// Why the lock is stale (empty when it is held), by the rule in pack_lock.hpp.
std::string stale_reason(const LockFileState& lock, const std::string& host) {
  const Holder& h = lock.holder;
  if (h.complete && h.host == host) {
    return process_is_gone(h.pid) ? fmt::format("pid {} no longer runs on this host", h.pid) : "";
  }
  const std::int64_t started = h.complete ? h.started : static_cast<std::int64_t>(lock.status.st_mtim.tv_sec);
  const auto age = std::chrono::seconds(std::time(nullptr) - started);
  if (age < kStaleLockAge) return "";
  return fmt::format("it is {} h old, more than the {} h after which a lock {} counts as stale",
                     std::chrono::duration_cast<std::chrono::hours>(age).count(), kStaleLockAge.count(),
                     h.complete ? "from another host" : "its holder never finished writing");
}

std::string describe(const LockFileState& lock) {
  const Holder& h = lock.holder;
  if (!h.complete) return "a holder that has not finished writing it";
  char when[32] = {};
  const std::time_t started = static_cast<std::time_t>(h.started);
  std::tm local{};
  ::localtime_r(&started, &local);
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &local);
  return fmt::format("host {}, pid {}, since {}", h.host, h.pid, when);
}

// Removes the stale lock file judged from `judged`, unless another pack replaced it in the
// meantime: it is first renamed aside, and removed only if it is still the same file.
void remove_stale(const fs::path& file, const struct stat& judged) {
  const fs::path aside = fs::path(file.string() + fmt::format(".stale-{}-{}", this_host(), ::getpid()));
  if (::rename(file.c_str(), aside.c_str()) != 0) {
    if (errno == ENOENT) return;
    throw IoError(fmt::format("cannot remove the stale pack lock {}: {}", file.string(), std::strerror(errno)));
  }
  struct stat st {};
  if (::lstat(aside.c_str(), &st) == 0 && (st.st_dev != judged.st_dev || st.st_ino != judged.st_ino)) {
    rename_exclusive(aside, file);  // a live pack's fresh lock: put it back (unless a third took the name)
  }
  ::unlink(aside.c_str());
}

}  // namespace

PackLock::PackLock(const fs::path& dir, bool break_lock) : file_(file_in(dir)) {
  fs::create_directories(dir);
  const std::string host = this_host();
  for (int attempt = 0; attempt < 3; ++attempt) {
    const int fd = ::open(file_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) {
      const std::string text =
          fmt::format("{}\nhost\t{}\npid\t{}\nstarted\t{}\n", kHeader, host, ::getpid(), std::time(nullptr));
      struct stat st {};
      const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                           ::fsync(fd) == 0 && ::fstat(fd, &st) == 0;
      const int err = errno;
      ::close(fd);
      if (!written) {
        ::unlink(file_.c_str());
        throw IoError(fmt::format("cannot write the pack lock {}: {}", file_.string(), std::strerror(err)));
      }
      device_ = st.st_dev;
      inode_ = st.st_ino;
      return;
    }
    if (errno != EEXIST) {
      throw IoError(fmt::format("cannot create the pack lock {}: {}", file_.string(), std::strerror(errno)));
    }
    const std::optional<LockFileState> lock = read_lock_file(file_);
    if (!lock) continue;  // released a moment ago
    if (!break_lock && stale_reason(*lock, host).empty()) {
      throw PackBusy(fmt::format(
          "another gridfold pack is running on these archives: {} is held by {}; wait for it to end. If that pack "
          "died on another host, rerun with --break-lock (a lock from another host counts as stale after {} h)",
          file_.string(), describe(*lock), kStaleLockAge.count()));
    }
    remove_stale(file_, lock->status);
  }
  throw PackBusy(
      fmt::format("the pack lock {} keeps changing hands; another pack is starting, try again later", file_.string()));
}

PackLock::~PackLock() {
  struct stat st {};
  if (::lstat(file_.c_str(), &st) == 0 && st.st_dev == device_ && st.st_ino == inode_) ::unlink(file_.c_str());
}

}  // namespace gridfold
