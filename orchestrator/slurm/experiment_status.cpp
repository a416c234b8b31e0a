#include "orchestrator/slurm/experiment_status.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <deque>
#include <fstream>
#include <iomanip>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/archive_catalog.hpp"
#include "common/planned_experiment.hpp"
#include "common/plan.hpp"
#include "common/race_standing.hpp"
#include "common/result_inventory.hpp"
#include "orchestrator/slurm/waves.hpp"

namespace gridfold {
namespace fs = std::filesystem;

namespace {

const ElementState kAllStates[] = {ElementState::pending,   ElementState::running,   ElementState::completed,
                                   ElementState::failed,    ElementState::timeout,   ElementState::out_of_memory,
                                   ElementState::cancelled, ElementState::node_fail, ElementState::preempted,
                                   ElementState::requeued,  ElementState::unknown};

std::vector<std::string> last_lines(const fs::path& file, std::size_t n) {
  std::ifstream in(file);
  std::deque<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    lines.push_back(line);
    if (lines.size() > n) lines.pop_front();
  }
  return {lines.begin(), lines.end()};
}

std::string reason_of_failure_file(const fs::path& file) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("reason: ", 0) == 0) return line.substr(8);
  }
  return "(no reason recorded)";
}

std::vector<TaskFailure> task_failures(const ExperimentLayout& layout) {
  std::vector<TaskFailure> out;
  if (!fs::is_directory(layout.failures_dir())) return out;
  for (const auto& entry : fs::recursive_directory_iterator(layout.failures_dir())) {
    const auto name = entry.path().filename().string();
    if (!entry.is_regular_file() || name.starts_with(".tmp-")) continue;
    out.push_back(TaskFailure{(entry.path().parent_path().filename() / entry.path().stem()).string(),
                              reason_of_failure_file(entry.path()), entry.path()});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.result_name < b.result_name; });
  return out;
}

std::time_t parse_iso(const std::string& iso) {
  std::tm tm{};
  std::istringstream in(iso);
  in >> std::get_time(&tm, "%Y-%m-%dT%H:%M:%SZ");
  return timegm(&tm);
}

using RecordKey = std::pair<std::string, std::size_t>;  // job id, array index

void index_records(std::map<RecordKey, ElementRecord>& by_key, const std::vector<ElementRecord>& records) {
  for (const auto& r : records) {
    for (std::size_t i = r.first_index; i <= r.last_index; ++i) by_key[{r.job_id, i}] = r;
  }
}

}  // namespace

std::vector<const ElementStatus*> ExperimentStatus::failed_elements() const {
  std::vector<const ElementStatus*> out;
  for (const auto& e : elements) {
    if (is_failure(e.state)) out.push_back(&e);
  }
  return out;
}

