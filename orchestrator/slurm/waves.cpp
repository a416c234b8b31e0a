#include "orchestrator/slurm/waves.hpp"

#include <pwd.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>

#include "common/atomic_file.hpp"
#include "common/plan.hpp"
#include "common/planned_experiment.hpp"
#include "orchestrator/templates/script_template.hpp"

namespace gridfold {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

fs::path state_file(const ExperimentLayout& layout) {
  return layout.slurm_dir() / "waves.json";
}

json to_json(const WaveState& s) {
  json waves = json::array();
  for (const Wave& w : s.waves) {
    waves.push_back({{"first_element", w.first_element},
                     {"elements", w.count},
                     {"submission", w.submission},
                     {"pack_job_id", w.pack_job_id}});
  }
  return {{"elements", s.elements},
          {"max_queued", s.max_queued},
          {"limit_source", s.limit_source},
          {"pack_every", s.pack_every},
          {"launcher", s.launcher},
          {"allow_cpu", s.allow_cpu},
          {"waves", waves},
          {"chain_job_id", s.chain_job_id},
          {"stopped", s.stopped}};
}

void write_state(const ExperimentLayout& layout, const WaveState& s) {
  write_text_atomically(state_file(layout), to_json(s).dump(2) + "\n");
}

// What `submit` knows before it submits anything: the limit and the experiment's size.
WaveState first_state(const ExperimentSpec& spec, std::size_t elements, const SlurmClient& slurm,
                      const SubmitOptions& options) {
  WaveState s;
  s.elements = elements;
  s.pack_every = static_cast<std::size_t>(spec.output.pack_every);
  s.launcher = options.launcher;
  s.allow_cpu = options.allow_cpu;
  if (spec.slurm.max_queued) {
    s.max_queued = *spec.slurm.max_queued;
    s.limit_source = s.max_queued > 0 ? "slurm.max_queued" : "slurm.max_queued: 0 (no limit)";
    return s;
  }
  try {
    if (const auto limit = slurm.submit_job_limit(current_user(), spec.slurm.qos)) {
      s.max_queued = *limit;
      s.limit_source = fmt::format("the submit limit of QOS/association (sacctmgr): {}", *limit);
      return s;
    }
    s.limit_source = "no submit limit (sacctmgr shows none, or accounting is off)";
  } catch (const std::exception& e) {  // no sacctmgr at all, or one that prints nonsense
    s.limit_source = fmt::format("no submit limit known ({})", e.what());
  }
  return s;
}

// The waves' arrays: each wave split at MaxArraySize, all indices of every chunk.
std::vector<ArrayRequest> requests_of(const ArrayChunk& wave, int max_array) {
  std::vector<ArrayRequest> requests;
  for (ArrayChunk chunk : split_into_arrays(wave.count, max_array)) {
    chunk.first_element += wave.first_element;
    std::vector<std::size_t> indices(chunk.count);
    std::iota(indices.begin(), indices.end(), std::size_t{0});
    requests.push_back(ArrayRequest{chunk, std::move(indices)});
  }
  return requests;
}

std::string chain_job_script(const ExperimentLayout& layout, const ExperimentSpec& spec) {
  TemplateValues values = job_template_values(spec, layout);
  values.values["job_name"] = fmt::format("gf-{}-wave", spec.name);
  const fs::path script = layout.slurm_dir() / "wave.sbatch";
  write_text_atomically(script, render_template(load_template({}, "wave.sbatch"), "wave.sbatch", values));
  fs::permissions(script, fs::perms::owner_exec | fs::perms::group_exec, fs::perm_options::add);
  return script.string();
}

bool is_queued(const SlurmClient& slurm, const std::string& job_id) {
  if (job_id.empty()) return false;
  for (const ElementRecord& r : slurm.queued({job_id})) {
    if (is_active(r.state)) return true;
  }
  return false;
}

}  // namespace

std::size_t WaveState::next_element() const {
  return waves.empty() ? 0 : waves.back().first_element + waves.back().count;
}

