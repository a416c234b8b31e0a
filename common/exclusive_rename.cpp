#include "common/exclusive_rename.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

#include "common/errors.hpp"

namespace gridfold {

bool rename_exclusive(const std::filesystem::path& from, const std::filesystem::path& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return true;
  if (errno == EEXIST) return false;
  if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) {
    throw IoError(fmt::format("cannot rename {} to {}: {}", from.string(), to.string(), std::strerror(errno)));
  }
  // link(2) fails with EEXIST atomically, on NFS too; the source name is then removed.
  if (::link(from.c_str(), to.c_str()) != 0) {
    if (errno == EEXIST) return false;
    throw IoError(fmt::format("cannot link {} to {}: {}", from.string(), to.string(), std::strerror(errno)));
  }
  if (::unlink(from.c_str()) != 0 && errno != ENOENT) {
    throw IoError(
        fmt::format("cannot remove {} after linking it to {}: {}", from.string(), to.string(), std::strerror(errno)));
  }
  return true;
}

}  // namespace gridfold