ExperimentStatus collect_status(const ExperimentLayout& layout, const SlurmClient& slurm, std::size_t log_lines) {
  require_planned(layout);
  const ExperimentPlan plan = read_plan(layout.plan());
  const auto submissions = read_submissions(layout);
  ExperimentStatus s;
  s.name = plan.name;
  s.tasks_total = plan.tasks.size();
  const SpecDocument doc = SpecDocument::load(layout.spec(), plan.spec_dir);
  const ResultInventory inventory =
      finished_tasks(layout, plan, archive_directory(layout, doc.base(), plan.experiment_id));
  const std::vector<bool>& done = inventory.done;
  s.tasks_done = static_cast<std::size_t>(std::count(done.begin(), done.end(), true));
  s.tasks_stale = inventory.stale;
  s.results_loose = inventory.loose;
  s.results_archived = inventory.archived;
  s.devices = inventory.devices;
  s.firings = inventory.firings;
  if (is_race(plan)) {
    const RaceStanding standing =
        race_standing(layout, plan, doc.base(), archive_directory(layout, doc.base(), plan.experiment_id), done,
                      RaceUpdate::read_only);
    s.tasks_eliminated = standing.eliminated_tasks;
    RaceProgress p;
    p.races = standing.races.size();
    p.rounds = standing.rounds;
    p.configs = plan.configs.size();
    p.round_min = p.survivors_min = std::numeric_limits<std::size_t>::max();
    for (const auto& race : standing.races) {
      p.round_min = std::min(p.round_min, race.records.size());
      p.round_max = std::max(p.round_max, race.records.size());
      p.survivors_min = std::min(p.survivors_min, race.survivors());
      p.survivors_max = std::max(p.survivors_max, race.survivors());
    }
    s.race = p;
  }
  s.task_failures = task_failures(layout);
  s.submitted = !submissions.empty();
  if (!s.submitted) return s;
  const std::size_t per_element = std::max<std::size_t>(submissions.back().tasks_per_element, 1);
  s.elements_total = element_count(plan.tasks.size(), static_cast<int>(per_element));

  std::vector<std::string> ids = job_ids(submissions);
  const std::optional<WaveState> wave_state = read_wave_state(layout);
  if (wave_state && !wave_state->chain_job_id.empty()) ids.push_back(wave_state->chain_job_id);
  std::map<RecordKey, ElementRecord> records;
  const auto accounted = slurm.accounted(ids);
  s.accounting = accounted.has_value();
  if (accounted) index_records(records, *accounted);
  // squeue knows the present of active jobs better than accounting, which may lag behind.
  index_records(records, slurm.queued(ids));

  std::map<std::size_t, ElementStatus> latest;
  for (const auto& sub : submissions) {
    for (const auto& a : sub.arrays) {
      if (a.job_id.empty()) continue;  // sbatch refused it: its elements never ran
      ArrayStatus array{a.job_id, a.chunk, a.indices.size(), {}};
      for (std::size_t index : a.indices) {
        ElementStatus e;
        e.element = a.chunk.first_element + index;
        e.job_id = a.job_id;
        e.array_index = index;
        e.log = layout.logs_dir() / fmt::format("{}_{}.out", a.job_id, index);
        if (auto r = records.find({a.job_id, index}); r != records.end()) {
          e.state = r->second.state;
          e.slurm_state = r->second.slurm_state;
          e.exit_code = r->second.exit_code;
          e.node_list = r->second.node_list;
        } else if (!s.accounting) {
          // Without accounting an ended element is judged by whether its tasks finished.
          const std::size_t first = e.element * per_element;
          const std::size_t last = std::min(first + per_element, done.size());
          const bool all_done = std::all_of(done.begin() + static_cast<std::ptrdiff_t>(first),
                                            done.begin() + static_cast<std::ptrdiff_t>(last), [](bool d) { return d; });
          e.state = all_done ? ElementState::completed : ElementState::failed;
          e.slurm_state = "ended (no accounting)";
        }
        ++array.counts[e.state];
        latest[e.element] = std::move(e);
      }
      s.arrays.push_back(std::move(array));
    }
  }
  for (auto& [_, e] : latest) {
    if (is_failure(e.state)) e.log_tail = last_lines(e.log, log_lines);
    ++s.element_counts[e.state];
    s.elements.push_back(std::move(e));
  }
  if (wave_state) {
    ExperimentStatus::Waves w;
    w.submitted = wave_state->waves.size();
    w.elements_submitted = std::min(wave_state->next_element(), wave_state->elements);
    w.elements_pending = wave_state->elements - w.elements_submitted;
    w.max_queued = wave_state->max_queued;
    w.chain_job_id = wave_state->chain_job_id;
    w.stopped = wave_state->stopped;
    if (auto r = records.find({w.chain_job_id, 0}); r != records.end()) w.chain_state = to_string(r->second.state);
    s.waves = w;
  }
  s.pack_job_id = submissions.back().pack_job_id;
  if (auto r = records.find({s.pack_job_id, 0}); r != records.end()) s.pack_state = to_string(r->second.state);

  const std::time_t started = parse_iso(submissions.front().submitted_at);
  const double hours = std::difftime(std::time(nullptr), started) / 3600.0;
  if (hours > 0 && s.tasks_done > 0) {
    s.tasks_per_hour = static_cast<double>(s.tasks_done) / hours;
    s.eta_seconds = static_cast<double>(s.tasks_total - s.tasks_done - s.tasks_eliminated) / *s.tasks_per_hour * 3600.0;
  }
  return s;
}

