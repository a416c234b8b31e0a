// Every fold result of an experiment, loose under results/ or packed in archives, read into
// memory without extracting anything to disk. A result found in several places counts once:
// the loose file, else the copy in the latest archive (pack archives a result again only when
// its loose copy differs from the archived one, so the newest copy wins).
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/archive_catalog.hpp"
#include "common/experiment_layout.hpp"
#include "common/fold_scores.hpp"

namespace gridfold {

struct NamedScores {
  std::string name;  // as ResultStore names results
  FoldScores scores;
};

class ResultStore {
 public:
  // name: the result's path relative to the experiment directory ("results/<config>/outer003.h5").
  using Visitor = std::function<void(const std::string& name, std::span<const std::byte> bytes)>;

  // Lists loose results and reads the indexes of the experiment's committed archives (those
  // carrying `experiment_id`, the plan's).
  ResultStore(const ExperimentLayout& layout, const std::filesystem::path& archive_dir,
              const std::string& experiment_id);
  ResultStore(const ResultStore&) = delete;  // holds pointers into its own indexes
  ResultStore& operator=(const ResultStore&) = delete;

  // Every result once: loose files, then each archive sequentially through its index. With
  // shards > 1, only the share `shard` of them (a disjoint split by loose file and by archive
  // frame, so that each share decompresses only its own frames). With skip_summarised, not the
  // results for_each_summarised visits.
  void for_each(const Visitor& visit, std::size_t shard = 0, std::size_t shards = 1,
                bool skip_summarised = false) const;
  // The scores of the archived results whose archive summary (common/archive_summary.hpp)
  // holds them, read from the summaries without opening a result.
  void for_each_summarised(const std::function<void(NamedScores&&)>& visit) const;
  // Only the named results; names the store does not hold are skipped.
  void read(const std::unordered_set<std::string>& names, const Visitor& visit) const;

  std::size_t loose_count() const { return loose_.size(); }
  std::size_t archived_count() const;
  std::size_t superseded_count() const { return superseded_; }  // older copies ignored

 private:
  struct Loose {
    std::string name;
    std::filesystem::path path;
  };
  std::vector<Loose> loose_;
  std::vector<CatalogedArchive> archives_;
  // Per archive, the members that are the current copy of a result, in archive order.
  std::vector<std::vector<const ArchiveMember*>> current_;
  std::vector<char> summarised_;  // per archive: its summary holds the scores of every current member
  std::size_t superseded_ = 0;
};

}  // namespace gridfold
