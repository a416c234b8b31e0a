#include "worker/balanced_sampling.hpp"

#include <cmath>
#include <map>

namespace gridfold::worker {

BalancedSampler::BalancedSampler(std::span<const std::uint32_t> rows, std::span<const float> labels) {
  std::map<float, std::vector<std::int64_t>> by_class;
  for (const std::uint32_t row : rows) {
    const float label = labels[row];
    if (!std::isnan(label)) by_class[label].push_back(row);
  }
  for (auto& [label, members] : by_class) members_.push_back(std::move(members));
}

std::vector<std::int64_t> BalancedSampler::draw(std::size_t count, std::mt19937_64& rng) const {
  std::vector<std::int64_t> drawn;
  if (members_.empty()) return drawn;
  drawn.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const auto& members = members_[rng() % members_.size()];
    drawn.push_back(members[rng() % members.size()]);
  }
  return drawn;
}

}  // namespace gridfold::worker
