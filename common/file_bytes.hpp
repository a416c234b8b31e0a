// Reading a whole binary file into memory, for code that reads many small files in a row.
#pragma once

#include <sys/stat.h>

#include <cstddef>
#include <filesystem>
#include <optional>
#include <vector>

namespace gridfold {

// Reads all of `path` into `bytes` (reusing its capacity) and returns the file's status as of
// the read; nullopt when the file does not exist. Throws std::runtime_error naming the file.
std::optional<struct stat> read_file_bytes(const std::filesystem::path& path, std::vector<std::byte>& bytes);

}  // namespace gridfold
