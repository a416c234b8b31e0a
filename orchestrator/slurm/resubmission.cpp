#include "orchestrator/slurm/resubmission.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "common/archive_catalog.hpp"
#include "common/plan.hpp"
#include "common/planned_experiment.hpp"
#include "common/race_standing.hpp"
#include "common/result_inventory.hpp"
#include "orchestrator/slurm/experiment_status.hpp"
#include "orchestrator/slurm/waves.hpp"

namespace gridfold {

RerunPlan plan_reruns(const RerunFacts& facts, bool failed_only) {
  RerunPlan out;
  if (facts.submissions.empty()) return out;
  const std::size_t per_element = facts.submissions.back().tasks_per_element;
  const std::vector<bool>& done = facts.task_done;

  // The chunk (array offset) each element was first submitted in keeps its SLURM index
  // below MaxArraySize in every later array.
  std::map<std::size_t, ArrayChunk> chunk_of;
  for (const auto& sub : facts.submissions) {
    for (const auto& a : sub.arrays) {
      for (std::size_t i = 0; i < a.chunk.count; ++i) chunk_of.emplace(a.chunk.first_element + i, a.chunk);
    }
  }
  std::map<std::size_t, const ElementStatus*> state_of;
  for (const auto& e : facts.elements) state_of[e.element] = &e;

  std::map<std::size_t, ArrayRequest> requests;  // by chunk offset
  std::vector<std::string> active_arrays;
  for (const auto& e : facts.elements) {
    if (is_active(e.state)) active_arrays.push_back(e.job_id);
  }
  for (const auto& [element, chunk] : chunk_of) {
    const std::size_t first = std::min(element * per_element, done.size());
    const std::size_t last = std::min(first + per_element, done.size());
    const bool missing = std::any_of(done.begin() + static_cast<std::ptrdiff_t>(first),
                                     done.begin() + static_cast<std::ptrdiff_t>(last), [](bool d) { return !d; });
    if (!missing) continue;
    const auto state = state_of.find(element);
    if (state != state_of.end() && is_active(state->second->state)) continue;
    if (failed_only && (state == state_of.end() || !is_failure(state->second->state))) continue;
    auto& request = requests.try_emplace(chunk.first_element, ArrayRequest{chunk, {}}).first->second;
    request.indices.push_back(element - chunk.first_element);
  }
  if (requests.empty()) return out;

  std::sort(active_arrays.begin(), active_arrays.end());
  active_arrays.erase(std::unique(active_arrays.begin(), active_arrays.end()), active_arrays.end());
  out.pack = PackDependency{active_arrays, facts.pack_state == "pending" ? facts.pack_job_id : ""};
  for (auto& [_, r] : requests) out.requests.push_back(std::move(r));
  return out;
}

std::size_t limit_reruns(std::vector<ArrayRequest>& requests, std::size_t slots) {
  std::size_t left_out = 0;
  for (ArrayRequest& r : requests) {
    const std::size_t keep = std::min(slots, r.indices.size());
    left_out += r.indices.size() - keep;
    r.indices.resize(keep);
    slots -= keep;
  }
  std::erase_if(requests, [](const ArrayRequest& r) { return r.indices.empty(); });
  return left_out;
}

std::optional<Submission> resubmit_experiment(const ResubmitOptions& options, const SlurmClient& slurm) {
  const PlannedExperiment experiment(options.submit.experiment);
  const ExperimentLayout& layout = experiment.layout;
  RerunFacts facts;
  facts.submissions = read_submissions(layout);
  if (facts.submissions.empty()) {
    throw SpecError(fmt::format("{}: nothing was submitted yet; use gridfold submit", layout.root().string()));
  }
  ExperimentStatus status = collect_status(layout, slurm, 0);
  facts.task_done = finished_tasks(layout, experiment.plan, experiment.archive_dir()).done;
  // A raced task of an eliminated config never runs: to a rerun it is as good as done. Rounds
  // that settled since the workers stopped are decided here, so their losers are not rerun.
  const RaceStanding race = race_standing(layout, experiment.plan, experiment.spec(), experiment.archive_dir(),
                                          facts.task_done, RaceUpdate::decide);
  for (std::size_t t = 0; t < facts.task_done.size(); ++t) {
    if (race.task_eliminated[t]) facts.task_done[t] = true;
  }
  facts.elements = std::move(status.elements);
  facts.pack_job_id = status.pack_job_id;
  facts.pack_state = status.pack_state;

  RerunPlan plan = plan_reruns(facts, options.failed_only);
  if (plan.requests.empty()) return std::nullopt;
  // Under a queue limit, what fits besides a pack job; the rest waits for a later resubmit.
  std::size_t left_out = 0;
  if (const auto free = free_queue_slots(layout, slurm)) {
    left_out = limit_reruns(plan.requests, *free > 0 ? *free - 1 : 0);
    if (plan.requests.empty()) {
      throw ClusterError(
          fmt::format("the queue limit leaves no room for a rerun now ({} elements need one); run "
                      "gridfold resubmit again once jobs have ended",
                      left_out));
    }
  }
  Submission s =
      submit_arrays(layout, experiment.plan, experiment.spec(), plan.requests, options.submit, slurm, plan.pack);
  if (left_out > 0) {
    s.split_note = fmt::format(
        "{} more elements need a rerun but do not fit under the queue limit now; run gridfold "
        "resubmit again once jobs have ended",
        left_out);
  }
  return s;
}

std::vector<std::string> cancel_experiment(const ExperimentLayout& layout, const SlurmClient& slurm) {
  require_planned(layout);
  // The chain is stopped first, so a chain job starting meanwhile submits nothing.
  const std::string chain_job = stop_waves(layout);
  std::vector<std::string> ids = job_ids(read_submissions(layout));
  if (!chain_job.empty()) ids.push_back(chain_job);
  slurm.cancel(ids);
  return ids;
}

}  // namespace gridfold
