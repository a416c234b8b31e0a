#include "common/archive_catalog.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <optional>

namespace gridfold {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kPrefix = "pack-";
constexpr std::string_view kIndexSuffix = ".index.tsv";

// The sequence number and archive file name of "pack-<N><extension>.index.tsv".
std::optional<std::pair<std::uint64_t, std::string>> parse_index_name(const std::string& name) {
  if (!name.starts_with(kPrefix) || !name.ends_with(kIndexSuffix)) return std::nullopt;
  const std::string archive = name.substr(0, name.size() - kIndexSuffix.size());
  const std::size_t digits_end = archive.find('.', kPrefix.size());
  if (digits_end == std::string::npos) return std::nullopt;
  std::uint64_t sequence = 0;
  const char* first = archive.data() + kPrefix.size();
  const char* last = archive.data() + digits_end;
  const auto [end, ec] = std::from_chars(first, last, sequence);
  if (ec != std::errc() || end != last) return std::nullopt;
  return std::pair{sequence, archive};
}

}  // namespace

fs::path archive_directory(const ExperimentLayout& layout, const ExperimentSpec& spec) {
  return spec.output.archive.empty() ? layout.archives_dir() : spec.output.archive / spec.name;
}

std::string archive_file_name(std::uint64_t sequence, Compression compression) {
  return fmt::format("{}{:06d}{}", kPrefix, sequence, archive_extension(compression));
}

std::vector<fs::path> list_debris(const fs::path& dir) {
  std::vector<fs::path> debris;
  if (!fs::is_directory(dir)) return debris;
  const std::string temporary_prefix = ".tmp-" + std::string(kPrefix);
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    const bool temporary = name.starts_with(temporary_prefix);
    const bool uncommitted =
        name.starts_with(kPrefix) && !name.ends_with(kIndexSuffix) && !fs::exists(index_path_for(entry.path()));
    if (temporary || uncommitted) debris.push_back(entry.path());
  }
  return debris;
}

std::vector<CatalogedArchive> list_archives(const fs::path& dir) {
  std::vector<CatalogedArchive> archives;
  if (!fs::is_directory(dir)) return archives;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const auto parsed = parse_index_name(entry.path().filename().string());
    if (!parsed) continue;
    archives.push_back({dir / parsed->second, parsed->first, read_index(entry.path())});
  }
  std::sort(archives.begin(), archives.end(),
            [](const CatalogedArchive& a, const CatalogedArchive& b) { return a.sequence < b.sequence; });
  return archives;
}

}  // namespace gridfold
