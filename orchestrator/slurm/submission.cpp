#include "orchestrator/slurm/submission.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <chrono>
#include <climits>
#include <fstream>
#include <numeric>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/planned_experiment.hpp"
#include "common/atomic_file.hpp"
#include "common/plan.hpp"
#include "common/slurm_time.hpp"
#include "orchestrator/slurm/gpu_request.hpp"
#include "orchestrator/templates/script_template.hpp"
#include "orchestrator/templates/template_dir.hpp"

namespace gridfold {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

fs::path submissions_file(const ExperimentLayout& layout) {
  return layout.slurm_dir() / "submissions.json";
}

std::string now_iso() {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}",
                     fmt::gmtime(std::chrono::system_clock::to_time_t(std::chrono::system_clock::now())));
}

// Optional #SBATCH lines: only the settings the spec actually sets.
std::vector<std::string> sbatch_options(const SlurmSpec& s) {
  std::vector<std::string> lines;
  auto add = [&](const std::string& option, const std::string& value) {
    if (!value.empty()) lines.push_back(fmt::format("#SBATCH --{}={}", option, value));
  };
  add("partition", s.partition);
  add("account", s.account);
  add("qos", s.qos);
  if (s.nodes > 0) add("nodes", std::to_string(s.nodes));
  for (const auto& d : s.extra_directives) lines.push_back("#SBATCH " + d);
  return lines;
}

std::vector<std::string> module_loads(const SlurmSpec& s) {
  std::vector<std::string> lines;
  for (const auto& m : s.modules) lines.push_back("module load " + m);
  return lines;
}

// The sbatch option that asks for the element's GPUs: slurm.gpus per rank, or, when
// ranks_per_gpu ranks share each GPU, enough GPUs for the element's ranks.
std::string gpu_request(const SlurmSpec& s) {
  if (s.ranks_per_gpu <= 1) return fmt::format("--gpus-per-task={}", s.gpus);
  return fmt::format("--gpus={}", (s.ntasks + s.ranks_per_gpu - 1) / s.ranks_per_gpu);
}

}  // namespace

TemplateValues job_template_values(const ExperimentSpec& spec, const ExperimentLayout& layout) {
  TemplateValues v;
  v.values["experiment"] = fs::absolute(layout.root()).lexically_normal().string();
  v.values["log_dir"] = fs::absolute(layout.logs_dir()).lexically_normal().string();
  v.values["time"] = spec.slurm.time;
  v.values["mem"] = spec.slurm.mem;
  v.values["cpus_per_task"] = std::to_string(spec.slurm.cpus_per_task);
  v.values["ntasks"] = std::to_string(spec.slurm.ntasks);
  v.values["gpus"] = std::to_string(spec.slurm.gpus);
  v.values["ranks_per_gpu"] = std::to_string(spec.slurm.ranks_per_gpu);
  v.values["gpu_request"] = gpu_request(spec.slurm);
  v.values["signal_seconds"] = std::to_string(spec.slurm.signal_seconds);
  v.values["gridfold"] = (executable_dir() / "gridfold").string();
  v.values["worker"] = worker_executable().string();
  v.blocks["sbatch_options"] = sbatch_options(spec.slurm);
  v.blocks["module_loads"] = module_loads(spec.slurm);
  return v;
}

