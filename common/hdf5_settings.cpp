#include "common/hdf5_settings.hpp"

#include <system_error>

#include "common/hdf5.hpp"
#include "common/text_file.hpp"

namespace gridfold {

void use_hdf5_settings(const ExperimentSpec& spec) {
  h5::use_spec_file_locking(spec.output.hdf5_file_locking);
}

void use_experiment_hdf5_settings(const ExperimentLayout& layout) {
  std::error_code ignored;  // an unreadable spec.yaml fails below with its own message
  if (!std::filesystem::exists(layout.spec(), ignored)) return;
  // Relative paths in the spec are not used here, so the experiment directory serves as
  // their base; the plan records the real one.
  const SpecDocument spec = SpecDocument::load(layout.spec(), layout.root());
  use_hdf5_settings(spec.base());
}

}  // namespace gridfold
