// The largest plan gridfold makes, and the checks that hold a spec to it (docs/spec.md,
// "Limits"). The spec parser applies them with the offending key's line:column, so a spec
// too large to plan fails at once instead of looping, overflowing or exhausting memory.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/spec.hpp"

namespace gridfold {

// plan.h5 and the task table number folds as 16-bit signed integers (-1 = outer task), so a
// plan holds at most 32767 outer folds and 32767 inner folds per outer fold.
inline constexpr int kMaxOuterFolds = 32767;
inline constexpr int kMaxInnerFolds = 32767;

// Combinations of grid values, before excludes: the grid is expanded into one config (about
// 1 KiB in memory with its parameters) per combination.
inline constexpr std::uint64_t kMaxGridCombinations = 1'000'000;

// Tasks of a plan (configs x outer folds x (1 + inner folds)): 1M tasks plan in 0.3 s and
// 64 MiB (bench/plan), so the limit keeps plan (and status, harvest) within seconds and 1 GiB.
inline constexpr std::uint64_t kMaxPlanTasks = 10'000'000;

// The product of the lengths of the grid's axes (1 without axes), or nothing when it exceeds
// 2^64 - 1. Never overflows.
std::optional<std::uint64_t> grid_combinations(const GridSpec& grid);

// The configs the grid expands to: its combinations minus the excluded ones, counted without
// building them. The grid's combinations must be within kMaxGridCombinations.
std::uint64_t grid_config_count(const GridSpec& grid);

// configs x outer_folds x (1 + inner_folds), saturating at 2^64 - 1 instead of overflowing.
std::uint64_t plan_task_count(std::uint64_t configs, std::uint64_t outer_folds, std::uint64_t inner_folds);

// Throws SpecError "where: ..." naming the count and its maximum when the fold counts or the
// plan's task count exceed their limits.
void check_plan_limits(std::uint64_t configs, std::uint64_t outer_folds, std::uint64_t inner_folds,
                       const std::string& where);

}  // namespace gridfold
