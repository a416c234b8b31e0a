// Whether the bytes of a fold result file (docs/result-schema.md) are a finished result,
// decided from the bytes already in memory: a caller that reads many results anyway (gridfold
// pack) checks the bytes it keeps, without opening each file a second time with HDF5.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>

namespace gridfold {

// What the bytes alone say about the completion marker. The layout write_fold_result
// produces (superblock version 0 or 1 at offset 0, version 1 object headers, the marker a
// scalar little-endian integer) is read directly, in well under a microsecond instead of the
// ~45 µs of an HDF5 open. It answers `complete` only for a whole file (end-of-file address
// equal to its size) whose root group carries complete = 1, `truncated` only for a file shorter
// than its end-of-file address (which the HDF5 library refuses too), and `ask_library` for
// everything else.
enum class MarkerReading { complete, truncated, ask_library };
MarkerReading read_completion_marker(std::span<const std::byte> image);

// is_complete_fold_result(file) for a file whose contents were just read into `bytes`:
// read_completion_marker decides where it can, and the HDF5 library opening `file` everywhere
// else (layouts other than write_fold_result's, which are rare), so that both answers agree.
bool is_complete_fold_result(const std::filesystem::path& file, std::span<const std::byte> bytes);

}  // namespace gridfold
