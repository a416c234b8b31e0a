// Reading a whole text file, with an error that names it.
#pragma once

#include <filesystem>
#include <string>

namespace gridfold {

// Throws std::runtime_error naming the file and the reason when it cannot be read.
std::string read_text_file(const std::filesystem::path& file);

}  // namespace gridfold
