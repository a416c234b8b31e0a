#include "orchestrator/harvest/result_scores.hpp"

#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>

#include "common/archive.hpp"
#include "common/hdf5.hpp"

namespace gridfold {
namespace {

// What a child writes: records, then at most one error.
enum Tag : char { kRecord = 'R', kArchiveError = 'A', kHdf5Error = 'H', kOtherError = 'E' };

class Encoder {
 public:
  void tag(Tag t) { out_ += static_cast<char>(t); }
  void number(std::uint64_t v) { out_.append(reinterpret_cast<const char*>(&v), sizeof v); }
  void real(double v) { out_.append(reinterpret_cast<const char*>(&v), sizeof v); }
  void text(std::string_view s) {
    number(s.size());
    out_.append(s);
  }
  const std::string& bytes() const { return out_; }

 private:
  std::string out_;
};

class Decoder {
 public:
  explicit Decoder(const std::string& in) : in_(in) {}
  bool done() const { return pos_ == in_.size(); }
  Tag tag() { return static_cast<Tag>(take(1)[0]); }
  std::uint64_t number() { return load<std::uint64_t>(); }
  double real() { return load<double>(); }
  std::string text() { return std::string(take(number())); }

 private:
  template <class T>
  T load() {
    T v;
    std::memcpy(&v, take(sizeof v).data(), sizeof v);
    return v;
  }
  std::string_view take(std::size_t n) {
    if (n > in_.size() - pos_) throw std::runtime_error("a harvest process returned truncated scores");
    const std::string_view s(in_.data() + pos_, n);
    pos_ += n;
    return s;
  }
  const std::string& in_;
  std::size_t pos_ = 0;
};

void encode(Encoder& e, const NamedScores& s) {
  e.tag(kRecord);
  e.text(s.name);
  e.text(s.scores.config_id);
  e.number(static_cast<std::uint64_t>(static_cast<std::int64_t>(s.scores.outer_fold)));
  e.number(static_cast<std::uint64_t>(static_cast<std::int64_t>(s.scores.inner_fold)));
  e.text(s.scores.fingerprint);
  e.number(s.scores.metrics.size());
  for (const auto& [target, metrics] : s.scores.metrics) {
    e.text(target);
    e.number(metrics.size());
    for (const auto& [metric, value] : metrics) {
      e.text(metric);
      e.real(value);
    }
  }
  e.number(s.scores.firings.size());
  for (const auto& [rule, count] : s.scores.firings) {
    e.text(rule);
    e.number(static_cast<std::uint64_t>(count));
  }
  e.text(s.scores.stopped_by);
}

NamedScores decode(Decoder& d) {
  NamedScores s;
  s.name = d.text();
  s.scores.config_id = d.text();
  s.scores.outer_fold = static_cast<int>(static_cast<std::int64_t>(d.number()));
  s.scores.inner_fold = static_cast<int>(static_cast<std::int64_t>(d.number()));
  s.scores.fingerprint = d.text();
  for (std::uint64_t t = d.number(); t > 0; --t) {
    MetricValues& metrics = s.scores.metrics[d.text()];
    for (std::uint64_t m = d.number(); m > 0; --m) {
      std::string name = d.text();
      metrics[std::move(name)] = d.real();
    }
  }
  for (std::uint64_t f = d.number(); f > 0; --f) {
    std::string rule = d.text();
    s.scores.firings[std::move(rule)] = static_cast<int>(d.number());
  }
  s.scores.stopped_by = d.text();
  return s;
}

std::vector<NamedScores> read_share(const ResultStore& store, std::size_t shard, std::size_t shards) {
  std::vector<NamedScores> scores;
  store.for_each(
      [&](const std::string& name, std::span<const std::byte> bytes) {
        scores.push_back({name, read_fold_scores_image(bytes.data(), bytes.size(), name)});
      },
      shard, shards, true);
  return scores;
}

void write_all(int fd, const std::string& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error(fmt::format("cannot pass scores between processes: {}", std::strerror(errno)));
    done += static_cast<std::size_t>(n);
  }
}

std::string read_all(int fd) {
  std::string bytes;
  char buffer[1 << 16];
  ::lseek(fd, 0, SEEK_SET);
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error(fmt::format("cannot pass scores between processes: {}", std::strerror(errno)));
    if (n == 0) return bytes;
    bytes.append(buffer, static_cast<std::size_t>(n));
  }
}

