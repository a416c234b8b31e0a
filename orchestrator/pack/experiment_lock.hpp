// An exclusive advisory lock (flock) on a lock file in the experiment directory, held for the
// lifetime of the object. The kernel drops it when the process dies, even by kill -9, so a
// crashed holder never blocks the next one.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>

#include "common/errors.hpp"

namespace gridfold {

// Another process holds the lock.
class ExperimentBusy : public BusyError {
 public:
  using BusyError::BusyError;
};

class ExperimentLock {
 public:
  // Takes the lock without waiting; throws ExperimentBusy naming `purpose` when it is held.
  ExperimentLock(const std::filesystem::path& lock_file, const std::string& purpose);
  ExperimentLock(const ExperimentLock&) = delete;
  ExperimentLock& operator=(const ExperimentLock&) = delete;
  ~ExperimentLock();

 private:
  int fd_ = -1;
};

}  // namespace gridfold