namespace {

// SLURM's --array syntax for sorted indices: runs of consecutive indices become ranges.
std::string array_spec(const std::vector<std::size_t>& indices, int throttle) {
  std::string out;
  for (std::size_t i = 0; i < indices.size();) {
    std::size_t j = i;
    while (j + 1 < indices.size() && indices[j + 1] == indices[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += j == i ? std::to_string(indices[i]) : fmt::format("{}-{}", indices[i], indices[j]);
    i = j + 1;
  }
  if (throttle > 0) out += fmt::format("%{}", throttle);
  return out;
}

json to_json(const Submission& s) {
  json arrays = json::array();
  for (const auto& a : s.arrays) {
    arrays.push_back({{"job_id", a.job_id},
                      {"first_element", a.chunk.first_element},
                      {"elements", a.chunk.count},
                      {"indices", a.indices},
                      {"script", a.script.string()},
                      {"throttle", a.throttle},
                      {"after", a.after ? json(*a.after) : json(nullptr)}});
  }
  return {{"submitted_at", s.submitted_at},
          {"tasks", s.tasks},
          {"tasks_per_element", s.tasks_per_element},
          {"arrays", arrays},
          {"pack_job_id", s.pack_job_id},
          {"pack_script", s.pack_script.string()},
          {"dry_run", s.dry_run},
          {"split_note", s.split_note},
          {"gpu_note", s.gpu_note}};
}

Submission from_json(const json& j) {
  Submission s;
  s.submitted_at = j.at("submitted_at").get<std::string>();
  s.tasks = j.at("tasks").get<std::size_t>();
  s.tasks_per_element = j.at("tasks_per_element").get<std::size_t>();
  for (const auto& a : j.at("arrays")) {
    SubmittedArray array;
    array.job_id = a.at("job_id").get<std::string>();
    array.chunk = ArrayChunk{a.at("first_element").get<std::size_t>(), a.at("elements").get<std::size_t>()};
    array.indices = a.at("indices").get<std::vector<std::size_t>>();
    array.script = a.at("script").get<std::string>();
    // Records written before throttles were shared out lack these.
    array.throttle = a.value("throttle", 0);
    if (a.contains("after") && !a.at("after").is_null()) array.after = a.at("after").get<std::size_t>();
    s.arrays.push_back(std::move(array));
  }
  s.split_note = j.value("split_note", "");
  s.gpu_note = j.value("gpu_note", "");  // absent in records of submissions before the GPU check
  s.pack_job_id = j.at("pack_job_id").get<std::string>();
  s.pack_script = j.at("pack_script").get<std::string>();
  s.dry_run = j.at("dry_run").get<bool>();
  return s;
}

void record(const ExperimentLayout& layout, const Submission& s) {
  json all = json::array();
  for (const auto& previous : read_submissions(layout)) all.push_back(to_json(previous));
  all.push_back(to_json(s));
  write_text_atomically(submissions_file(layout), all.dump(2) + "\n");
}

void write_script(const fs::path& path, const std::string& text) {
  write_text_atomically(path, text);
  fs::permissions(path, fs::perms::owner_exec | fs::perms::group_exec, fs::perm_options::add);
}

}  // namespace

std::vector<ArrayChunk> split_into_arrays(std::size_t elements, int max_array_size) {
  const auto cap = static_cast<std::size_t>(std::max(max_array_size, 1));
  std::vector<ArrayChunk> chunks;
  for (std::size_t first = 0; first < elements; first += cap) {
    chunks.push_back(ArrayChunk{first, std::min(cap, elements - first)});
  }
  return chunks;
}

std::vector<ArrayThrottle> share_throttle(int throttle, std::size_t arrays) {
  std::vector<ArrayThrottle> out(arrays);
  if (throttle <= 0 || arrays == 0) return out;
  const std::size_t lanes = std::min(arrays, static_cast<std::size_t>(throttle));
  const std::size_t base = static_cast<std::size_t>(throttle) / lanes;
  const std::size_t extra = static_cast<std::size_t>(throttle) % lanes;
  for (std::size_t i = 0; i < arrays; ++i) {
    const std::size_t lane = i % lanes;
    out[i].throttle = static_cast<int>(base + (lane < extra ? 1 : 0));
    if (i >= lanes) out[i].after = i - lanes;
  }
  return out;
}

std::vector<std::string> job_ids(const std::vector<Submission>& submissions) {
  std::vector<std::string> ids;
  for (const auto& sub : submissions) {
    for (const auto& a : sub.arrays) {
      if (!a.job_id.empty()) ids.push_back(a.job_id);  // empty: sbatch refused it
    }
    if (!sub.pack_job_id.empty()) ids.push_back(sub.pack_job_id);
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

std::vector<Submission> read_submissions(const ExperimentLayout& layout) {
  const fs::path file = submissions_file(layout);
  std::vector<Submission> out;
  if (!fs::exists(file)) return out;
  std::ifstream in(file);
  try {
    for (const auto& j : json::parse(in)) out.push_back(from_json(j));
  } catch (const json::exception& e) {
    throw std::runtime_error(fmt::format("{}: not a valid submission record: {}", file.string(), e.what()));
  }
  return out;
}

Submission submit_arrays(const ExperimentLayout& layout, const ExperimentPlan& plan, const ExperimentSpec& spec,
                         const std::vector<ArrayRequest>& requests, const SubmitOptions& options,
                         const SlurmClient& slurm, const PackDependency& pack) {
  if (options.launcher != "mpirun" && options.launcher != "srun") {
    throw SpecError(fmt::format("launcher '{}' is not valid; expected mpirun or srun", options.launcher));
  }
  if (!options.time.empty() && !is_slurm_time(options.time)) {
    throw SpecError(
        fmt::format("time limit '{}' is not valid; expected a SLURM time such as 90, 02:00:00 or "
                    "1-12:00:00",
                    options.time));
  }
  if (!options.time.empty()) {
    // USR1 must come after the job starts (see parse_slurm's rule for slurm.time).
    const long long limit = slurm_time_seconds(options.time).value_or(0);
    if (limit != 0 && limit <= spec.slurm.signal_seconds) {
      throw SpecError(
          fmt::format("time limit '{}' ({} s) is not valid; expected a limit longer than "
                      "slurm.signal_seconds ({} s), by which USR1 precedes the limit",
                      options.time, limit, spec.slurm.signal_seconds));
    }
  }
  Submission s;
  if (spec.slurm.gpus > 0) {
    const fs::path worker = worker_executable();
    s.gpu_note = check_gpu_request(spec, ask_worker_runtime(worker, slurm.runner()), worker, options.allow_cpu);
  }
  s.submitted_at = now_iso();
  s.tasks = plan.tasks.size();
  s.tasks_per_element = static_cast<std::size_t>(spec.slurm.tasks_per_element);
  s.dry_run = options.dry_run;

  fs::create_directories(layout.logs_dir());
  const fs::path script_dir = layout.slurm_dir() / fmt::format("submit-{:03d}", read_submissions(layout).size());
  fs::create_directories(script_dir);

  TemplateValues values = job_template_values(spec, layout);
  values.values["launcher"] = options.launcher;
  values.values["tasks_per_element"] = std::to_string(s.tasks_per_element);
  if (!options.time.empty()) values.values["time"] = options.time;
  const std::string train_name = spec.slurm.gpus > 0 ? "train-gpu.sbatch" : "train.sbatch";
  const std::string train_template = load_template(spec.slurm.template_path, train_name);
  const std::string template_source = spec.slurm.template_path.empty() ? train_name : spec.slurm.template_path.string();

  const std::vector<ArrayThrottle> throttles = share_throttle(spec.slurm.array_throttle, requests.size());
  for (std::size_t i = 0; i < requests.size(); ++i) {
    values.values["job_name"] = fmt::format("gf-{}-{}", spec.name, i);
    values.values["array"] = array_spec(requests[i].indices, throttles[i].throttle);
    values.values["element_offset"] = std::to_string(requests[i].chunk.first_element);
    const fs::path script = script_dir / fmt::format("train-{:03d}.sbatch", i);
    write_script(script, render_template(train_template, template_source, values));
    s.arrays.push_back(
        SubmittedArray{"", requests[i].chunk, requests[i].indices, script, throttles[i].throttle, throttles[i].after});
  }
  values.values["job_name"] = fmt::format("gf-{}-pack", spec.name);
  s.pack_script = script_dir / "pack.sbatch";
  write_script(s.pack_script, render_template(load_template({}, "pack.sbatch"), "pack.sbatch", values));
  if (options.dry_run) return s;

  std::vector<std::string> wait_for = pack.still_active_arrays;
  try {
    for (auto& a : s.arrays) {
      std::vector<std::string> args;
      if (a.after) args.push_back("--dependency=afterany:" + s.arrays[*a.after].job_id);
      a.job_id = slurm.submit(a.script, args);
      wait_for.push_back(a.job_id);
    }
    if (!pack.pending_pack_job.empty()) {
      slurm.set_dependency(pack.pending_pack_job, wait_for);
      s.pack_job_id = pack.pending_pack_job;
    } else {
      s.pack_job_id =
          slurm.submit(s.pack_script, {"--dependency=afterany:" + fmt::format("{}", fmt::join(wait_for, ":"))});
    }
  } catch (...) {
    // What was submitted must stay on record, or nothing could cancel or resubmit it. A pack
    // job still pending stays the experiment's pack job, and waits for what was submitted.
    if (!pack.pending_pack_job.empty()) {
      s.pack_job_id = pack.pending_pack_job;
      if (wait_for.size() > pack.still_active_arrays.size()) {
        try {
          slurm.set_dependency(pack.pending_pack_job, wait_for);
        } catch (const SlurmError&) {
          // The submission error is the one to report; a later resubmit extends it again.
        }
      }
    }
    record(layout, s);
    throw;
  }
  record(layout, s);
  return s;
}

Submission submit_experiment(const SubmitOptions& options, const SlurmClient& slurm) {
  const PlannedExperiment experiment(options.experiment);
  const auto& [layout, plan, doc] = experiment;
  const ExperimentSpec& spec = experiment.spec();
  const std::size_t elements = element_count(plan.tasks.size(), spec.slurm.tasks_per_element);
  int max_array = 0;
  std::string split_note;
  try {
    max_array = slurm.max_array_size();
    split_note = fmt::format("arrays split at MaxArraySize {} (scontrol show config)", max_array);
  } catch (const std::exception& e) {
    // A dry run shows the real split where the cluster answers, and still works where it does not.
    if (!options.dry_run) throw;
    max_array = static_cast<int>(std::min<std::size_t>(std::max<std::size_t>(elements, 1), INT_MAX));
    split_note = fmt::format(
        "shown as one array: the cluster's MaxArraySize is unknown ({}); the real submission "
        "may split it into several",
        e.what());
  }
  std::vector<ArrayRequest> requests;
  for (const ArrayChunk& chunk : split_into_arrays(elements, max_array)) {
    std::vector<std::size_t> indices(chunk.count);
    std::iota(indices.begin(), indices.end(), std::size_t{0});
    requests.push_back(ArrayRequest{chunk, std::move(indices)});
  }
  Submission s = submit_arrays(layout, plan, spec, requests, options, slurm, PackDependency{});
  s.split_note = split_note;
  return s;
}

std::string render_text(const Submission& s) {
  std::string out;
  for (std::size_t i = 0; i < s.arrays.size(); ++i) {
    const SubmittedArray& a = s.arrays[i];
    std::string limits;
    if (a.throttle > 0) limits += fmt::format(", at most {} at once", a.throttle);
    if (a.after) limits += fmt::format(", after array {}", *a.after);
    out += fmt::format("{} array {} elements {}-{}{} ({})\n", s.dry_run ? "would submit" : "submitted",
                       a.job_id.empty() ? "-" : a.job_id, a.chunk.first_element,
                       a.chunk.first_element + a.chunk.count - 1, limits, a.script.string());
  }
  out += fmt::format("{} pack job {} after all arrays ({})\n", s.dry_run ? "would submit" : "submitted",
                     s.pack_job_id.empty() ? "-" : s.pack_job_id, s.pack_script.string());
  out += fmt::format("{} tasks in {} array(s)\n", s.tasks, s.arrays.size());
  if (!s.split_note.empty()) out += s.split_note + "\n";
  if (!s.gpu_note.empty()) out += s.gpu_note + "\n";
  return out;
}

std::string render_json(const Submission& s) {
  return to_json(s).dump(2) + "\n";
}

}  // namespace gridfold
