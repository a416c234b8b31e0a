// F1 along the window: for each selection (as in harvest's per-sample predictions: "best",
// "nested", "config"), per_position target and config, the boundary counts of the outer
// results' test positions, pooled over the folds into bins of positions along the sequence
// (common/boundary_tally.hpp), per boundary class. Written as positions.csv (docs/harvest.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/boundary_tally.hpp"
#include "common/position_labels.hpp"

namespace gridfold {

class PositionProfiles {
 public:
  // Bins per profile: each is ceil(width / kBins) positions wide, width being the stored
  // sequence width of the first result added.
  static constexpr std::size_t kBins = 50;

  // One outer result's labels; the selection's config (none for "nested").
  void add(const std::string& selection, std::optional<std::uint32_t> config, const PositionLabels& labels);

  struct Row {
    std::string selection, target;
    std::optional<std::uint32_t> config;
    std::size_t class_index = 0;  // >= 1: a boundary class
    std::string class_name;
    std::int64_t tolerance = 0;
    std::size_t start = 0, end = 0;  // positions [start, end)
    BoundaryCounts counts;
  };
  // Sorted by selection, target, config, class and start.
  std::vector<Row> rows() const;

 private:
  struct Key {
    std::string selection, target;
    std::optional<std::uint32_t> config;
    auto operator<=>(const Key&) const = default;
  };
  struct Profile {
    std::vector<std::string> classes;
    std::int64_t tolerance = 0;
    BoundaryTally tally;
  };
  std::map<Key, Profile> profiles_;
};

}  // namespace gridfold
