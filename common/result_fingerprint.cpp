#include "common/result_fingerprint.hpp"

#include <fmt/format.h>

#include <bit>

#include "common/checksum.hpp"

namespace gridfold {
namespace {

std::string rows_checksum(std::span<const std::uint32_t> rows) {
  if constexpr (std::endian::native == std::endian::little) return checksum_hex(xxh64(std::as_bytes(rows)));
  std::vector<std::uint32_t> swapped(rows.begin(), rows.end());
  for (auto& r : swapped) r = __builtin_bswap32(r);
  return checksum_hex(xxh64(std::as_bytes(std::span(swapped))));
}

}  // namespace

std::string ResultFingerprint::digest() const {
  // Lengths frame each part, so no two different fingerprints concatenate to one text.
  std::string framed;
  for (const std::string* part : {&config, &data_checksum, &resampling, &test_rows, &gridfold_version}) {
    framed += fmt::format("{}:{}\n", part->size(), *part);
  }
  return checksum_hex(xxh64(std::as_bytes(std::span(framed.data(), framed.size()))));
}

ResultFingerprint expected_fingerprint(const ExperimentPlan& plan, std::size_t task_index) {
  const Task& task = plan.tasks.at(task_index);
  return {plan.configs.at(task.config).canonical, plan.data_checksum, plan.resampling,
          rows_checksum(test_rows(plan, task)), GRIDFOLD_VERSION};
}

std::vector<std::string> expected_digests(const ExperimentPlan& plan) {
  std::vector<std::string> digests;
  digests.reserve(plan.tasks.size());
  for (std::size_t i = 0; i < plan.tasks.size(); ++i) digests.push_back(expected_fingerprint(plan, i).digest());
  return digests;
}

}  // namespace gridfold
