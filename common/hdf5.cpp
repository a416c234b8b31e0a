#include "common/hdf5.hpp"

#include <fmt/format.h>

#include <cctype>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <utility>

namespace gridfold::h5 {
namespace {

// What a failed HDF5 call meant: reading the user's file, or writing one of gridfold's.
enum class Failure { read, write };

[[noreturn]] void fail(Failure failure, const std::string& what) {
  const std::string stack = error_stack();
  const std::string message = stack.empty() ? what : fmt::format("{} (HDF5: {})", what, stack);
  if (failure == Failure::write) throw WriteError(message);
  throw Error(message);
}

hid_t check(hid_t id, const std::string& what, Failure failure = Failure::read) {
  if (id < 0) fail(failure, what);
  return id;
}

void check_status(herr_t status, const std::string& what, Failure failure = Failure::read) {
  if (status < 0) fail(failure, what);
}

hid_t check_write(hid_t id, const std::string& what) {
  return check(id, what, Failure::write);
}
void check_write_status(herr_t status, const std::string& what) {
  check_status(status, what, Failure::write);
}

// The innermost entries say what went wrong ("unable to lock file, errno = 11, ..."); the
// outer ones only repeat that the API call failed.
constexpr std::size_t kStackEntries = 3;

std::string message_text(hid_t message) {
  H5E_type_t type{};
  char text[256] = "";
  return H5Eget_msg(message, &type, text, sizeof text) < 0 ? std::string("?") : std::string(text);
}

std::optional<bool> parse_switch(const char* variable, std::string value, bool best_effort_allowed, bool& best_effort) {
  for (char& c : value) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (value == "true" || value == "1") return true;
  if (value == "false" || value == "0") return false;
  if (best_effort_allowed && value == "best_effort") {
    best_effort = true;
    return true;
  }
  throw BadInputError(fmt::format("environment variable {}='{}' is not valid (valid: {})", variable, value,
                                  best_effort_allowed ? "TRUE, FALSE, 1, 0, BEST_EFFORT" : "true, false, 1, 0"));
}

// The setting the environment gives, if any.
std::optional<FileLocking> environment_file_locking() {
  for (const auto& [variable, hdf5_own] :
       {std::pair{"HDF5_USE_FILE_LOCKING", true}, std::pair{"GRIDFOLD_HDF5_FILE_LOCKING", false}}) {
    const char* value = std::getenv(variable);
    if (value == nullptr || *value == '\0') continue;
    bool best_effort = false;
    const bool enabled = *parse_switch(variable, value, hdf5_own, best_effort);
    return FileLocking{enabled, best_effort};
  }
  return std::nullopt;
}

std::mutex locking_mutex;
std::optional<bool> spec_locking;  // guarded by locking_mutex

template <typename T>
hid_t native_type();
template <>
hid_t native_type<double>() {
  return H5T_NATIVE_DOUBLE;
}
template <>
hid_t native_type<float>() {
  return H5T_NATIVE_FLOAT;
}
template <>
hid_t native_type<std::int64_t>() {
  return H5T_NATIVE_INT64;
}
template <>
hid_t native_type<std::uint64_t>() {
  return H5T_NATIVE_UINT64;
}
template <>
hid_t native_type<std::uint32_t>() {
  return H5T_NATIVE_UINT32;
}
template <>
hid_t native_type<std::int32_t>() {
  return H5T_NATIVE_INT32;
}
template <>
hid_t native_type<std::int16_t>() {
  return H5T_NATIVE_INT16;
}
template <>
hid_t native_type<std::uint8_t>() {
  return H5T_NATIVE_UINT8;
}

Handle string_type() {
  Handle t(check_write(H5Tcopy(H5T_C_S1), "cannot create string type"), H5Tclose);
  check_write_status(H5Tset_size(t.id(), H5T_VARIABLE), "cannot size string type");
  check_write_status(H5Tset_cset(t.id(), H5T_CSET_UTF8), "cannot set string charset");
  return t;
}

Handle simple_space(const std::vector<hsize_t>& dims) {
  return Handle(check_write(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
                            "cannot create dataspace"),
                H5Sclose);
}

// Large datasets are chunked and deflated: predictions and index sets compress well and
// h5py reads them transparently.
Handle dataset_creation(const std::vector<hsize_t>& dims) {
  Handle plist(check_write(H5Pcreate(H5P_DATASET_CREATE), "cannot create property list"), H5Pclose);
  hsize_t total = 1;
  for (hsize_t d : dims) total *= d;
  if (total >= 4096) {
    std::vector<hsize_t> chunk = dims;
    const hsize_t row = dims.size() > 1 ? dims[1] : 1;
    chunk[0] = std::max<hsize_t>(1, std::min<hsize_t>(dims[0], (1u << 16) / std::max<hsize_t>(row, 1)));
    check_write_status(H5Pset_chunk(plist.id(), static_cast<int>(chunk.size()), chunk.data()), "cannot chunk");
    check_write_status(H5Pset_shuffle(plist.id()), "cannot set shuffle filter");
    check_write_status(H5Pset_deflate(plist.id(), 4), "cannot set deflate filter");
  }
  return plist;
}

template <typename T>
void write_numbers(const Node& node, const std::string& name, const T* data, const std::vector<hsize_t>& dims) {
  Handle space = simple_space(dims);
  Handle plist = dataset_creation(dims);
  Handle ds(check_write(H5Dcreate2(node.id(), name.c_str(), native_type<T>(), space.id(), H5P_DEFAULT, plist.id(),
                                   H5P_DEFAULT),
                        fmt::format("cannot create dataset {}/{}", node.path(), name)),
            H5Dclose);
  hsize_t total = 1;
  for (hsize_t d : dims) total *= d;
  if (total > 0) {
    check_write_status(H5Dwrite(ds.id(), native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data),
                       fmt::format("cannot write dataset {}/{}", node.path(), name));
  }
}

void write_strings(const Node& node, const std::string& name, const std::vector<std::string>& v,
                   const std::vector<hsize_t>& dims) {
  std::vector<const char*> ptrs;
  ptrs.reserve(v.size());
  for (const auto& s : v) ptrs.push_back(s.c_str());
  Handle type = string_type();
  Handle space = simple_space(dims);
  Handle ds(check_write(H5Dcreate2(node.id(), name.c_str(), type.id(), space.id(), H5P_DEFAULT, H5P_DEFAULT,
                                   H5P_DEFAULT),
                        fmt::format("cannot create dataset {}/{}", node.path(), name)),
            H5Dclose);
  if (!v.empty()) {
    check_write_status(H5Dwrite(ds.id(), type.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()),
                       fmt::format("cannot write dataset {}/{}", node.path(), name));
  }
}

Handle open_dataset(const Node& node, const std::string& name) {
  return Handle(check(H5Dopen2(node.id(), name.c_str(), H5P_DEFAULT),
                      fmt::format("{}: dataset '{}' is missing", node.path(), name)),
                H5Dclose);
}

std::size_t element_total(hid_t dataset) {
  Handle space(check(H5Dget_space(dataset), "cannot get dataspace"), H5Sclose);
  const hssize_t n = H5Sget_simple_extent_npoints(space.id());
  return n < 0 ? 0 : static_cast<std::size_t>(n);
}

template <typename T>
std::vector<T> read_numbers(const Node& node, const std::string& name) {
  Handle ds = open_dataset(node, name);
  std::vector<T> out(element_total(ds.id()));
  if (!out.empty()) {
    check_status(H5Dread(ds.id(), native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()),
                 fmt::format("cannot read dataset {}/{}", node.path(), name));
  }
  return out;
}

template <typename T>
void write_attr(const Node& node, const std::string& name, hid_t type, const T* value) {
  if (H5Aexists(node.id(), name.c_str()) > 0) {
    check_write_status(H5Adelete(node.id(), name.c_str()),
                       fmt::format("cannot replace attribute {}@{}", node.path(), name));
  }
  Handle space(check_write(H5Screate(H5S_SCALAR), "cannot create scalar space"), H5Sclose);
  Handle attr(check_write(H5Acreate2(node.id(), name.c_str(), type, space.id(), H5P_DEFAULT, H5P_DEFAULT),
                          fmt::format("cannot create attribute {}@{}", node.path(), name)),
              H5Aclose);
  check_write_status(H5Awrite(attr.id(), type, value), fmt::format("cannot write attribute {}@{}", node.path(), name));
}

Handle open_attr(const Node& node, const std::string& name) {
  return Handle(check(H5Aopen(node.id(), name.c_str(), H5P_DEFAULT),
                      fmt::format("{}: attribute '{}' is missing", node.path(), name)),
                H5Aclose);
}

std::string child_path(const Node& parent, const std::string& name) {
  return parent.path() + "/" + name;
}

}  // namespace

std::string error_stack() {
  struct Walk {
    std::string text;
    std::size_t entries = 0;
  } walk;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_UPWARD,
      [](unsigned, const H5E_error2_t* entry, void* data) -> herr_t {
        auto& w = *static_cast<Walk*>(data);
        if (w.entries++ == kStackEntries) return 0;
        if (!w.text.empty()) w.text += " <- ";
        w.text += fmt::format("{} [{}: {}]", entry->desc ? entry->desc : "", message_text(entry->maj_num),
                              message_text(entry->min_num));
        return 0;
      },
      &walk);
  H5Eclear2(H5E_DEFAULT);
  return walk.text;
}

