// Which tasks of a plan have finished: a result under its final name in the results
// directory (results are renamed into place only when complete), or in a committed archive
// of this experiment (its id, plan.experiment_id; never another experiment's of the same name)
// whose fingerprint is the one the plan expects (result_fingerprint.hpp). A result of a task
// made from another spec, data, fold or gridfold version is stale: counted, never done.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "common/archive_catalog.hpp"
#include "common/experiment_layout.hpp"
#include "common/plan.hpp"

namespace gridfold {

struct ResultInventory {
  std::vector<bool> done;  // done[i]: task i has a result with the expected fingerprint
  std::size_t stale = 0;   // tasks that have results, none of them with the expected fingerprint
  // Result files of the plan's tasks: loose under results/, and members of committed archives
  // (a result archived twice counts twice); the bound waves keep on loose files (inode quotas).
  std::size_t loose = 0, archived = 0;
  // The done tasks' results by the device they trained on ("cpu", "cuda:0"; "unrecorded" for
  // results of gridfold versions that did not record it).
  std::map<std::string, std::size_t> devices;
  // The done tasks by the training-diagnostics rules that fired in them: rule -> tasks in
  // which it fired, and tasks whose training it stopped.
  struct RuleTasks {
    std::size_t flagged = 0, stopped = 0;
  };
  std::map<std::string, RuleTasks> firings;
};

// Walks the results that exist rather than probing every task's path (a million stat calls
// for a million-task plan). Loose results are opened for their fingerprint; archived ones are
// looked up in the archive's fingerprint list (archive_fingerprints).
ResultInventory finished_tasks(const ExperimentLayout& layout, const ExperimentPlan& plan,
                               const std::filesystem::path& archive_dir);

// The fingerprint digest of every result member of a committed archive, by member name, from
// the archive's summary (common/archive_summary.hpp: written by pack, else computed once and kept).
std::vector<std::pair<std::string, std::string>> archive_fingerprints(const CatalogedArchive& archive);

// What a loose result file says it is: its fingerprint digest (empty when it has none, schema
// before 4, or is not a complete, readable result), the device it trained on and the
// diagnostic rules that fired in its training.
struct ResultStamp {
  std::string digest, device;
  std::map<std::string, int> firings;  // training-diagnostics rule -> times it fired
  std::string stopped_by;              // the rule that stopped its training; empty: none
};
ResultStamp read_result_stamp(const std::filesystem::path& file);

// read_result_stamp(file).digest.
std::string result_file_fingerprint(const std::filesystem::path& file);

}  // namespace gridfold
