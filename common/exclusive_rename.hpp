// Renaming without ever replacing what is at the destination, on file systems with and
// without renameat2(RENAME_NOREPLACE) (NFS and older Lustre clients lack it; both have link).
#pragma once

#include <filesystem>

namespace gridfold {

// Moves `from` to `to` atomically unless `to` exists: returns false, changing nothing, when
// it does. Throws IoError for any other failure. Both paths must be on one file system.
bool rename_exclusive(const std::filesystem::path& from, const std::filesystem::path& to);

}  // namespace gridfold
