// A small RAII layer over the HDF5 C API: files, groups, 1-D/2-D datasets of numbers and
// strings, and scalar attributes. Everything gridfold writes is readable by h5py.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "common/errors.hpp"

namespace gridfold::h5 {

// An HDF5 file could not be opened or read, or does not hold what gridfold expects (not HDF5,
// truncated, a missing dataset, another schema version): the user's file is bad input, exit 3.
// Messages from a failed HDF5 call end with the library's own error stack (see error_stack).
class Error : public BadInputError {
 public:
  using BadInputError::BadInputError;
};

// HDF5 could not create, write, flush or close a file (a full disk, a permission, a file
// system refusing locks): an I/O error, exit 5.
class WriteError : public IoError {
 public:
  using IoError::IoError;
};

// HDF5's error stack of the calling thread, innermost (where the error arose) first, as
// "description [major: minor]" entries joined by " <- "; empty when the stack is empty. Call
// it right after the failing HDF5 call: the next call clears the stack.
std::string error_stack();

// Whether gridfold asks HDF5 to lock the files it opens and creates. HDF5 locks by default;
// Lustre and NFS mounts without flock refuse the lock, so a site turns locking off.
struct FileLocking {
  bool enabled = true;
  bool ignore_when_disabled = false;  // lock where the file system can, go on where it cannot
  bool operator==(const FileLocking&) const = default;
};

// The process-wide setting, from the first source that gives one: HDF5's own environment
// variable HDF5_USE_FILE_LOCKING (FALSE or 0: off; TRUE or 1: on; BEST_EFFORT: on where the
// file system supports it), GRIDFOLD_HDF5_FILE_LOCKING (true/false, 1/0), the spec's
// output.hdf5_file_locking as passed to use_spec_file_locking, and HDF5's default (on).
// Throws BadInputError for an environment value outside those.
FileLocking file_locking();
// Records the spec's output.hdf5_file_locking (nullopt: the spec does not say) for every file
// opened or created after the call; the environment variables still take precedence.
void use_spec_file_locking(std::optional<bool> spec_value);
// Sets the current file_locking() on a file-access property list; File uses it for every file.
void apply_file_locking(hid_t file_access);

// HDF5 prints its own error stacks to stderr by default; gridfold reports errors itself.
// The thread-safe HDF5 keeps this switch per thread: every thread that calls HDF5 directly
// calls this first (File's functions do).
void silence_library_errors();

// Owns one hid_t and closes it with the matching H5*close.
class Handle {
 public:
  Handle() = default;
  Handle(hid_t id, herr_t (*close)(hid_t));
  Handle(Handle&& o) noexcept;
  Handle& operator=(Handle&& o) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle();
  hid_t id() const { return id_; }
  // Closes the id now and returns the close function's status; the handle is empty after.
  herr_t close();

 private:
  hid_t id_ = H5I_INVALID_HID;
  herr_t (*close_)(hid_t) = nullptr;
};

// A file or a group: both hold datasets, groups and attributes. The read functions throw
// Error; create_group, write*, set_attr throw WriteError, except write_matrix given values
// that do not fill its shape, a caller's bug (InternalError).
class Node {
 public:
  explicit Node(Handle h, std::string path) : h_(std::move(h)), path_(std::move(path)) {}
  hid_t id() const { return h_.id(); }
  const std::string& path() const { return path_; }

  Node group(const std::string& name) const;         // opens
  Node create_group(const std::string& name) const;  // creates
  bool exists(const std::string& name) const;
  std::vector<std::string> children() const;

  void write(const std::string& name, const std::vector<double>& v) const;
  void write(const std::string& name, const std::vector<float>& v) const;
  void write(const std::string& name, const std::vector<std::int64_t>& v) const;
  void write(const std::string& name, const std::vector<std::uint64_t>& v) const;
  void write(const std::string& name, const std::vector<std::uint32_t>& v) const;
  void write(const std::string& name, const std::vector<std::int32_t>& v) const;
  void write(const std::string& name, const std::vector<std::int16_t>& v) const;
  void write(const std::string& name, const std::vector<std::string>& v) const;
  // 2-D row-major [rows][cols]
  void write_matrix(const std::string& name, const std::vector<float>& v, std::size_t rows, std::size_t cols) const;
  void write_matrix(const std::string& name, const std::vector<std::uint8_t>& v, std::size_t rows,
                    std::size_t cols) const;
  void write_matrix(const std::string& name, const std::vector<std::string>& v, std::size_t rows,
                    std::size_t cols) const;

  std::vector<double> read_doubles(const std::string& name) const;
  std::vector<float> read_floats(const std::string& name) const;
  std::vector<std::int64_t> read_int64(const std::string& name) const;
  std::vector<std::uint64_t> read_uint64(const std::string& name) const;
  std::vector<std::uint32_t> read_uint32(const std::string& name) const;
  std::vector<std::int32_t> read_int32(const std::string& name) const;
  std::vector<std::int16_t> read_int16(const std::string& name) const;
  std::vector<std::uint8_t> read_uint8(const std::string& name) const;
  std::vector<std::string> read_strings(const std::string& name) const;
  // Shape of a dataset (1 or 2 entries).
  std::vector<std::size_t> shape(const std::string& name) const;

  // (key, value) string pairs as two string datasets of one length: h5py and pandas read them
  // as two columns. Reading throws Error when their lengths differ.
  using StringPairs = std::vector<std::pair<std::string, std::string>>;
  void write_pairs(const std::string& keys, const std::string& values, const StringPairs& pairs) const;
  StringPairs read_pairs(const std::string& keys, const std::string& values) const;

  void set_attr(const std::string& name, const std::string& value) const;
  void set_attr(const std::string& name, double value) const;
  void set_attr(const std::string& name, std::int64_t value) const;
  std::string attr_string(const std::string& name) const;
  double attr_double(const std::string& name) const;
  std::int64_t attr_int(const std::string& name) const;
  bool has_attr(const std::string& name) const;
  std::vector<std::string> attribute_names() const;

 protected:
  Handle& handle() { return h_; }

 private:
  Handle h_;
  std::string path_;
};

// Read failures throw Error; create, flush and close failures throw WriteError. A writer calls
// close() when done and only then counts the file as written: the destructor closes too, but
// cannot report that HDF5 failed to write the file's last buffers.
class File : public Node {
 public:
  static File create(const std::filesystem::path& path);  // truncates
  static File open_read(const std::filesystem::path& path);
  // Opens an in-memory image of an HDF5 file (a member read from an archive).
  static File open_image(const void* data, std::size_t size, const std::string& name);
  void flush() const;
  // Writes everything out and closes the file, including groups and datasets still open
  // under it; throws WriteError when HDF5 reports a failure. The File is unusable after.
  void close();

 private:
  File(Handle h, std::string path) : Node(std::move(h), std::move(path)) {}
};

}  // namespace gridfold::h5
