#include "common/result_fingerprint.hpp"

#include <fmt/format.h>

#include <bit>
#include <map>
#include <utility>

#include "common/checksum.hpp"

namespace gridfold {
namespace {

std::string rows_checksum(std::span<const std::uint32_t> rows) {
  if constexpr (std::endian::native == std::endian::little) return checksum_hex(xxh64(std::as_bytes(rows)));
  std::vector<std::uint32_t> swapped(rows.begin(), rows.end());
  for (auto& r : swapped) r = __builtin_bswap32(r);
  return checksum_hex(xxh64(std::as_bytes(std::span(swapped))));
}

// Lengths frame each part, so no two different fingerprints concatenate to one text.
void frame(std::string& framed, const std::string& part) {
  framed += fmt::format("{}:{}\n", part.size(), part);
}

std::string digest_of(const std::string& framed) {
  return checksum_hex(xxh64(std::as_bytes(std::span(framed.data(), framed.size()))));
}

}  // namespace

std::string ResultFingerprint::digest() const {
  std::string framed;
  for (const std::string* part : {&config, &data_checksum, &resampling, &test_rows, &gridfold_version}) {
    frame(framed, *part);
  }
  return digest_of(framed);
}

ResultFingerprint expected_fingerprint(const ExperimentPlan& plan, std::size_t task_index) {
  const Task& task = plan.tasks.at(task_index);
  return {plan.configs.at(task.config).canonical, plan.data_checksum, plan.resampling,
          rows_checksum(test_rows(plan, task)), GRIDFOLD_VERSION};
}

std::vector<std::string> expected_digests(const ExperimentPlan& plan) {
  // digest() of each task's fingerprint, from the framed parts of each config and of each fold
  // made once: a million tasks share 20,000 configs and 50 folds, and checksumming the test
  // rows and formatting the parts anew per task took seconds.
  std::vector<std::string> config_parts(plan.configs.size());
  std::map<std::pair<int, int>, std::string> fold_parts;
  std::vector<std::string> digests;
  digests.reserve(plan.tasks.size());
  std::string framed;
  for (const Task& task : plan.tasks) {
    std::string& head = config_parts.at(task.config);
    if (head.empty()) {
      frame(head, plan.configs[task.config].canonical);
      frame(head, plan.data_checksum);
      frame(head, plan.resampling);
    }
    std::string& tail = fold_parts[{task.outer_fold, task.inner_fold}];
    if (tail.empty()) {
      frame(tail, rows_checksum(test_rows(plan, task)));
      frame(tail, GRIDFOLD_VERSION);
    }
    framed.assign(head).append(tail);
    digests.push_back(digest_of(framed));
  }
  return digests;
}

}  // namespace gridfold
