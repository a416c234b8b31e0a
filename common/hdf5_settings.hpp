// The HDF5 settings an experiment's spec chooses (output.hdf5_file_locking), made the
// process-wide setting for every HDF5 file opened or created afterwards. Each command calls
// one of these once at its start, before it opens a file; see h5::file_locking for how the
// environment takes precedence.
#pragma once

#include "common/experiment_layout.hpp"
#include "common/spec.hpp"

namespace gridfold {

// Uses the settings of `spec` (the spec gridfold plan reads).
void use_hdf5_settings(const ExperimentSpec& spec);

// Uses the settings of the experiment's frozen spec.yaml; leaves them as they are when the
// directory has none (the command then reports what is missing itself). Throws SpecError
// when spec.yaml cannot be parsed.
void use_experiment_hdf5_settings(const ExperimentLayout& layout);

}  // namespace gridfold
