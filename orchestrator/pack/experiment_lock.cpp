#include "orchestrator/pack/experiment_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

namespace gridfold {

ExperimentLock::ExperimentLock(const std::filesystem::path& lock_file, const std::string& purpose) {
  fd_ = ::open(lock_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    throw std::runtime_error(fmt::format("cannot open lock file {}: {}", lock_file.string(), std::strerror(errno)));
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd_);
    if (err == EWOULDBLOCK) {
      throw ExperimentBusy(fmt::format("another {} is running on this experiment (it holds {}); wait for it to end",
                                       purpose, lock_file.string()));
    }
    throw std::runtime_error(fmt::format("cannot lock {}: {}", lock_file.string(), std::strerror(err)));
  }
}

ExperimentLock::~ExperimentLock() { ::close(fd_); }

}  // namespace gridfold
