#include "common/archive_summary.hpp"

#include <fmt/format.h>

#include <charconv>
#include <string_view>

#include "common/atomic_file.hpp"
#include "common/checksum.hpp"
#include "common/hdf5.hpp"
#include "common/text_file.hpp"

namespace gridfold {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kHeader = "#gridfold-archive-summary 3";
constexpr std::size_t kScoredColumns = 10;
constexpr std::string_view kResultsPrefix = "results/";

fs::path summary_path(const fs::path& archive) {
  return archive.parent_path() / "fingerprints" / (archive.filename().string() + ".tsv");
}

// Names written into the metrics column must not contain its separators.
bool writable_name(std::string_view name) {
  return !name.empty() && name.find_first_of("\t\n\r;:=,") == std::string_view::npos;
}

std::string scores_columns(const FoldScores& s) {
  std::string metrics;
  for (const auto& [target, values] : s.metrics) {
    if (!metrics.empty()) metrics += ';';
    metrics += target + ':';
    bool first = true;
    for (const auto& [metric, value] : values) {
      metrics += fmt::format("{}{}={}", first ? "" : ",", metric, value);
      first = false;
    }
  }
  std::string firings;
  for (const auto& [rule, count] : s.firings)
    firings += fmt::format("{}{}={}", firings.empty() ? "" : ",", rule, count);
  return fmt::format("\t{}\t{}\t{}\t{}\t{}\t{}\t{}", s.config_id, s.outer_fold, s.inner_fold, metrics, s.device,
                     firings, s.stopped_by);
}

bool writable(const FoldScores& s) {
  if (!writable_name(s.config_id)) return false;
  // The device is a column of its own: only the line and column separators must stay out of it.
  if (s.device.find_first_of("\t\n\r") != std::string::npos) return false;
  if (!s.stopped_by.empty() && !writable_name(s.stopped_by)) return false;
  for (const auto& [rule, count] : s.firings) {
    if (!writable_name(rule)) return false;
  }
  for (const auto& [target, values] : s.metrics) {
    if (!writable_name(target)) return false;
    for (const auto& [metric, value] : values) {
      if (!writable_name(metric)) return false;
    }
  }
  return true;
}

// Splits `text` at `separator`, calling field(part) for each; stops early when it returns false.
template <class F>
bool split(std::string_view text, char separator, F field) {
  while (true) {
    const auto at = text.find(separator);
    if (!field(text.substr(0, at))) return false;
    if (at == std::string_view::npos) return true;
    text.remove_prefix(at + 1);
  }
}

template <class T>
bool parse_number(std::string_view text, T& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

// "rule=count,rule=count" into `firings`.
bool parse_firings(std::string_view text, std::map<std::string, int>& firings) {
  if (text.empty()) return true;
  return split(text, ',', [&](std::string_view pair) {
    const auto eq = pair.find('=');
    int count = 0;
    if (eq == std::string_view::npos || !parse_number(pair.substr(eq + 1), count)) return false;
    firings.emplace(std::string(pair.substr(0, eq)), count);
    return true;
  });
}

std::optional<FoldScores> parse_scores(std::string_view config, std::string_view outer, std::string_view inner,
                                       std::string_view metrics, std::string_view firings,
                                       std::string_view stopped_by) {
  FoldScores s;
  s.config_id = config;
  s.stopped_by = stopped_by;
  if (!parse_number(outer, s.outer_fold) || !parse_number(inner, s.inner_fold)) return std::nullopt;
  if (!parse_firings(firings, s.firings)) return std::nullopt;
  if (metrics.empty()) return s;
  const bool ok = split(metrics, ';', [&](std::string_view target) {
    const auto colon = target.find(':');
    if (colon == std::string_view::npos) return false;
    MetricValues& values = s.metrics[std::string(target.substr(0, colon))];
    if (colon + 1 == target.size()) return true;
    return split(target.substr(colon + 1), ',', [&](std::string_view pair) {
      const auto eq = pair.find('=');
      double value = 0;
      if (eq == std::string_view::npos || !parse_number(pair.substr(eq + 1), value)) return false;
      values.emplace(std::string(pair.substr(0, eq)), value);
      return true;
    });
  });
  if (!ok) return std::nullopt;
  return s;
}

}  // namespace

ResultSummary summarize_result(const std::string& name, std::span<const std::byte> data) {
  ResultSummary out{name, {}, {}, {}, {}, std::nullopt};
  try {
    FoldScores scores = read_fold_scores_image(data.data(), data.size(), name);
    out.digest = scores.fingerprint;
    out.device = scores.device;
    out.firings = scores.firings;
    out.stopped_by = scores.stopped_by;
    if (writable(scores)) out.scores = std::move(scores);
  } catch (const h5::Error&) {
    // Not a readable result: it matches no task, like a loose file that is not one.
  }
  return out;
}

std::vector<const ArchiveMember*> result_members(const ArchiveIndex& index) {
  std::vector<const ArchiveMember*> members;
  for (const ArchiveMember& m : index.members) {
    if (m.name.starts_with(kResultsPrefix) && m.name.ends_with(".h5")) members.push_back(&m);
  }
  return members;
}

void write_archive_summary(const fs::path& archive, const ArchiveIndex& index,
                           const std::vector<ResultSummary>& summaries) {
  const std::vector<const ArchiveMember*> members = result_members(index);
  if (members.size() != summaries.size()) return;
  std::string text(kHeader);
  text += '\n';
  for (std::size_t i = 0; i < members.size(); ++i) {
    const ResultSummary& s = summaries[i];
    if (s.name != members[i]->name) return;
    text += fmt::format("{}\t{}\t{}", s.name, checksum_hex(members[i]->checksum), s.digest);
    if (s.scores) text += scores_columns(*s.scores);
    text += '\n';
  }
  const fs::path file = summary_path(archive);
  try {
    fs::create_directories(file.parent_path());
    write_text_atomically(file, text);
  } catch (const std::exception&) {
    // A read-only archive directory: readers compute the summary, nothing is lost.
  }
}

namespace {

enum class Reading { digests, check_scores, scores };

// Walks the kept list, checking it against the index; fills `out` unless checking only.
bool read_list(const CatalogedArchive& archive, Reading reading, std::vector<ResultSummary>& out) {
  const fs::path file = summary_path(archive.archive);
  std::string text;
  try {
    if (!fs::exists(file)) return false;
    text = read_text_file(file);
  } catch (const std::exception&) {
    return false;
  }
  const std::vector<const ArchiveMember*> members = result_members(archive.index);
  if (reading != Reading::check_scores) out.reserve(members.size());
  std::string_view rest(text);
  if (rest.starts_with(kHeader)) rest.remove_prefix(std::min(rest.size(), kHeader.size() + 1));
  std::size_t i = 0;
  while (!rest.empty()) {
    const auto nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    std::string_view fields[kScoredColumns];
    std::size_t n = 0;
    split(line, '\t', [&](std::string_view f) {
      if (n < kScoredColumns) fields[n] = f;
      return ++n <= kScoredColumns;
    });
    if ((n != 3 && n != kScoredColumns) || i >= members.size()) return false;
    const ArchiveMember& m = *members[i++];
    std::uint64_t checksum = 0;  // compared as a number: formatting a million hex strings costs more
    const auto [end, ec] = std::from_chars(fields[1].data(), fields[1].data() + fields[1].size(), checksum, 16);
    if (fields[0] != m.name || ec != std::errc() || end != fields[1].data() + fields[1].size() ||
        checksum != m.checksum) {
      return false;
    }
    // A list kept before scores were, or a member that is no readable result.
    if (reading != Reading::digests && n != kScoredColumns) return false;
    if (reading == Reading::check_scores) continue;
    ResultSummary s{m.name,      std::string(fields[2]), n == kScoredColumns ? std::string(fields[7]) : "", {}, {},
                    std::nullopt};
    if (n == kScoredColumns) {
      if (!parse_firings(fields[8], s.firings)) return false;
      s.stopped_by = fields[9];
    }
    if (reading == Reading::scores) {
      s.scores = parse_scores(fields[3], fields[4], fields[5], fields[6], fields[8], fields[9]);
      if (!s.scores) return false;
      s.scores->fingerprint = s.digest;
      s.scores->device = s.device;
    }
    out.push_back(std::move(s));
  }
  return i == members.size();
}

}  // namespace

std::optional<std::vector<ResultSummary>> read_archive_summary(const CatalogedArchive& archive, bool with_scores) {
  std::vector<ResultSummary> list;
  if (!read_list(archive, with_scores ? Reading::scores : Reading::digests, list)) return std::nullopt;
  return list;
}

bool has_scored_summary(const CatalogedArchive& archive) {
  std::vector<ResultSummary> unused;
  return read_list(archive, Reading::check_scores, unused);
}

std::vector<ResultSummary> archive_summary(const CatalogedArchive& archive, bool with_scores) {
  if (auto kept = read_archive_summary(archive, with_scores)) return std::move(*kept);
  const std::vector<const ArchiveMember*> members = result_members(archive.index);
  std::vector<ResultSummary> list;
  list.reserve(members.size());
  read_members(archive.archive, archive.index, members, [&](const ArchiveMember& m, std::span<const std::byte> data) {
    list.push_back(summarize_result(m.name, data));
  });
  write_archive_summary(archive.archive, archive.index, list);
  if (!with_scores) {
    for (ResultSummary& s : list) s.scores.reset();
  }
  return list;
}

}  // namespace gridfold
