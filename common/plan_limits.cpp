#include "common/plan_limits.hpp"

#include <limits>
#include <vector>

#include <fmt/format.h>

namespace gridfold {
namespace {

constexpr std::uint64_t kMax64 = std::numeric_limits<std::uint64_t>::max();

std::uint64_t saturating_product(std::uint64_t a, std::uint64_t b) {
  if (a != 0 && b > kMax64 / a) return kMax64;
  return a * b;
}

}  // namespace

std::optional<std::uint64_t> grid_combinations(const GridSpec& grid) {
  std::uint64_t total = 1;
  for (const GridAxis& axis : grid.axes) {
    const std::uint64_t steps = axis.values.size();
    if (steps != 0 && total > kMax64 / steps) return std::nullopt;
    total *= steps;
  }
  return total;
}

std::uint64_t grid_config_count(const GridSpec& grid) {
  const std::uint64_t total = grid_combinations(grid).value_or(kMax64);
  if (total > kMaxGridCombinations) {
    throw InternalError(
        fmt::format("grid_config_count: {} combinations exceed the limit of {}", total, kMaxGridCombinations));
  }
  if (grid.excludes.empty()) return total;
  // agrees[r][a][s]: step s of axis a has the value exclude rule r names for each of the axis's
  // paths (every step agrees where the rule names none of them). A combination is excluded, as
  // in expand_grid, when all its steps agree with one rule.
  const std::size_t axes = grid.axes.size();
  std::vector<std::vector<std::vector<bool>>> agrees;
  for (const ParamAssignment& rule : grid.excludes) {
    auto& by_axis = agrees.emplace_back(axes);
    for (std::size_t a = 0; a < axes; ++a) {
      const GridAxis& axis = grid.axes[a];
      by_axis[a].assign(axis.values.size(), true);
      for (std::size_t j = 0; j < axis.paths.size(); ++j) {
        const auto named = rule.find(axis.paths[j]);
        if (named == rule.end()) continue;
        for (std::size_t s = 0; s < axis.values.size(); ++s) {
          if (!(axis.values[s][j] == named->second)) by_axis[a][s] = false;
        }
      }
    }
  }
  std::uint64_t kept = 0;
  std::vector<std::size_t> step(axes, 0);
  for (std::uint64_t n = 0; n < total; ++n) {
    bool excluded = false;
    for (const auto& by_axis : agrees) {
      bool all = true;
      for (std::size_t a = 0; a < axes && all; ++a) all = by_axis[a][step[a]];
      if (all) {
        excluded = true;
        break;
      }
    }
    if (!excluded) ++kept;
    for (std::size_t a = axes; a-- > 0;) {
      if (++step[a] < grid.axes[a].values.size()) break;
      step[a] = 0;
    }
  }
  return kept;
}

std::uint64_t plan_task_count(std::uint64_t configs, std::uint64_t outer_folds, std::uint64_t inner_folds) {
  const std::uint64_t per_outer = inner_folds == kMax64 ? kMax64 : inner_folds + 1;
  return saturating_product(configs, saturating_product(outer_folds, per_outer));
}

void check_plan_limits(std::uint64_t configs, std::uint64_t outer_folds, std::uint64_t inner_folds,
                       const std::string& where) {
  if (outer_folds > static_cast<std::uint64_t>(kMaxOuterFolds)) {
    throw SpecError(fmt::format("{}: {} outer folds; a plan holds at most {}", where, outer_folds, kMaxOuterFolds));
  }
  if (inner_folds > static_cast<std::uint64_t>(kMaxInnerFolds)) {
    throw SpecError(
        fmt::format("{}: {} inner folds per outer fold; a plan holds at most {}", where, inner_folds, kMaxInnerFolds));
  }
  const std::uint64_t tasks = plan_task_count(configs, outer_folds, inner_folds);
  if (tasks > kMaxPlanTasks) {
    throw SpecError(
        fmt::format("{}: the plan would have {} configs x {} outer folds x (1 + {} inner folds) = {} "
                    "tasks; a plan holds at most {} tasks (make the grid or the fold counts smaller, "
                    "or split the experiment)",
                    where, configs, outer_folds, inner_folds, tasks, kMaxPlanTasks));
  }
}

}  // namespace gridfold