std::optional<WaveState> read_wave_state(const ExperimentLayout& layout) {
  const fs::path file = state_file(layout);
  if (!fs::exists(file)) return std::nullopt;
  std::ifstream in(file);
  try {
    const json j = json::parse(in);
    WaveState s;
    s.elements = j.at("elements").get<std::size_t>();
    s.max_queued = j.at("max_queued").get<int>();
    s.limit_source = j.at("limit_source").get<std::string>();
    s.pack_every = j.at("pack_every").get<std::size_t>();
    s.launcher = j.at("launcher").get<std::string>();
    s.allow_cpu = j.value("allow_cpu", false);
    for (const auto& w : j.at("waves")) {
      s.waves.push_back(Wave{w.at("first_element").get<std::size_t>(), w.at("elements").get<std::size_t>(),
                             w.at("submission").get<std::size_t>(), w.at("pack_job_id").get<std::string>()});
    }
    s.chain_job_id = j.at("chain_job_id").get<std::string>();
    s.stopped = j.at("stopped").get<bool>();
    return s;
  } catch (const json::exception& e) {
    throw IoError(fmt::format("{}: not a valid wave record: {}", file.string(), e.what()));
  }
}

WaveRoundPlan plan_wave_round(std::size_t next, std::size_t elements, std::optional<std::size_t> free_slots,
                              std::size_t pack_every) {
  WaveRoundPlan plan;
  const std::size_t cap = pack_every > 0 ? pack_every : SIZE_MAX;
  std::size_t free = free_slots.value_or(SIZE_MAX);
  while (next < elements) {
    std::size_t count = std::min(cap, elements - next);
    if (free_slots) {
      // count elements and a pack job, and a chain job whenever elements remain after them.
      if (free < count + 1 + (count < elements - next ? 1 : 0)) {
        if (free < 3) break;  // not one element with its pack job and the chain job
        count = std::min(count, free - 2);
      }
      free -= count + 1;
    }
    plan.waves.push_back(ArrayChunk{next, count});
    next += count;
  }
  plan.chain = next < elements;
  return plan;
}

WaveRound submit_waves(const SubmitOptions& options, const SlurmClient& slurm, const std::string& chain_job_id) {
  const PlannedExperiment experiment(options.experiment);
  const auto& [layout, plan, doc] = experiment;
  const ExperimentSpec& spec = experiment.spec();
  const std::size_t elements = element_count(plan.tasks.size(), spec.slurm.tasks_per_element);

  WaveRound round;
  std::optional<WaveState> recorded = read_wave_state(layout);
  if (!chain_job_id.empty()) {
    // A chain job acts only for the chain it belongs to: a later `submit` or `cancel` may
    // have taken over or stopped it while it waited.
    if (!recorded || recorded->chain_job_id != chain_job_id || recorded->stopped) {
      round.note = recorded && recorded->stopped ? "the chain was stopped by gridfold cancel; nothing submitted"
                                                 : "this chain job is no longer the experiment's; nothing submitted";
      if (recorded) round.state = *recorded;
      return round;
    }
  } else if (!recorded && !read_submissions(layout).empty()) {
    throw SpecError(
        fmt::format("{} was submitted already; gridfold resubmit submits what has no result", layout.root().string()));
  } else if (recorded && !recorded->complete() && is_queued(slurm, recorded->chain_job_id)) {
    round.note =
        fmt::format("chain job {} is queued and submits the next wave; nothing submitted", recorded->chain_job_id);
    round.state = *recorded;
    return round;
  }
  WaveState state = recorded ? *recorded : first_state(spec, elements, slurm, options);
  state.stopped = false;  // submitting again after a cancel resumes the chain
  if (state.complete()) {
    round.note = "every wave is submitted; gridfold resubmit submits elements that have no result";
    round.state = state;
    return round;
  }

  int max_array = 0;
  try {
    max_array = slurm.max_array_size();
  } catch (const std::exception&) {
    if (!options.dry_run) throw;
    max_array = static_cast<int>(std::min<std::size_t>(std::max<std::size_t>(elements, 1), INT_MAX));
  }
  std::optional<std::size_t> free;
  if (state.max_queued > 0) {
    const std::size_t queued = options.dry_run && recorded == std::nullopt ? 0 : slurm.queued_job_count(current_user());
    free = queued < static_cast<std::size_t>(state.max_queued) ? state.max_queued - queued : 0;
  }
  const WaveRoundPlan next = plan_wave_round(state.next_element(), elements, free, state.pack_every);
  round.note = state.limit_source;
  if (next.chain && free && *free == 0 && next.waves.empty()) {
    throw ClusterError(
        fmt::format("{} jobs are queued already, at the limit of {} ({}): not even the job that submits the next wave "
                    "fits; run gridfold submit again once jobs have ended",
                    state.max_queued - *free, state.max_queued, state.limit_source));
  }

  SubmitOptions wave_options = options;
  wave_options.launcher = state.launcher;
  // The chain job runs `submit --next-wave` without the first submit's options.
  wave_options.allow_cpu = state.allow_cpu || options.allow_cpu;
  std::string previous_pack = state.waves.empty() ? "" : state.waves.back().pack_job_id;
  for (const ArrayChunk& wave : next.waves) {
    const std::size_t before = read_submissions(layout).size();
    // Packs run one after another: a pack job finding the archive directory locked would fail.
    PackDependency pack;
    if (is_queued(slurm, previous_pack)) pack.still_active_arrays.push_back(previous_pack);
    try {
      round.submissions.push_back(
          submit_arrays(layout, plan, spec, requests_of(wave, max_array), wave_options, slurm, pack));
    } catch (...) {
      const auto recorded_now = read_submissions(layout);
      if (!options.dry_run && recorded_now.size() > before) {
        state.waves.push_back(Wave{wave.first_element, wave.count, before, recorded_now.back().pack_job_id});
        write_state(layout, state);
      }
      throw;
    }
    if (options.dry_run) {
      round.note += fmt::format("; a dry run shows the first wave only ({} of {} elements)", wave.count, elements);
      round.state = state;
      return round;
    }
    previous_pack = round.submissions.back().pack_job_id;
    state.waves.push_back(Wave{wave.first_element, wave.count, before, previous_pack});
    write_state(layout, state);
  }
  if (next.chain && !options.dry_run) {
    std::vector<std::string> args;
    if (!round.submissions.empty()) {
      std::vector<std::string> first_wave;
      for (const auto& a : round.submissions.front().arrays) first_wave.push_back(a.job_id);
      args.push_back(fmt::format("--dependency=afterany:{}", fmt::join(first_wave, ":")));
    } else {
      args.push_back("--begin=now+120");  // the queue is full of other jobs: look again later
    }
    state.chain_job_id = slurm.submit(chain_job_script(layout, spec), args);
    round.chain_job_id = state.chain_job_id;
  } else {
    state.chain_job_id.clear();
  }
  if (!options.dry_run) write_state(layout, state);
  round.state = state;
  return round;
}

