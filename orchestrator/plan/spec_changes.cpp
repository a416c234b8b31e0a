#include "orchestrator/plan/spec_changes.hpp"

#include <fmt/format.h>

#include <chrono>
#include <ctime>
#include <map>

#include "common/archive_catalog.hpp"
#include "common/atomic_file.hpp"
#include "common/config_text.hpp"

namespace gridfold {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kNone = "(none)";

// "key=value\n" lines into a map.
void add_lines(std::map<std::string, std::string>& out, const std::string& text) {
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    const std::size_t eq = line.find('=');
    if (eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
    start = end + 1;
  }
}

std::map<std::string, std::string> facts(const std::string& config, const std::string& resampling,
                                         const std::string& data_checksum) {
  std::map<std::string, std::string> out;
  add_lines(out, config);
  add_lines(out, resampling);
  out["data checksum"] = data_checksum.empty() ? "(not recorded: planned by an older gridfold)" : data_checksum;
  return out;
}

std::string utc_stamp() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", &utc);
  return text;
}

}  // namespace

std::string SpecChange::str() const {
  return fmt::format("{}: {} -> {}", key, before, after);
}

std::vector<SpecChange> spec_changes(const ExperimentLayout& layout, const ExperimentSpec& spec,
                                     const ExperimentPlan& plan) {
  if (!fs::exists(layout.spec()) || !fs::exists(layout.plan())) return {};
  std::map<std::string, std::string> before;
  try {
    const ExperimentPlan old_plan = read_plan(layout.plan());
    const SpecDocument old_spec = SpecDocument::load(layout.spec(), old_plan.spec_dir);
    before = facts(canonical_config(old_spec.base()), canonical_resampling(old_spec.base().resampling),
                   old_plan.data_checksum);
  } catch (const std::exception& e) {
    return {{"frozen plan", fmt::format("unreadable ({})", e.what()), "a new plan"}};
  }
  const auto after = facts(canonical_config(spec), plan.resampling, plan.data_checksum);
  std::vector<SpecChange> changes;
  for (const auto& [key, value] : before) {
    const auto now = after.find(key);
    if (now == after.end()) {
      changes.push_back({key, value, std::string(kNone)});
    } else if (now->second != value) {
      changes.push_back({key, value, now->second});
    }
  }
  for (const auto& [key, value] : after) {
    if (!before.contains(key)) changes.push_back({key, std::string(kNone), value});
  }
  return changes;
}

std::string describe_refusal(const ExperimentLayout& layout, const std::vector<SpecChange>& changes) {
  std::string lines;
  for (const SpecChange& c : changes) lines += "\n  " + c.str();
  return fmt::format(
      "{}: the experiment was planned from another spec or data; what changed:{}\n"
      "Its results would not be results of this spec. Plan into another --out, or pass --replan to "
      "set the old results aside under {}/ (nothing is deleted) and plan afresh.",
      layout.spec().string(), lines, layout.superseded_dir().string());
}

fs::path supersede_old_plan(const ExperimentLayout& layout, const fs::path& archive_dir,
                            const std::string& experiment_id, const std::vector<SpecChange>& changes) {
  fs::path target = layout.superseded_dir() / utc_stamp();
  for (int n = 2; fs::exists(target); ++n) target = layout.superseded_dir() / fmt::format("{}-{}", utc_stamp(), n);
  fs::create_directories(target);
  std::string record = "Set aside by gridfold plan --replan. What changed:\n";
  for (const SpecChange& c : changes) record += "  " + c.str() + "\n";
  for (const fs::path& from :
       {layout.results_dir(), layout.checkpoints_dir(), layout.failures_dir(), layout.spec(), layout.plan()}) {
    if (fs::exists(from)) fs::rename(from, target / from.filename());
  }
  record += "Archives holding results then (left in place; their results of the old plan count as stale):\n";
  for (const CatalogedArchive& a : list_archives(archive_dir, experiment_id))
    record += "  " + a.archive.string() + "\n";
  write_text_atomically(target / "README.txt", record);
  return target;
}

}  // namespace gridfold