namespace {

std::string counts_text(const std::map<ElementState, std::size_t>& counts) {
  std::vector<std::string> parts;
  for (ElementState state : kAllStates) {
    if (auto it = counts.find(state); it != counts.end() && it->second > 0) {
      parts.push_back(fmt::format("{} {}", it->second, to_string(state)));
    }
  }
  return parts.empty() ? "none" : fmt::format("{}", fmt::join(parts, ", "));
}

std::string eta_text(const ExperimentStatus& s) {
  if (!s.tasks_per_hour) return "";
  const auto minutes = static_cast<long>(*s.eta_seconds / 60.0);
  return fmt::format(", {:.0f} tasks/h, ETA {}h{:02d}m", *s.tasks_per_hour, minutes / 60, minutes % 60);
}

std::string range_text(std::size_t low, std::size_t high) {
  return low == high ? fmt::format("{}", low) : fmt::format("{}-{}", low, high);
}

std::string race_text(const ExperimentStatus& s) {
  if (!s.race) return "";
  const RaceProgress& p = *s.race;
  return fmt::format(
      "race: round {} of {}{}, {} of {} configs survive, {} tasks eliminated ({:.0f}% of the grid's "
      "tasks saved)",
      range_text(p.round_min + 1, p.round_max + 1), p.rounds,
      p.races > 1 ? fmt::format(" (in {} races, one per outer fold)", p.races) : "",
      range_text(p.survivors_min, p.survivors_max), p.configs, s.tasks_eliminated,
      s.tasks_total ? 100.0 * static_cast<double>(s.tasks_eliminated) / static_cast<double>(s.tasks_total) : 0.0);
}

std::string stale_text(const ExperimentStatus& s) {
  if (s.tasks_stale == 0) return "";
  return fmt::format(", {} stale (results of another spec, data or gridfold version; not counted)", s.tasks_stale);
}

std::string waves_text(const ExperimentStatus::Waves& w) {
  std::string out = fmt::format("{} submitted ({} elements), {} elements pending submission", w.submitted,
                                w.elements_submitted, w.elements_pending);
  if (w.max_queued > 0) out += fmt::format(", at most {} jobs queued", w.max_queued);
  if (w.stopped) out += ", chain stopped by cancel";
  if (!w.chain_job_id.empty() && w.elements_pending > 0) {
    out += fmt::format(", chain job {} {}", w.chain_job_id, w.chain_state.empty() ? "unknown" : w.chain_state);
  }
  return out;
}

std::string results_text(const ExperimentStatus& s) {
  std::vector<std::string> devices;
  for (const auto& [device, count] : s.devices) devices.push_back(fmt::format("{} {}", device, count));
  std::vector<std::string> rules;
  for (const auto& [rule, tasks] : s.firings) {
    rules.push_back(fmt::format("{} in {} tasks{}", rule, tasks.flagged,
                                tasks.stopped > 0 ? fmt::format(" ({} stopped)", tasks.stopped) : ""));
  }
  return fmt::format("{} loose, {} archived{}{}", s.results_loose, s.results_archived,
                     devices.empty() ? "" : fmt::format("; trained on {}", fmt::join(devices, ", ")),
                     rules.empty() ? "" : fmt::format("; rules fired: {}", fmt::join(rules, ", ")));
}

}  // namespace

std::string render_line(const ExperimentStatus& s) {
  return fmt::format("{}: tasks {}/{} done{}{}{}; results {}; {}elements: {}; {} task failures{}{}", s.name,
                     s.tasks_done, s.tasks_total, stale_text(s), eta_text(s), s.race ? "; " + race_text(s) : "",
                     results_text(s), s.waves ? "waves " + waves_text(*s.waves) + "; " : "",
                     counts_text(s.element_counts), s.task_failures.size(),
                     s.pack_state.empty() ? "" : fmt::format("; pack {}", s.pack_state),
                     s.accounting ? "" : " (accounting off: ended elements judged from results on disk)");
}

