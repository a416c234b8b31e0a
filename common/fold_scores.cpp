#include "common/fold_scores.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <vector>

#include "common/fold_result.hpp"
#include "common/hdf5.hpp"

namespace gridfold {
namespace {

// Opens images with one file-access property list per thread, whose callbacks let HDF5's
// in-memory driver read the caller's buffer where it is. h5::File::open_image creates a
// property list and copies the image twice per file, which for a small result costs about a
// fifth of reading its scores. The images are opened read-only, so nothing writes the buffer.
class ImageOpener {
 public:
  ImageOpener() {
    h5::silence_library_errors();
    fapl_ = h5::Handle(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
    H5FD_file_image_callbacks_t callbacks{&ImageOpener::allocate,
                                          &ImageOpener::copy,
                                          &ImageOpener::reallocate,
                                          &ImageOpener::release,
                                          &ImageOpener::share,
                                          &ImageOpener::unshare,
                                          this};
    if (fapl_.id() < 0 || H5Pset_fapl_core(fapl_.id(), 1 << 16, 0) < 0 ||
        H5Pset_file_image_callbacks(fapl_.id(), &callbacks) < 0) {
      throw h5::Error(fmt::format("cannot set up reading fold results from memory (HDF5: {})", h5::error_stack()));
    }
  }

  h5::Node open(const void* data, std::size_t size, const std::string& name) {
    image_ = data;
    h5::apply_file_locking(fapl_.id());  // the setting may have changed since the last image
    if (H5Pset_file_image(fapl_.id(), const_cast<void*>(data), size) < 0) {
      throw h5::Error(fmt::format("cannot load the image of {} (HDF5: {})", name, h5::error_stack()));
    }
    const hid_t file = H5Fopen(name.c_str(), H5F_ACC_RDONLY, fapl_.id());
    if (file < 0) {
      throw h5::Error(fmt::format("{} is not a readable HDF5 file (HDF5: {})", name, h5::error_stack()));
    }
    return h5::Node(h5::Handle(file, H5Fclose), name + ":");
  }

 private:
  // Every buffer HDF5 asks for is the caller's image, so every copy is from it onto itself.
  static void* allocate(std::size_t, H5FD_file_image_op_t, void* self) {
    return const_cast<void*>(static_cast<ImageOpener*>(self)->image_);
  }
  static void* copy(void* destination, const void*, std::size_t, H5FD_file_image_op_t, void*) { return destination; }
  static void* reallocate(void*, std::size_t, H5FD_file_image_op_t, void*) { return nullptr; }
  static herr_t release(void*, H5FD_file_image_op_t, void*) { return 0; }
  static void* share(void* self) { return self; }
  static herr_t unshare(void*) { return 0; }

  h5::Handle fapl_;
  const void* image_ = nullptr;
};

}  // namespace

FoldScores read_fold_scores_image(const void* data, std::size_t size, const std::string& name) {
  thread_local ImageOpener opener;
  const h5::Node file = opener.open(data, size, name);
  if (!file.has_attr("complete") || file.attr_int("complete") != 1) {
    throw h5::Error(fmt::format("{} is an incomplete fold result (no completion marker); rerun its task", name));
  }
  const std::int64_t version = file.attr_int("schema_version");
  if (version < kOldestFoldResultSchemaVersion || version > kFoldResultSchemaVersion) {
    throw h5::Error(fmt::format("{} has result schema version {}, this gridfold reads versions {} to {}", name, version,
                                kOldestFoldResultSchemaVersion, kFoldResultSchemaVersion));
  }
  FoldScores s;
  s.config_id = file.attr_string("config_id");
  s.outer_fold = static_cast<int>(file.attr_int("outer_fold"));
  s.inner_fold = static_cast<int>(file.attr_int("inner_fold"));
  if (version >= 4) s.fingerprint = file.group("fingerprint").attr_string("digest");
  const h5::Node provenance = file.group("provenance");
  if (provenance.has_attr("device")) s.device = provenance.attr_string("device");
  const h5::Node metrics = file.group("metrics");
  for (const auto& target : metrics.children()) {
    const h5::Node group = metrics.group(target);
    MetricValues& out = s.metrics[target];
    for (const auto& metric : group.attribute_names()) out[metric] = group.attr_double(metric);
  }
  if (file.exists("diagnostics")) {
    const h5::Node diagnostics = file.group("diagnostics");
    s.stopped_by = diagnostics.attr_string("stopped_by");
    for (const auto& rule : diagnostics.group("firings").read_strings("rule")) ++s.firings[rule];
  }
  return s;
}

}  // namespace gridfold
