#include "common/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include "common/errors.hpp"

namespace gridfold {
namespace fs = std::filesystem;

namespace {
std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "host";
  return buf;
}
}  // namespace

fs::path temporary_path_for(const fs::path& final_path) {
  return final_path.parent_path() / fmt::format(".tmp-{}.{}.{}", final_path.filename().string(), host_name(), getpid());
}

void fsync_path(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw IoError(fmt::format("cannot open {} to sync it: {}", path.string(), std::strerror(errno)));
  }
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  // Some file systems refuse fsync on directories; that is not a lost write.
  if (rc != 0 && err != EINVAL && err != EROFS) {
    throw IoError(fmt::format("cannot sync {}: {}", path.string(), std::strerror(err)));
  }
}

void write_atomically(const fs::path& final_path, const std::function<void(const fs::path&)>& write) {
  const fs::path dir = final_path.parent_path().empty() ? fs::path(".") : final_path.parent_path();
  fs::create_directories(dir);
  const fs::path tmp = temporary_path_for(final_path);
  try {
    write(tmp);
    fsync_path(tmp);
    fs::rename(tmp, final_path);
  } catch (...) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw;
  }
  fsync_path(dir);
}

void write_text_atomically(const fs::path& final_path, std::string_view text) {
  write_atomically(final_path, [&](const fs::path& tmp) {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.close();
    if (!out) {
      throw IoError(fmt::format("cannot write {}: {}", tmp.string(), std::strerror(errno)));
    }
  });
}

}  // namespace gridfold