std::string render_table(const ExperimentStatus& s) {
  std::string out = fmt::format("experiment {}\ntasks      {}/{} done{}{}\nresults    {}\n", s.name, s.tasks_done,
                                s.tasks_total, stale_text(s), eta_text(s), results_text(s));
  if (s.race) out += race_text(s) + "\n";
  if (!s.submitted) return out + "not submitted to SLURM (gridfold submit)\n";
  if (s.waves) out += "waves      " + waves_text(*s.waves) + "\n";
  if (!s.accounting) out += "accounting is off: the states of ended elements are judged from results on disk\n";
  out += fmt::format("\n{:<12} {:>9}  {}\n", "array", "elements", "states");
  for (const auto& a : s.arrays) {
    out += fmt::format("{:<12} {:>9}  {}\n", a.job_id.empty() ? "-" : a.job_id, a.submitted, counts_text(a.counts));
  }
  out += fmt::format("{:<12} {:>9}  {}\n", "latest", s.elements.size(), counts_text(s.element_counts));
  if (!s.pack_job_id.empty())
    out += fmt::format("pack job {}: {}\n", s.pack_job_id, s.pack_state.empty() ? "unknown" : s.pack_state);
  const auto failed = s.failed_elements();
  if (!failed.empty()) out += "\nfailed elements\n";
  for (const ElementStatus* e : failed) {
    out += fmt::format("  element {} (job {}_{}) {} exit {} on {}\n  log {}\n", e->element, e->job_id, e->array_index,
                       e->slurm_state, e->exit_code.empty() ? "?" : e->exit_code,
                       e->node_list.empty() ? "?" : e->node_list, e->log.string());
    for (const auto& line : e->log_tail) out += "    | " + line + "\n";
  }
  if (!s.task_failures.empty()) out += "\nfailed tasks\n";
  for (const auto& f : s.task_failures) out += fmt::format("  {}: {}\n", f.result_name, f.reason);
  return out;
}

std::string render_json(const ExperimentStatus& s) {
  using nlohmann::json;
  auto counts = [](const std::map<ElementState, std::size_t>& c) {
    json j = json::object();
    for (const auto& [state, n] : c) j[to_string(state)] = n;
    return j;
  };
  json arrays = json::array();
  for (const auto& a : s.arrays) {
    arrays.push_back({{"job_id", a.job_id},
                      {"first_element", a.chunk.first_element},
                      {"submitted", a.submitted},
                      {"states", counts(a.counts)}});
  }
  json failures = json::array();
  for (const ElementStatus* e : s.failed_elements()) {
    failures.push_back({{"element", e->element},
                        {"job_id", e->job_id},
                        {"array_index", e->array_index},
                        {"state", to_string(e->state)},
                        {"slurm_state", e->slurm_state},
                        {"exit_code", e->exit_code},
                        {"nodes", e->node_list},
                        {"log", e->log.string()},
                        {"log_tail", e->log_tail}});
  }
  json diagnostics = json::object();
  for (const auto& [rule, tasks] : s.firings) {
    diagnostics[rule] = {{"tasks_flagged", tasks.flagged}, {"tasks_stopped", tasks.stopped}};
  }
  json task_failures = json::array();
  for (const auto& f : s.task_failures) {
    task_failures.push_back({{"result", f.result_name}, {"reason", f.reason}, {"file", f.file.string()}});
  }
  json j{{"experiment", s.name},
         {"tasks_total", s.tasks_total},
         {"tasks_done", s.tasks_done},
         {"tasks_stale", s.tasks_stale},
         {"results_loose", s.results_loose},
         {"results_archived", s.results_archived},
         {"devices", s.devices},
         {"diagnostics", diagnostics},
         {"tasks_eliminated", s.tasks_eliminated},
         {"submitted", s.submitted},
         {"accounting", s.accounting},
         {"elements", counts(s.element_counts)},
         {"arrays", arrays},
         {"failed_elements", failures},
         {"failed_tasks", task_failures},
         {"pack_job_id", s.pack_job_id},
         {"pack_state", s.pack_state},
         {"tasks_per_hour", s.tasks_per_hour ? json(*s.tasks_per_hour) : json(nullptr)},
         {"eta_seconds", s.eta_seconds ? json(*s.eta_seconds) : json(nullptr)}};
  if (s.waves) {
    j["waves"] = {{"submitted", s.waves->submitted},
                  {"elements_submitted", s.waves->elements_submitted},
                  {"elements_pending", s.waves->elements_pending},
                  {"max_queued", s.waves->max_queued},
                  {"chain_job_id", s.waves->chain_job_id},
                  {"chain_state", s.waves->chain_state},
                  {"stopped", s.waves->stopped}};
  }
  if (s.race) {
    j["race"] = {{"races", s.race->races},
                 {"rounds", s.race->rounds},
                 {"round_min", s.race->round_min},
                 {"round_max", s.race->round_max},
                 {"configs", s.race->configs},
                 {"survivors_min", s.race->survivors_min},
                 {"survivors_max", s.race->survivors_max}};
  }
  return j.dump(2) + "\n";
}

}  // namespace gridfold
