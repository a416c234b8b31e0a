// The canonical text of what a configuration trains: every data, model and training key of a
// resolved spec, one "section.key=value" line each in a fixed order, defaults written out. Two
// specs that train the same thing give the same text however they were written (key order,
// a default spelled out or left implicit, a value set in the base or by the grid); anything
// that changes what is trained changes it. Config ids and result fingerprints hash it.
#pragma once

#include <string>

#include "common/spec.hpp"

namespace gridfold {

// data.*, model.* and training.* of `spec`. File paths are left out: the data file and the
// label table are identified by content (data_checksum), a TorchScript model by
// "model.script_checksum". training.threads is left out too: like the slurm section it says
// how to run, not what to train. Of the diagnostics section only the rules whose action is
// `stop` count ("diagnostics.stop", absent when none does): the others only watch.
std::string canonical_config(const ExperimentSpec& spec);

// resampling.* of `spec`: what decides the folds besides the data.
std::string canonical_resampling(const ResamplingSpec& resampling);

// XXH64 of the data file's bytes (and of the label table's, for FASTA data), as hex digits;
// throws DataError naming a file that cannot be read.
std::string data_checksum(const DataSpec& data);

}  // namespace gridfold
