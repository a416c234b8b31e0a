#include "orchestrator/slurm/resubmission.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "common/archive_catalog.hpp"
#include "common/plan.hpp"
#include "orchestrator/slurm/experiment_status.hpp"
#include "common/result_inventory.hpp"

namespace gridfold {

std::optional<Submission> resubmit_experiment(const ResubmitOptions& options, const SlurmClient& slurm) {
  const ExperimentLayout layout(options.submit.experiment);
  const auto submissions = read_submissions(layout);
  if (submissions.empty()) {
    throw SpecError(fmt::format("{}: nothing was submitted yet; use gridfold submit", layout.root().string()));
  }
  const ExperimentPlan plan = read_plan(layout.plan());
  const SpecDocument doc = SpecDocument::load(layout.spec(), plan.spec_dir);
  const ExperimentStatus status = collect_status(layout, slurm, 0);
  const std::vector<bool> done = finished_tasks(layout, plan, archive_directory(layout, doc.base())).done;
  const std::size_t per_element = submissions.back().tasks_per_element;

  // The chunk (array offset) each element was first submitted in keeps its SLURM index
  // below MaxArraySize in every later array.
  std::map<std::size_t, ArrayChunk> chunk_of;
  for (const auto& sub : submissions) {
    for (const auto& a : sub.arrays) {
      for (std::size_t i = 0; i < a.chunk.count; ++i) chunk_of.emplace(a.chunk.first_element + i, a.chunk);
    }
  }
  std::map<std::size_t, const ElementStatus*> state_of;
  for (const auto& e : status.elements) state_of[e.element] = &e;

  std::map<std::size_t, ArrayRequest> requests;  // by chunk offset
  std::vector<std::string> active_arrays;
  for (const auto& e : status.elements) {
    if (is_active(e.state)) active_arrays.push_back(e.job_id);
  }
  for (const auto& [element, chunk] : chunk_of) {
    const std::size_t first = element * per_element;
    const std::size_t last = std::min(first + per_element, done.size());
    const bool missing = std::any_of(done.begin() + static_cast<std::ptrdiff_t>(first),
                                     done.begin() + static_cast<std::ptrdiff_t>(last), [](bool d) { return !d; });
    if (!missing) continue;
    const auto state = state_of.find(element);
    if (state != state_of.end() && is_active(state->second->state)) continue;
    if (options.failed_only && (state == state_of.end() || !is_failure(state->second->state))) continue;
    auto& request = requests.try_emplace(chunk.first_element, ArrayRequest{chunk, {}}).first->second;
    request.indices.push_back(element - chunk.first_element);
  }
  if (requests.empty()) return std::nullopt;

  std::sort(active_arrays.begin(), active_arrays.end());
  active_arrays.erase(std::unique(active_arrays.begin(), active_arrays.end()), active_arrays.end());
  PackDependency pack{active_arrays, status.pack_state == "pending" ? status.pack_job_id : ""};
  std::vector<ArrayRequest> list;
  for (auto& [_, r] : requests) list.push_back(std::move(r));
  return submit_arrays(layout, plan, doc.base(), list, options.submit, slurm, pack);
}

std::vector<std::string> cancel_experiment(const ExperimentLayout& layout, const SlurmClient& slurm) {
  const std::vector<std::string> ids = job_ids(read_submissions(layout));
  slurm.cancel(ids);
  return ids;
}

}  // namespace gridfold
