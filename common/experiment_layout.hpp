// Where everything of one experiment lives on disk (see docs/experiment-directory.md).
#pragma once

#include <filesystem>
#include <string>

namespace gridfold {

class ExperimentLayout {
 public:
  explicit ExperimentLayout(std::filesystem::path root) : root_(std::move(root)) {}
  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path spec() const { return root_ / "spec.yaml"; }  // frozen copy
  std::filesystem::path plan() const { return root_ / "plan.h5"; }
  std::filesystem::path results_dir() const { return root_ / "results"; }
  std::filesystem::path failures_dir() const { return root_ / "failures"; }
  std::filesystem::path checkpoints_dir() const { return root_ / "checkpoints"; }
  std::filesystem::path logs_dir() const { return root_ / "logs"; }
  std::filesystem::path slurm_dir() const { return root_ / "slurm"; }
  std::filesystem::path archives_dir() const { return root_ / "archives"; }
  // Results, checkpoints and failures set aside because they no longer fit the plan
  // (plan --replan, or a stale result its task is rerun over); never deleted by gridfold.
  std::filesystem::path superseded_dir() const { return root_ / "superseded"; }

  // Result names depend on the config id and fold only, never on task numbers, so that a
  // re-planned grid finds the results it already has.
  static std::string result_name(int outer_fold, int inner_fold);  // "outer003[-inner01]"
  std::filesystem::path result(const std::string& config_id, int outer_fold, int inner_fold) const;
  std::filesystem::path failure(const std::string& config_id, int outer_fold, int inner_fold) const;
  std::filesystem::path checkpoint(const std::string& config_id, int outer_fold, int inner_fold) const;

 private:
  std::filesystem::path root_;
};

}  // namespace gridfold
