// Durable, all-or-nothing file creation: write to a temporary name in the target's
// directory, fsync, rename into place, fsync the directory. A crash at any moment leaves
// either the old file or the complete new one under the final name, never a partial one.
#pragma once

#include <filesystem>
#include <functional>
#include <string_view>

namespace gridfold {

// The temporary name used for `final_path` by this process (same directory, hidden, unique
// per host and pid); readers skip names starting with ".tmp-".
std::filesystem::path temporary_path_for(const std::filesystem::path& final_path);

// Calls write(tmp) to produce the file at a temporary path, then makes it durable and
// renames it to final_path. On any exception the temporary file is removed. Failing to sync or
// write is an IoError.
void write_atomically(const std::filesystem::path& final_path,
                      const std::function<void(const std::filesystem::path& tmp)>& write);

void write_text_atomically(const std::filesystem::path& final_path, std::string_view text);

void fsync_path(const std::filesystem::path& path);  // a file or a directory

}  // namespace gridfold
