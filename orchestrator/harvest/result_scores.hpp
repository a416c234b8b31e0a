// The scores of every result of an experiment, read by several processes at once. A
// thread-safe HDF5 runs one call at a time per process (a global lock), and opening a result
// image costs ~40 µs, so reading 100,000 results is bound by one core unless the work is split
// across processes.
#pragma once

#include <string>
#include <vector>

#include "common/fold_scores.hpp"
#include "orchestrator/harvest/result_store.hpp"

namespace gridfold {

// Scores kept in archive summaries are read from them; the other results are split into
// `processes` shares (ResultStore::for_each); share 0 is read in this process, the others in
// forked children that return their scores through anonymous memory files. An error in a child is rethrown here with
// its type (ArchiveError, h5::Error) or as std::runtime_error.
std::vector<NamedScores> read_result_scores(const ResultStore& store, unsigned processes);

// The CPUs this process may run on (its affinity mask, which SLURM and cgroups restrict),
// at most 8.
unsigned available_cpus();

}  // namespace gridfold