FileLocking file_locking() {
  if (const auto from_environment = environment_file_locking()) return *from_environment;
  const std::lock_guard lock(locking_mutex);
  return FileLocking{spec_locking.value_or(true), false};
}

void use_spec_file_locking(std::optional<bool> spec_value) {
  const std::lock_guard lock(locking_mutex);
  spec_locking = spec_value;
}

void apply_file_locking(hid_t file_access) {
  const FileLocking locking = file_locking();
  check_status(H5Pset_file_locking(file_access, locking.enabled, locking.ignore_when_disabled),
               "cannot set file locking on a file access property list");
}

void silence_library_errors() {
  thread_local bool silenced = false;
  if (!silenced) {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    silenced = true;
  }
}

Handle::Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
Handle::Handle(Handle&& o) noexcept : id_(o.id_), close_(o.close_) {
  o.id_ = H5I_INVALID_HID;
}
Handle& Handle::operator=(Handle&& o) noexcept {
  if (this != &o) {
    if (id_ >= 0 && close_) close_(id_);
    id_ = o.id_;
    close_ = o.close_;
    o.id_ = H5I_INVALID_HID;
  }
  return *this;
}
Handle::~Handle() {
  if (id_ >= 0 && close_) close_(id_);
}
herr_t Handle::close() {
  const hid_t id = std::exchange(id_, H5I_INVALID_HID);
  return id >= 0 && close_ ? close_(id) : 0;
}

