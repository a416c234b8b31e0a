#include "orchestrator/harvest/position_profile.hpp"

#include <fmt/format.h>

#include <stdexcept>

namespace gridfold {

void PositionProfiles::add(const std::string& selection, std::optional<std::uint32_t> config,
                           const PositionLabels& labels) {
  const Key key{selection, labels.target, config};
  auto it = profiles_.find(key);
  if (it == profiles_.end()) {
    const std::size_t bin_width = std::max<std::size_t>(1, (labels.width + kBins - 1) / kBins);
    it = profiles_
             .emplace(key, Profile{labels.classes, labels.tolerance,
                                   BoundaryTally(labels.classes.size(), static_cast<std::size_t>(labels.tolerance),
                                                 bin_width)})
             .first;
  }
  Profile& p = it->second;
  if (labels.classes != p.classes || labels.tolerance != p.tolerance) {
    throw std::invalid_argument(fmt::format(
        "results of target '{}' disagree on its classes ({} vs {}) or tolerance ({} vs {}); the spec changed "
        "between runs: rerun the tasks of the older results",
        labels.target, fmt::join(labels.classes, ", "), fmt::join(p.classes, ", "), labels.tolerance, p.tolerance));
  }
  p.tally.add(labels);
}

std::vector<PositionProfiles::Row> PositionProfiles::rows() const {
  std::vector<Row> out;
  for (const auto& [key, p] : profiles_) {
    const auto& counts = p.tally.counts();
    for (std::size_t c = 0; c < counts.size(); ++c) {
      for (std::size_t b = 0; b < counts[c].size(); ++b) {
        const std::size_t width = p.tally.bin_width();
        out.push_back({key.selection, key.target, key.config, c + 1, p.classes[c + 1], p.tolerance, b * width,
                       (b + 1) * width, counts[c][b]});
      }
    }
  }
  return out;
}

}  // namespace gridfold
