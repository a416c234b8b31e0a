#include "common/archive_catalog.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <optional>

#include "common/atomic_file.hpp"
#include "common/exclusive_rename.hpp"
#include "common/plan.hpp"

namespace gridfold {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kIndexSuffix = ".index.tsv";
constexpr std::string_view kTemporaryPrefix = ".tmp-";
constexpr std::string_view kExtensions[] = {".tar.zst", ".tar.gz", ".tar"};

// "pack-<id>-", or "pack-" for an experiment without an id.
std::string name_prefix(const std::string& experiment_id) {
  return experiment_id.empty() ? std::string("pack-") : fmt::format("pack-{}-", experiment_id);
}

// The sequence number of "<prefix><digits><extension>", the name of one of the experiment's
// archives; nullopt for any other name (other experiments' archives included).
std::optional<std::uint64_t> parse_archive_name(std::string_view name, const std::string& prefix) {
  if (!name.starts_with(prefix)) return std::nullopt;
  name.remove_prefix(prefix.size());
  const std::size_t digits_end = name.find('.');
  if (digits_end == 0 || digits_end == std::string_view::npos) return std::nullopt;
  const std::string_view extension = name.substr(digits_end);
  if (std::find(std::begin(kExtensions), std::end(kExtensions), extension) == std::end(kExtensions)) {
    return std::nullopt;
  }
  std::uint64_t sequence = 0;
  const auto [end, ec] = std::from_chars(name.data(), name.data() + digits_end, sequence);
  if (ec != std::errc() || end != name.data() + digits_end) return std::nullopt;
  return sequence;
}

// A temporary file of one of the experiment's archives or indexes: ".tmp-<prefix><digits>.".
bool is_temporary_name(std::string_view name, const std::string& prefix) {
  if (!name.starts_with(kTemporaryPrefix)) return false;
  name.remove_prefix(kTemporaryPrefix.size());
  if (!name.starts_with(prefix)) return false;
  name.remove_prefix(prefix.size());
  const std::size_t digits_end = name.find_first_not_of("0123456789");
  return digits_end > 0 && digits_end != std::string_view::npos && name[digits_end] == '.';
}

}  // namespace

fs::path archive_directory(const ExperimentLayout& layout, const ExperimentSpec& spec,
                           const std::string& experiment_id) {
  if (spec.output.archive.empty()) return layout.archives_dir();
  if (experiment_id.empty()) return spec.output.archive / spec.name;
  return spec.output.archive / fmt::format("{}-{}", spec.name, experiment_id);
}

fs::path archive_directory(const ExperimentLayout& layout, const ExperimentSpec& spec) {
  return archive_directory(layout, spec, read_experiment_id(layout.plan()));
}

std::string archive_file_name(const std::string& experiment_id, std::uint64_t sequence, Compression compression) {
  return fmt::format("{}{:06d}{}", name_prefix(experiment_id), sequence, archive_extension(compression));
}

std::vector<fs::path> list_debris(const fs::path& dir, const std::string& experiment_id) {
  std::vector<fs::path> debris;
  if (!fs::is_directory(dir)) return debris;
  const std::string prefix = name_prefix(experiment_id);
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    const bool uncommitted = parse_archive_name(name, prefix) && !fs::exists(index_path_for(entry.path()));
    if (uncommitted || is_temporary_name(name, prefix)) debris.push_back(entry.path());
  }
  return debris;
}

std::vector<CatalogedArchive> list_archives(const fs::path& dir, const std::string& experiment_id) {
  std::vector<CatalogedArchive> archives;
  if (!fs::is_directory(dir)) return archives;
  const std::string prefix = name_prefix(experiment_id);
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (!name.ends_with(kIndexSuffix)) continue;
    const std::string archive = name.substr(0, name.size() - kIndexSuffix.size());
    const auto sequence = parse_archive_name(archive, prefix);
    if (!sequence) continue;
    archives.push_back({dir / archive, *sequence, read_index(entry.path())});
  }
  std::sort(archives.begin(), archives.end(),
            [](const CatalogedArchive& a, const CatalogedArchive& b) { return a.sequence < b.sequence; });
  return archives;
}

CommittedArchive commit_archive(const fs::path& temporary_archive, const fs::path& temporary_index, const fs::path& dir,
                                const std::string& experiment_id, std::uint64_t first_sequence,
                                Compression compression) {
  for (std::uint64_t sequence = first_sequence;; ++sequence) {
    const fs::path archive = dir / archive_file_name(experiment_id, sequence, compression);
    // An index without its archive (one removed by hand) would pair with ours: skip its number.
    if (fs::exists(index_path_for(archive))) continue;
    if (!rename_exclusive(temporary_archive, archive)) continue;  // another pack claimed it
    if (!rename_exclusive(temporary_index, index_path_for(archive))) {
      fs::rename(archive, temporary_archive);  // ours, claimed a moment ago: give the number back
      throw IoError(
          fmt::format("{} appeared while {} was being committed; nothing was committed, every original "
                      "is kept",
                      index_path_for(archive).string(), archive.filename().string()));
    }
    fsync_path(dir);
    return {archive, sequence};
  }
}

}  // namespace gridfold
