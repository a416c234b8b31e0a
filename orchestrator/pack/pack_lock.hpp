// The lock that serialises packs of one archive directory (docs/cli.md, "pack"): a lock file,
// <archive directory>/.pack.lock, created exclusively (O_CREAT|O_EXCL, which local disks, NFS
// v3+ and Lustre all honour, unlike flock across nodes) and holding the holder's host, pid and
// start time. It lives beside the archives because that is where archive numbers are taken.
//
// The holder removes it when it ends; one killed leaves it behind, and the next pack decides:
//  - a holder on this host whose pid no longer runs: stale, taken over;
//  - a holder on another host (or a lock file it never finished writing): stale once older
//    than kStaleLockAge, since this host cannot see whether it still runs;
//  - otherwise held: PackBusy. `break_lock` (pack --break-lock) takes over any lock.
// Taking over a lock that was in fact live cannot lose data: archive numbers are claimed
// exclusively and originals are removed only once archived (pack_command.hpp).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "common/errors.hpp"

namespace gridfold {

// Another pack holds the lock: exit 6.
class PackBusy : public BusyError {
 public:
  using BusyError::BusyError;
};

inline constexpr std::chrono::hours kStaleLockAge{24};

class PackLock {
 public:
  // Takes the lock in `dir` (created if missing) without waiting: throws PackBusy, naming the
  // holder, when it is held and not stale; IoError when the lock file cannot be written.
  PackLock(const std::filesystem::path& dir, bool break_lock);
  PackLock(const PackLock&) = delete;
  PackLock& operator=(const PackLock&) = delete;
  // Removes the lock file, unless it is no longer the one this object created (broken and
  // taken by another pack).
  ~PackLock();

  static std::filesystem::path file_in(const std::filesystem::path& dir) { return dir / ".pack.lock"; }

 private:
  std::filesystem::path file_;
  dev_t device_ = 0;
  ino_t inode_ = 0;
};

}  // namespace gridfold
