#include "common/result_inventory.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <sstream>
#include <string_view>
#include <unordered_map>

#include "common/archive_summary.hpp"
#include "common/checksum.hpp"
#include "common/fold_scores.hpp"
#include "common/hdf5.hpp"
#include "common/result_fingerprint.hpp"
#include "common/text_file.hpp"

namespace gridfold {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kResultsDir = "results/";

// A member name "results/<config id>/<file>" split into config id and file; nothing when it
// has another form.
std::optional<std::pair<std::string_view, std::string_view>> split_result_name(std::string_view name) {
  if (!name.starts_with(kResultsDir)) return std::nullopt;
  name.remove_prefix(kResultsDir.size());
  const auto slash = name.find('/');
  if (slash == std::string_view::npos || name.find('/', slash + 1) != std::string_view::npos) return std::nullopt;
  return std::pair{name.substr(0, slash), name.substr(slash + 1)};
}

// Maps "<config id>/<result file name>" to its task, and tells current results from stale ones.
class ResultNames {
 public:
  explicit ResultNames(const ExperimentPlan& plan) : plan_(plan), expected_(expected_digests(plan)) {
    for (std::uint32_t c = 0; c < plan.configs.size(); ++c) config_of_id_.emplace(plan.configs[c].id, c);
    for (int f = 0; f < static_cast<int>(plan.folds.outer_count()); ++f) {
      for (int j = -1; j < plan.folds.inner_count; ++j) {
        folds_of_file_.emplace(ExperimentLayout::result_name(f, j) + ".h5", std::pair{f, j});
      }
    }
    seen_.assign(plan.tasks.size(), false);
  }
  bool has_config(std::string_view id) const { return config_of_id_.contains(id); }
  // The task of a result name, or -1 when the name belongs to no task of the plan.
  std::ptrdiff_t task_of(std::string_view config_id, std::string_view file) const {
    const auto config = config_of_id_.find(config_id);
    const auto folds = folds_of_file_.find(file);
    if (config == config_of_id_.end() || folds == folds_of_file_.end()) return -1;
    return static_cast<std::ptrdiff_t>(task_index(plan_, config->second, folds->second.first, folds->second.second));
  }
  void mark(std::ptrdiff_t task, const std::string& digest, const std::string& device,
            const std::map<std::string, int>& firings, const std::string& stopped_by, ResultInventory& inventory) {
    if (task < 0) return;
    const auto t = static_cast<std::size_t>(task);
    seen_[t] = true;
    if (digest != expected_[t]) return;
    // A task with a loose and an archived copy of its result counts its firings once.
    if (!inventory.done[t]) {
      for (const auto& [rule, count] : firings) {
        ++inventory.firings[rule].flagged;
        if (rule == stopped_by) ++inventory.firings[rule].stopped;
      }
    }
    inventory.done[t] = true;
    ++inventory.devices[device.empty() ? "unrecorded" : device];
  }
  std::size_t stale(const ResultInventory& inventory) const {
    std::size_t n = 0;
    for (std::size_t t = 0; t < seen_.size(); ++t) n += seen_[t] && !inventory.done[t];
    return n;
  }

 private:
  const ExperimentPlan& plan_;
  std::vector<std::string> expected_;
  std::vector<bool> seen_;
  // Looked up by string_view: a million archived names are not copied into strings.
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::uint32_t, Hash, std::equal_to<>> config_of_id_;
  std::unordered_map<std::string, std::pair<int, int>, Hash, std::equal_to<>> folds_of_file_;
};

}  // namespace

std::vector<std::pair<std::string, std::string>> archive_fingerprints(const CatalogedArchive& archive) {
  std::vector<std::pair<std::string, std::string>> list;
  for (ResultSummary& s : archive_summary(archive, false)) list.emplace_back(std::move(s.name), std::move(s.digest));
  return list;
}

ResultStamp read_result_stamp(const fs::path& file) {
  try {
    const h5::File f = h5::File::open_read(file);
    if (!f.has_attr("complete") || f.attr_int("complete") != 1 || f.attr_int("schema_version") < 4) return {};
    ResultStamp stamp{f.group("fingerprint").attr_string("digest"), {}, {}, {}};
    const h5::Node provenance = f.group("provenance");
    if (provenance.has_attr("device")) stamp.device = provenance.attr_string("device");
    if (f.exists("diagnostics")) {
      const h5::Node diagnostics = f.group("diagnostics");
      stamp.stopped_by = diagnostics.attr_string("stopped_by");
      for (const auto& rule : diagnostics.group("firings").read_strings("rule")) ++stamp.firings[rule];
    }
    return stamp;
  } catch (const h5::Error&) {
    // A truncated or foreign file is simply not a finished result; its task reruns.
    return {};
  }
}

std::string result_file_fingerprint(const fs::path& file) {
  return read_result_stamp(file).digest;
}

ResultInventory finished_tasks(const ExperimentLayout& layout, const ExperimentPlan& plan,
                               const fs::path& archive_dir) {
  ResultInventory inventory;
  inventory.done.assign(plan.tasks.size(), false);
  ResultNames names(plan);
  if (fs::is_directory(layout.results_dir())) {
    for (const auto& dir : fs::directory_iterator(layout.results_dir())) {
      const std::string config_id = dir.path().filename().string();
      if (!dir.is_directory() || !names.has_config(config_id)) continue;
      for (const auto& file : fs::directory_iterator(dir.path())) {
        const std::ptrdiff_t task = names.task_of(config_id, file.path().filename().string());
        if (task < 0) continue;
        const ResultStamp stamp = read_result_stamp(file.path());
        names.mark(task, stamp.digest, stamp.device, stamp.firings, stamp.stopped_by, inventory);
        ++inventory.loose;
      }
    }
  }
  for (const auto& archive : list_archives(archive_dir, plan.experiment_id)) {
    const auto task_of = [&](std::string_view member) -> std::ptrdiff_t {
      const auto parts = split_result_name(member);
      return parts ? names.task_of(parts->first, parts->second) : -1;
    };
    if (std::none_of(archive.index.members.begin(), archive.index.members.end(),
                     [&](const ArchiveMember& m) { return task_of(m.name) >= 0; })) {
      continue;
    }
    for (const ResultSummary& r : archive_summary(archive, false)) {
      const std::ptrdiff_t task = task_of(r.name);
      names.mark(task, r.digest, r.device, r.firings, r.stopped_by, inventory);
      inventory.archived += task >= 0 ? 1 : 0;
    }
  }
  inventory.stale = names.stale(inventory);
  return inventory;
}

}  // namespace gridfold