std::string stop_waves(const ExperimentLayout& layout) {
  std::optional<WaveState> state = read_wave_state(layout);
  if (!state) return {};
  state->stopped = true;
  write_state(layout, *state);
  return state->chain_job_id;
}

std::optional<std::size_t> free_queue_slots(const ExperimentLayout& layout, const SlurmClient& slurm) {
  const std::optional<WaveState> state = read_wave_state(layout);
  if (!state || state->max_queued <= 0) return std::nullopt;
  const std::size_t queued = slurm.queued_job_count(current_user());
  return queued < static_cast<std::size_t>(state->max_queued) ? state->max_queued - queued : 0;
}

std::string current_user() {
  if (const passwd* pw = ::getpwuid(::getuid())) return pw->pw_name;
  return std::to_string(::getuid());
}

std::string render_text(const WaveRound& round) {
  std::string out;
  for (std::size_t i = 0; i < round.submissions.size(); ++i) {
    const Submission& s = round.submissions[i];
    const std::size_t first = s.arrays.empty() ? 0 : s.arrays.front().chunk.first_element;
    const std::size_t last =
        s.arrays.empty() ? 0 : s.arrays.back().chunk.first_element + s.arrays.back().chunk.count - 1;
    out += fmt::format("wave: elements {}-{}\n", first, last) + render_text(s);
  }
  const WaveState& st = round.state;
  if (!round.chain_job_id.empty()) {
    out += fmt::format("submitted chain job {}: submits the next wave when the first one above has ended\n",
                       round.chain_job_id);
  }
  out += fmt::format("waves: {} submitted, elements {}/{} submitted", st.waves.size(),
                     std::min(st.next_element(), st.elements), st.elements);
  if (st.max_queued > 0) out += fmt::format(", at most {} jobs queued", st.max_queued);
  out += "\n";
  if (!round.note.empty()) out += round.note + "\n";
  return out;
}

std::string render_json(const WaveRound& round) {
  json submissions = json::array();
  for (const Submission& s : round.submissions) submissions.push_back(json::parse(render_json(s)));
  const json j{{"submissions", submissions},
               {"chain_job_id", round.chain_job_id},
               {"note", round.note},
               {"waves", to_json(round.state)}};
  return j.dump(2) + "\n";
}

}  // namespace gridfold