// A child process: reads its share, writes it to `fd` and exits without returning. Errors
// cross the process boundary as tagged messages; the parent rethrows them.
[[noreturn]] void run_share(const ResultStore& store, std::size_t shard, std::size_t shards, int fd) {
  Encoder e;
  int code = 0;
  try {
    for (const NamedScores& s : read_share(store, shard, shards)) encode(e, s);
  } catch (const ArchiveError& error) {
    e.tag(kArchiveError);
    e.text(error.what());
    code = 1;
  } catch (const h5::Error& error) {
    e.tag(kHdf5Error);
    e.text(error.what());
    code = 1;
  } catch (const std::exception& error) {
    e.tag(kOtherError);
    e.text(error.what());
    code = 1;
  }
  try {
    write_all(fd, e.bytes());
  } catch (const std::exception&) {
    code = 2;  // the parent reports the missing scores
  }
  ::_exit(code);  // no atexit handlers, no flushing of the parent's buffered output
}

// Children still running when the parent gives up are killed and reaped.
struct Child {
  pid_t pid = -1;
  int fd = -1;
};

class Children {
 public:
  Children() = default;
  Children(const Children&) = delete;
  Children& operator=(const Children&) = delete;
  ~Children() {
    for (Child& c : children_) {
      if (c.pid > 0) {
        ::kill(c.pid, SIGKILL);
        ::waitpid(c.pid, nullptr, 0);
      }
      if (c.fd >= 0) ::close(c.fd);
    }
  }
  std::vector<Child>& list() { return children_; }

 private:
  std::vector<Child> children_;
};

void collect(Child& c, std::vector<NamedScores>& scores) {
  int status = 0;
  while (::waitpid(c.pid, &status, 0) < 0 && errno == EINTR) {
  }
  c.pid = -1;
  const std::string bytes = read_all(c.fd);
  Decoder d(bytes);
  while (!d.done()) {
    switch (d.tag()) {
      case kRecord:
        scores.push_back(decode(d));
        break;
      case kArchiveError:
        throw ArchiveError(d.text());
      case kHdf5Error:
        throw h5::Error(d.text());
      case kOtherError:
        throw std::runtime_error(d.text());
      default:
        throw std::runtime_error("a harvest process returned unreadable scores");
    }
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error(fmt::format("a harvest process ended abnormally ({} {})",
                                         WIFSIGNALED(status) ? "signal" : "exit status",
                                         WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status)));
  }
}

// The scores of the results without a summary, in `processes` processes.
std::vector<NamedScores> read_unsummarised(const ResultStore& store, unsigned processes) {
  if (processes <= 1) return read_share(store, 0, 1);
  Children children;
  for (unsigned shard = 1; shard < processes; ++shard) {
    Child c;
    c.fd = ::memfd_create("gridfold-harvest-scores", MFD_CLOEXEC);
    if (c.fd < 0) throw std::runtime_error(fmt::format("cannot create a memory file: {}", std::strerror(errno)));
    children.list().push_back(c);
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error(fmt::format("cannot start a harvest process: {}", std::strerror(errno)));
    if (pid == 0) run_share(store, shard, processes, c.fd);
    children.list().back().pid = pid;
  }
  std::vector<NamedScores> scores = read_share(store, 0, processes);
  for (Child& c : children.list()) collect(c, scores);
  return scores;
}

}  // namespace

std::vector<NamedScores> read_result_scores(const ResultStore& store, unsigned processes) {
  std::vector<NamedScores> scores = read_unsummarised(store, processes);
  store.for_each_summarised([&](NamedScores&& s) { scores.push_back(std::move(s)); });
  return scores;
}

unsigned available_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  const int cpus = ::sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
  return static_cast<unsigned>(std::clamp(cpus, 1, 8));
}

}  // namespace gridfold