Node Node::group(const std::string& name) const {
  return Node(Handle(check(H5Gopen2(id(), name.c_str(), H5P_DEFAULT),
                           fmt::format("{}: group '{}' is missing", path_, name)),
                     H5Gclose),
              child_path(*this, name));
}

Node Node::create_group(const std::string& name) const {
  return Node(Handle(check_write(H5Gcreate2(id(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                                 fmt::format("cannot create group {}/{}", path_, name)),
                     H5Gclose),
              child_path(*this, name));
}

bool Node::exists(const std::string& name) const {
  return H5Lexists(id(), name.c_str(), H5P_DEFAULT) > 0;
}

std::vector<std::string> Node::children() const {
  std::vector<std::string> names;
  H5Literate(
      id(), H5_INDEX_NAME, H5_ITER_INC, nullptr,
      [](hid_t, const char* name, const H5L_info_t*, void* out) -> herr_t {
        static_cast<std::vector<std::string>*>(out)->emplace_back(name);
        return 0;
      },
      &names);
  return names;
}

void Node::write(const std::string& n, const std::vector<double>& v) const {
  write_numbers(*this, n, v.data(), {v.size()});
}
void Node::write(const std::string& n, const std::vector<float>& v) const {
  write_numbers(*this, n, v.data(), {v.size()});
}
void Node::write(const std::string& n, const std::vector<std::int64_t>& v) const {
  write_numbers(*this, n, v.data(), {v.size()});
}
void Node::write(const std::string& n, const std::vector<std::uint64_t>& v) const {
  write_numbers(*this, n, v.data(), {v.size()});
}
void Node::write(const std::string& n, const std::vector<std::uint32_t>& v) const {
  write_numbers(*this, n, v.data(), {v.size()});
}
void Node::write(const std::string& n, const std::vector<std::int32_t>& v) const {
  write_numbers(*this, n, v.data(), {v.size()});
}
void Node::write(const std::string& n, const std::vector<std::int16_t>& v) const {
  write_numbers(*this, n, v.data(), {v.size()});
}
void Node::write(const std::string& n, const std::vector<std::string>& v) const {
  write_strings(*this, n, v, {v.size()});
}

void Node::write_matrix(const std::string& n, const std::vector<float>& v, std::size_t rows, std::size_t cols) const {
  if (v.size() != rows * cols) {
    throw InternalError(fmt::format("{}/{}: {} values do not fill {}x{}", path_, n, v.size(), rows, cols));
  }
  write_numbers(*this, n, v.data(), {rows, cols});
}

void Node::write_matrix(const std::string& n, const std::vector<std::uint8_t>& v, std::size_t rows,
                        std::size_t cols) const {
  if (v.size() != rows * cols) {
    throw InternalError(fmt::format("{}/{}: {} values do not fill {}x{}", path_, n, v.size(), rows, cols));
  }
  write_numbers(*this, n, v.data(), {rows, cols});
}

void Node::write_matrix(const std::string& n, const std::vector<std::string>& v, std::size_t rows,
                        std::size_t cols) const {
  if (v.size() != rows * cols) {
    throw InternalError(fmt::format("{}/{}: {} values do not fill {}x{}", path_, n, v.size(), rows, cols));
  }
  write_strings(*this, n, v, {rows, cols});
}

std::vector<double> Node::read_doubles(const std::string& n) const {
  return read_numbers<double>(*this, n);
}
std::vector<float> Node::read_floats(const std::string& n) const {
  return read_numbers<float>(*this, n);
}
std::vector<std::int64_t> Node::read_int64(const std::string& n) const {
  return read_numbers<std::int64_t>(*this, n);
}
std::vector<std::uint64_t> Node::read_uint64(const std::string& n) const {
  return read_numbers<std::uint64_t>(*this, n);
}
std::vector<std::uint32_t> Node::read_uint32(const std::string& n) const {
  return read_numbers<std::uint32_t>(*this, n);
}
std::vector<std::int32_t> Node::read_int32(const std::string& n) const {
  return read_numbers<std::int32_t>(*this, n);
}
std::vector<std::int16_t> Node::read_int16(const std::string& n) const {
  return read_numbers<std::int16_t>(*this, n);
}
std::vector<std::uint8_t> Node::read_uint8(const std::string& n) const {
  return read_numbers<std::uint8_t>(*this, n);
}

std::vector<std::string> Node::read_strings(const std::string& n) const {
  Handle ds = open_dataset(*this, n);
  const std::size_t count = element_total(ds.id());
  std::vector<std::string> out;
  if (count == 0) return out;
  Handle type = string_type();
  std::vector<char*> ptrs(count, nullptr);
  check_status(H5Dread(ds.id(), type.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()),
               fmt::format("cannot read dataset {}/{}", path_, n));
  out.reserve(count);
  for (char* p : ptrs) out.emplace_back(p ? p : "");
  Handle space(check(H5Dget_space(ds.id()), "cannot get dataspace"), H5Sclose);
  H5Dvlen_reclaim(type.id(), space.id(), H5P_DEFAULT, ptrs.data());
  return out;
}

void Node::write_pairs(const std::string& keys, const std::string& values, const StringPairs& pairs) const {
  std::vector<std::string> k, v;
  for (const auto& [key, value] : pairs) {
    k.push_back(key);
    v.push_back(value);
  }
  write(keys, k);
  write(values, v);
}

Node::StringPairs Node::read_pairs(const std::string& keys, const std::string& values) const {
  const auto k = read_strings(keys);
  const auto v = read_strings(values);
  if (k.size() != v.size()) {
    throw Error(fmt::format("{}: {} and {} differ in length ({} and {})", path_, keys, values, k.size(), v.size()));
  }
  StringPairs out;
  for (std::size_t i = 0; i < k.size(); ++i) out.emplace_back(k[i], v[i]);
  return out;
}

std::vector<std::size_t> Node::shape(const std::string& n) const {
  Handle ds = open_dataset(*this, n);
  Handle space(check(H5Dget_space(ds.id()), "cannot get dataspace"), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.id());
  std::vector<hsize_t> dims(static_cast<std::size_t>(std::max(rank, 0)));
  H5Sget_simple_extent_dims(space.id(), dims.data(), nullptr);
  return {dims.begin(), dims.end()};
}

void Node::set_attr(const std::string& name, const std::string& value) const {
  Handle type = string_type();
  const char* p = value.c_str();
  write_attr(*this, name, type.id(), &p);
}
void Node::set_attr(const std::string& name, double value) const {
  write_attr(*this, name, H5T_NATIVE_DOUBLE, &value);
}
void Node::set_attr(const std::string& name, std::int64_t value) const {
  write_attr(*this, name, H5T_NATIVE_INT64, &value);
}

std::string Node::attr_string(const std::string& name) const {
  Handle attr = open_attr(*this, name);
  Handle type = string_type();
  char* p = nullptr;
  check_status(H5Aread(attr.id(), type.id(), &p), fmt::format("cannot read attribute {}@{}", path_, name));
  std::string out = p ? p : "";
  H5free_memory(p);
  return out;
}

double Node::attr_double(const std::string& name) const {
  Handle attr = open_attr(*this, name);
  double v = 0;
  check_status(H5Aread(attr.id(), H5T_NATIVE_DOUBLE, &v), fmt::format("cannot read attribute {}@{}", path_, name));
  return v;
}

std::int64_t Node::attr_int(const std::string& name) const {
  Handle attr = open_attr(*this, name);
  std::int64_t v = 0;
  check_status(H5Aread(attr.id(), H5T_NATIVE_INT64, &v), fmt::format("cannot read attribute {}@{}", path_, name));
  return v;
}

bool Node::has_attr(const std::string& name) const {
  return H5Aexists(id(), name.c_str()) > 0;
}

std::vector<std::string> Node::attribute_names() const {
  std::vector<std::string> names;
  hsize_t position = 0;
  const herr_t status = H5Aiterate2(
      id(), H5_INDEX_NAME, H5_ITER_INC, &position,
      [](hid_t, const char* name, const H5A_info_t*, void* out) -> herr_t {
        static_cast<std::vector<std::string>*>(out)->emplace_back(name);
        return 0;
      },
      &names);
  check_status(status, fmt::format("cannot list the attributes of {}", path_));
  return names;
}

namespace {

// A file-access property list with gridfold's locking setting. Files gridfold creates close
// strongly: close() then closes every object still open in the file, so that its result is
// the file's real close.
Handle file_access(H5F_close_degree_t close_degree, Failure failure) {
  Handle fapl(check(H5Pcreate(H5P_FILE_ACCESS), "cannot create a file access property list", failure), H5Pclose);
  const FileLocking locking = file_locking();
  check_status(H5Pset_file_locking(fapl.id(), locking.enabled, locking.ignore_when_disabled), "cannot set file locking",
               failure);
  check_status(H5Pset_fclose_degree(fapl.id(), close_degree), "cannot set the file close degree", failure);
  return fapl;
}

}  // namespace

File File::create(const std::filesystem::path& path) {
  silence_library_errors();
  const Handle fapl = file_access(H5F_CLOSE_STRONG, Failure::write);
  return File(Handle(check_write(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.id()),
                                 fmt::format("cannot create HDF5 file {}", path.string())),
                     H5Fclose),
              path.string() + ":");
}

File File::open_read(const std::filesystem::path& path) {
  silence_library_errors();
  const Handle fapl = file_access(H5F_CLOSE_DEFAULT, Failure::read);
  return File(Handle(check(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.id()),
                           fmt::format("cannot open HDF5 file {}", path.string())),
                     H5Fclose),
              path.string() + ":");
}

File File::open_image(const void* data, std::size_t size, const std::string& name) {
  silence_library_errors();
  const Handle fapl = file_access(H5F_CLOSE_DEFAULT, Failure::read);
  check_status(H5Pset_fapl_core(fapl.id(), 1 << 16, 0), "cannot select the in-memory driver");
  check_status(H5Pset_file_image(fapl.id(), const_cast<void*>(data), size),
               fmt::format("cannot load the image of {}", name));
  return File(Handle(check(H5Fopen(name.c_str(), H5F_ACC_RDONLY, fapl.id()),
                           fmt::format("{} is not a readable HDF5 file", name)),
                     H5Fclose),
              name + ":");
}

void File::flush() const {
  check_write_status(H5Fflush(id(), H5F_SCOPE_GLOBAL), fmt::format("cannot flush {}", path()));
}

void File::close() {
  const std::string what = fmt::format("cannot close {} (its last writes may be lost)", path());
  check_write_status(handle().close(), what);
}

}  // namespace gridfold::h5
