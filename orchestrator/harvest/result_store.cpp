#include "orchestrator/harvest/result_store.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "common/archive_summary.hpp"
#include "common/file_bytes.hpp"

namespace gridfold {
namespace fs = std::filesystem;

namespace {

void read_loose(const fs::path& path, std::vector<std::byte>& bytes) {
  if (!read_file_bytes(path, bytes)) {
    throw std::runtime_error(
        fmt::format("{} vanished while harvesting: a gridfold pack is probably moving results into archives; "
                    "harvest again once it has finished",
                    path.string()));
  }
}

}  // namespace

ResultStore::ResultStore(const ExperimentLayout& layout, const fs::path& archive_dir,
                         const std::string& experiment_id) {
  const std::string results = layout.results_dir().filename().string();
  std::unordered_set<std::string> taken;
  if (fs::is_directory(layout.results_dir())) {
    for (const auto& config : fs::directory_iterator(layout.results_dir())) {
      if (!config.is_directory()) continue;
      const std::string prefix = results + "/" + config.path().filename().string() + "/";
      for (const auto& f : fs::directory_iterator(config.path())) {
        const std::string file = f.path().filename().string();
        if (file.starts_with(".tmp-") || !f.is_regular_file()) continue;
        loose_.push_back({prefix + file, f.path()});
        taken.insert(loose_.back().name);
      }
    }
  }
  archives_ = list_archives(archive_dir, experiment_id);
  current_.resize(archives_.size());
  const std::string member_prefix = results + "/";
  for (std::size_t a = archives_.size(); a-- > 0;) {
    for (const ArchiveMember& m : archives_[a].index.members) {
      if (!m.name.starts_with(member_prefix)) continue;
      if (taken.insert(m.name).second) {
        current_[a].push_back(&m);
      } else {
        ++superseded_;
      }
    }
  }
  // Summaries hold the scores of every result member; an archive whose summary lacks any
  // (unreadable results, a list kept before scores were) has its results read.
  summarised_.assign(archives_.size(), 0);
  for (std::size_t a = 0; a < archives_.size(); ++a) {
    const std::vector<const ArchiveMember*> results = result_members(archives_[a].index);
    std::size_t r = 0;
    bool covered = true;
    for (const ArchiveMember* m : current_[a]) {
      while (r < results.size() && results[r] != m) ++r;
      if (r == results.size()) covered = false;
    }
    summarised_[a] = covered && has_scored_summary(archives_[a]);
  }
}

void ResultStore::for_each_summarised(const std::function<void(NamedScores&&)>& visit) const {
  for (std::size_t a = 0; a < archives_.size(); ++a) {
    if (!summarised_[a]) continue;
    std::optional<std::vector<ResultSummary>> list = read_archive_summary(archives_[a], true);
    if (!list) {
      throw std::runtime_error(
          fmt::format("the summary of {} changed while harvesting; harvest again", archives_[a].archive.string()));
    }
    const std::vector<const ArchiveMember*> results = result_members(archives_[a].index);
    std::size_t r = 0;
    for (const ArchiveMember* m : current_[a]) {
      while (results[r] != m) ++r;
      ResultSummary& summary = (*list)[r];
      visit(NamedScores{std::move(summary.name), std::move(*summary.scores)});
    }
  }
}

std::size_t ResultStore::archived_count() const {
  std::size_t n = 0;
  for (const auto& members : current_) n += members.size();
  return n;
}

void ResultStore::for_each(const Visitor& visit, std::size_t shard, std::size_t shards, bool skip_summarised) const {
  std::vector<std::byte> bytes;
  for (std::size_t i = shard; i < loose_.size(); i += shards) {
    read_loose(loose_[i].path, bytes);
    visit(loose_[i].name, bytes);
  }
  for (std::size_t a = 0; a < archives_.size(); ++a) {
    if (skip_summarised && summarised_[a]) continue;
    const auto& frames = archives_[a].index.frames;
    std::vector<const ArchiveMember*> share;
    std::size_t frame = 0;
    for (const ArchiveMember* m : current_[a]) {
      while (frame + 1 < frames.size() && frames[frame].offset + frames[frame].size <= m->offset) ++frame;
      if (frame % shards == shard) share.push_back(m);
    }
    read_members(archives_[a].archive, archives_[a].index, share,
                 [&](const ArchiveMember& m, std::span<const std::byte> data) { visit(m.name, data); });
  }
}

void ResultStore::read(const std::unordered_set<std::string>& names, const Visitor& visit) const {
  std::vector<std::byte> bytes;
  for (const Loose& f : loose_) {
    if (!names.count(f.name)) continue;
    read_loose(f.path, bytes);
    visit(f.name, bytes);
  }
  for (std::size_t a = 0; a < archives_.size(); ++a) {
    std::vector<const ArchiveMember*> wanted;
    for (const ArchiveMember* m : current_[a]) {
      if (names.count(m->name)) wanted.push_back(m);
    }
    if (wanted.empty()) continue;
    read_members(archives_[a].archive, archives_[a].index, wanted,
                 [&](const ArchiveMember& m, std::span<const std::byte> data) { visit(m.name, data); });
  }
}

}  // namespace gridfold
