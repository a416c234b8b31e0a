#include "common/experiment_layout.hpp"

#include <fmt/format.h>

namespace gridfold {

std::string ExperimentLayout::result_name(int outer_fold, int inner_fold) {
  if (inner_fold < 0) return fmt::format("outer{:03d}", outer_fold);
  return fmt::format("outer{:03d}-inner{:02d}", outer_fold, inner_fold);
}

std::filesystem::path ExperimentLayout::result(const std::string& config_id, int outer_fold, int inner_fold) const {
  return results_dir() / config_id / (result_name(outer_fold, inner_fold) + ".h5");
}

std::filesystem::path ExperimentLayout::failure(const std::string& config_id, int outer_fold, int inner_fold) const {
  return failures_dir() / config_id / (result_name(outer_fold, inner_fold) + ".txt");
}

std::filesystem::path ExperimentLayout::checkpoint(const std::string& config_id, int outer_fold, int inner_fold) const {
  return checkpoints_dir() / config_id / (result_name(outer_fold, inner_fold) + ".pt");
}

}  // namespace gridfold
