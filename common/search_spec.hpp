// The `search:` section of a spec (docs/spec.md): how the grid is searched (every config on
// every fold, or racing), and sampled search spaces, whose configs are drawn from
// distributions instead of listed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gridfold {

enum class TaskType;

enum class SearchStrategy { grid, race };

struct SearchSpec {
  SearchStrategy strategy = SearchStrategy::grid;
  // race: the race folds (outer folds, or inner folds of each outer fold with an inner loop)
  // after which the race decides, ascending, each below the race fold count. Resolved by the
  // parser: the spec's list, or min_folds doubling (5, 10, 20, ...) below the count.
  std::vector<int> rounds;
  double alpha = 0.05;  // race: family-wise error of one decision
  int min_folds = 5;    // race: no config is eliminated on fewer shared folds
  std::string target;   // race metric's target; resolved: final_model.target, else the first target
  std::string metric;   // resolved: final_model.metric, else default_ranking_metric of the target
  int samples = 0;      // > 0: the grid is a search space and this many configs are drawn from it
  std::uint64_t seed = 1;
};

// The metric configs are ranked by when none is asked for: r2 (regression), auroc (binary),
// accuracy (multiclass), f1 (per position).
std::string default_ranking_metric(TaskType task);

}  // namespace gridfold
