// What produced a fold result: the task's full resolved config, the data file's content, the
// resampling plan and the exact test rows of the fold, and the gridfold version. A result
// counts as the result of a task only when its fingerprint equals the one the current plan
// expects (docs/result-schema.md, "Fingerprint"); any other result of the task is stale.
#pragma once

#include <cstddef>
#include <string>

#include "common/plan.hpp"

namespace gridfold {

struct ResultFingerprint {
  std::string config;            // canonical_config of the task's configuration
  std::string data_checksum;     // config_text.hpp data_checksum at planning time
  std::string resampling;        // canonical_resampling
  std::string test_rows;         // XXH64 hex of the fold's test rows (uint32 little-endian)
  std::string gridfold_version;  // GRIDFOLD_VERSION
  bool operator==(const ResultFingerprint&) const = default;

  // XXH64 hex of all of the above in a fixed framing: one value to store and compare.
  std::string digest() const;
};

// The fingerprint the plan expects of task `task_index`'s result, with this gridfold's version.
ResultFingerprint expected_fingerprint(const ExperimentPlan& plan, std::size_t task_index);

// expected_fingerprint(plan, i).digest() for every task, in task order.
std::vector<std::string> expected_digests(const ExperimentPlan& plan);

}  // namespace gridfold
