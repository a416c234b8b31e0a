#include "common/result_inventory.hpp"

#include <unordered_map>

#include "common/archive_catalog.hpp"

namespace gridfold {
namespace fs = std::filesystem;

namespace {

// Maps "<config id>/<result file name>" to its task.
class ResultNames {
 public:
  explicit ResultNames(const ExperimentPlan& plan) : plan_(plan) {
    for (std::uint32_t c = 0; c < plan.configs.size(); ++c) config_of_id_.emplace(plan.configs[c].id, c);
    for (int f = 0; f < static_cast<int>(plan.folds.outer_count()); ++f) {
      for (int j = -1; j < plan.folds.inner_count; ++j) {
        folds_of_file_.emplace(ExperimentLayout::result_name(f, j) + ".h5", std::pair{f, j});
      }
    }
  }
  bool has_config(const std::string& id) const { return config_of_id_.contains(id); }
  void mark(const std::string& config_id, const std::string& file, std::vector<bool>& done) const {
    const auto config = config_of_id_.find(config_id);
    const auto folds = folds_of_file_.find(file);
    if (config == config_of_id_.end() || folds == folds_of_file_.end()) return;
    done[task_index(plan_, config->second, folds->second.first, folds->second.second)] = true;
  }

 private:
  const ExperimentPlan& plan_;
  std::unordered_map<std::string, std::uint32_t> config_of_id_;
  std::unordered_map<std::string, std::pair<int, int>> folds_of_file_;
};

}  // namespace

std::vector<bool> finished_tasks(const ExperimentLayout& layout, const ExperimentPlan& plan,
                                 const fs::path& archive_dir) {
  std::vector<bool> done(plan.tasks.size(), false);
  const ResultNames names(plan);
  if (fs::is_directory(layout.results_dir())) {
    for (const auto& dir : fs::directory_iterator(layout.results_dir())) {
      const std::string config_id = dir.path().filename().string();
      if (!dir.is_directory() || !names.has_config(config_id)) continue;
      for (const auto& file : fs::directory_iterator(dir.path())) names.mark(config_id, file.path().filename().string(), done);
    }
  }
  for (const auto& archive : list_archives(archive_dir, plan.experiment_id)) {
    for (const auto& member : archive.index.members) {
      const fs::path name(member.name);  // results/<config id>/<file>
      if (name.parent_path().parent_path() != "results") continue;
      names.mark(name.parent_path().filename().string(), name.filename().string(), done);
    }
  }
  return done;
}

}  // namespace gridfold
