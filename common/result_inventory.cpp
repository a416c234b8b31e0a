#include "common/result_inventory.hpp"

#include <fmt/format.h>

#include <sstream>
#include <unordered_map>

#include "common/atomic_file.hpp"
#include "common/checksum.hpp"
#include "common/fold_scores.hpp"
#include "common/hdf5.hpp"
#include "common/result_fingerprint.hpp"
#include "common/text_file.hpp"

namespace gridfold {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kResultsPrefix = "results/";

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
  bool has_config(const std::string& id) const { return config_of_id_.contains(id); }
  // The task of a result name, or -1 when the name belongs to no task of the plan.
  std::ptrdiff_t task_of(const std::string& config_id, const std::string& file) const {
    const auto config = config_of_id_.find(config_id);
    const auto folds = folds_of_file_.find(file);
    if (config == config_of_id_.end() || folds == folds_of_file_.end()) return -1;
    return static_cast<std::ptrdiff_t>(task_index(plan_, config->second, folds->second.first, folds->second.second));
  }
  void mark(std::ptrdiff_t task, const std::string& digest, ResultInventory& inventory) {
    if (task < 0) return;
    const auto t = static_cast<std::size_t>(task);
    seen_[t] = true;
    if (digest == expected_[t]) inventory.done[t] = true;
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
  std::unordered_map<std::string, std::uint32_t> config_of_id_;
  std::unordered_map<std::string, std::pair<int, int>> folds_of_file_;
};

// In a folder of its own: a "pack-*" file without an index would be pack's debris.
fs::path fingerprint_list_path(const fs::path& archive) {
  return archive.parent_path() / "fingerprints" / (archive.filename().string() + ".tsv");
}

// The kept list, when it names exactly the archive's result members with their checksums.
std::optional<std::vector<std::pair<std::string, std::string>>> read_kept_list(
    const fs::path& file, const std::vector<const ArchiveMember*>& members) {
  std::string text;
  try {
    if (!fs::exists(file)) return std::nullopt;
    text = read_text_file(file);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  std::vector<std::pair<std::string, std::string>> list;
  std::istringstream in(text);
  std::string line;
  std::size_t i = 0;
  while (std::getline(in, line)) {
    const auto tab1 = line.find('\t');
    const auto tab2 = tab1 == std::string::npos ? tab1 : line.find('\t', tab1 + 1);
    if (tab2 == std::string::npos || i >= members.size()) return std::nullopt;
    const ArchiveMember& m = *members[i++];
    if (line.substr(0, tab1) != m.name || line.substr(tab1 + 1, tab2 - tab1 - 1) != checksum_hex(m.checksum)) {
      return std::nullopt;
    }
    list.emplace_back(m.name, line.substr(tab2 + 1));
  }
  if (i != members.size()) return std::nullopt;
  return list;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> archive_fingerprints(const CatalogedArchive& archive) {
  std::vector<const ArchiveMember*> members;
  for (const ArchiveMember& m : archive.index.members) {
    if (m.name.starts_with(kResultsPrefix) && m.name.ends_with(".h5")) members.push_back(&m);
  }
  const fs::path kept = fingerprint_list_path(archive.archive);
  if (auto list = read_kept_list(kept, members)) return *list;

  std::vector<std::pair<std::string, std::string>> list;
  std::string text;
  read_members(archive.archive, archive.index, members, [&](const ArchiveMember& m, std::span<const std::byte> data) {
    std::string digest;
    try {
      digest = read_fold_scores_image(data.data(), data.size(), m.name).fingerprint;
    } catch (const h5::Error&) {
      // Not a readable result: it matches no task, like a loose file that is not one.
    }
    text += fmt::format("{}\t{}\t{}\n", m.name, checksum_hex(m.checksum), digest);
    list.emplace_back(m.name, std::move(digest));
  });
  try {
    fs::create_directories(kept.parent_path());
    write_text_atomically(kept, text);
  } catch (const std::exception&) {
    // A read-only archive directory: the list is recomputed next time, nothing is lost.
  }
  return list;
}

std::string result_file_fingerprint(const fs::path& file) {
  try {
    const h5::File f = h5::File::open_read(file);
    if (!f.has_attr("complete") || f.attr_int("complete") != 1 || f.attr_int("schema_version") < 4) return {};
    return f.group("fingerprint").attr_string("digest");
  } catch (const h5::Error&) {
    // A truncated or foreign file is simply not a finished result; its task reruns.
    return {};
  }
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
        if (task >= 0) names.mark(task, result_file_fingerprint(file.path()), inventory);
      }
    }
  }
  for (const auto& archive : list_archives(archive_dir, plan.experiment_id)) {
    bool any = false;
    for (const auto& member : archive.index.members) {
      const fs::path name(member.name);  // results/<config id>/<file>
      if (name.parent_path().parent_path() == "results" &&
          names.task_of(name.parent_path().filename().string(), name.filename().string()) >= 0) {
        any = true;
        break;
      }
    }
    if (!any) continue;
    for (const auto& [member, digest] : archive_fingerprints(archive)) {
      const fs::path name(member);
      names.mark(names.task_of(name.parent_path().filename().string(), name.filename().string()), digest, inventory);
    }
  }
  inventory.stale = names.stale(inventory);
  return inventory;
}

}  // namespace gridfold
