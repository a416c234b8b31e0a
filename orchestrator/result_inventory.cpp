#include "orchestrator/result_inventory.hpp"

#include <filesystem>
#include <unordered_map>

namespace gridfold {
namespace fs = std::filesystem;

std::vector<bool> finished_tasks(const ExperimentLayout& layout, const ExperimentPlan& plan) {
  std::vector<bool> done(plan.tasks.size(), false);
  if (!fs::is_directory(layout.results_dir())) return done;
  std::unordered_map<std::string, std::uint32_t> config_of_id;
  for (std::uint32_t c = 0; c < plan.configs.size(); ++c) config_of_id.emplace(plan.configs[c].id, c);
  std::unordered_map<std::string, std::pair<int, int>> folds_of_name;
  for (int f = 0; f < static_cast<int>(plan.folds.outer_count()); ++f) {
    for (int j = -1; j < plan.folds.inner_count; ++j) folds_of_name.emplace(ExperimentLayout::result_name(f, j) + ".h5", std::pair{f, j});
  }
  for (const auto& dir : fs::directory_iterator(layout.results_dir())) {
    const auto config = config_of_id.find(dir.path().filename().string());
    if (config == config_of_id.end() || !dir.is_directory()) continue;
    for (const auto& file : fs::directory_iterator(dir.path())) {
      const auto folds = folds_of_name.find(file.path().filename().string());
      if (folds == folds_of_name.end()) continue;
      done[task_index(plan, config->second, folds->second.first, folds->second.second)] = true;
    }
  }
  return done;
}

}  // namespace gridfold
