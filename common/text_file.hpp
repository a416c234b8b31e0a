// Reading a whole text file, with an error that names it.
//
// One rule for every reader of files in gridfold (read_text_file, for_each_line, the data
// tables): a file that cannot be opened -- missing, a directory, not readable by this user --
// is bad input (UnreadableFileError, exit 3), because its path came from the user's spec, data
// or command line; a read that fails after the file was opened is an I/O error (IoError,
// exit 5), a fault of the disk or file system rather than of the input.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "common/errors.hpp"

namespace gridfold {

// A file that cannot be opened for reading; the message names the file and the reason.
class UnreadableFileError : public BadInputError {
 public:
  using BadInputError::BadInputError;
};

// The file's bytes. Throws UnreadableFileError when it cannot be opened (or is a directory),
// IoError when reading it fails; both messages start with "<file>: ".
std::string read_text_file(const std::filesystem::path& file);

// The text without a leading UTF-8 byte order mark, which spreadsheet programs write and
// which is not part of the data.
std::string_view without_byte_order_mark(std::string_view text);

}  // namespace gridfold
