#include "orchestrator/plan/plan_command.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <algorithm>

#include "common/atomic_file.hpp"
#include "common/config_text.hpp"
#include "common/dataset.hpp"
#include "common/experiment_layout.hpp"
#include "common/hdf5_settings.hpp"
#include "common/text_file.hpp"
#include "common/archive_catalog.hpp"
#include "common/result_inventory.hpp"
#include "common/similarity.hpp"
#include "orchestrator/plan/spec_changes.hpp"

namespace gridfold {
namespace fs = std::filesystem;

namespace {

// The experiment directory must be empty, new, or hold a plan of the same experiment name.
void check_directory_is_ours(const ExperimentLayout& layout, const std::string& name) {
  if (!fs::exists(layout.root())) return;
  if (!fs::is_directory(layout.root())) {
    throw SpecError(fmt::format("{}: exists and is not a directory; choose another --out", layout.root().string()));
  }
  if (!fs::exists(layout.spec())) {
    if (fs::directory_iterator(layout.root()) != fs::directory_iterator()) {
      throw SpecError(fmt::format("{}: directory is not empty and holds no gridfold experiment; choose another --out",
                                  layout.root().string()));
    }
    return;
  }
  const SpecDocument existing =
      SpecDocument::parse(read_text_file(layout.spec()), layout.spec().string(), layout.root());
  if (existing.base().name != name) {
    throw SpecError(fmt::format("{}: holds experiment '{}', not '{}'; choose another --out", layout.root().string(),
                                existing.base().name, name));
  }
}

std::vector<std::string> label_columns(const ResamplingSpec& r) {
  std::vector<std::string> cols;
  if (!r.stratify_by.empty()) cols.push_back(r.stratify_by);
  if (!r.group_by.empty()) cols.push_back(r.group_by);
  return cols;
}

ClusterSummary summarize(const SimilarityClusters& clusters) {
  std::vector<std::size_t> sizes = cluster_sizes(clusters);
  ClusterSummary s;
  s.count = sizes.size();
  if (sizes.empty()) return s;
  std::sort(sizes.begin(), sizes.end());
  s.largest = sizes.back();
  s.singletons = static_cast<std::size_t>(std::count(sizes.begin(), sizes.end(), std::size_t{1}));
  const std::size_t n = sizes.size();
  s.median = n % 2 ? static_cast<double>(sizes[n / 2]) : (static_cast<double>(sizes[n / 2 - 1] + sizes[n / 2])) / 2;
  return s;
}

// The plan with its groups: a column's values, or clusters of similar sequences (then with each
// test sample's highest similarity to its fold's training part).
ExperimentPlan grouped_plan(const SpecDocument& doc, const Dataset& data, std::optional<ClusterSummary>& clusters) {
  const ResamplingSpec& r = doc.base().resampling;
  const std::vector<std::string> strata =
      r.stratify_by.empty() ? std::vector<std::string>{} : data.extra_column(r.stratify_by);
  if (!r.group_by_similarity) {
    return make_plan(doc, data.size(), strata,
                     r.group_by.empty() ? std::vector<std::string>{} : data.extra_column(r.group_by));
  }
  const SimilarityGrouping& g = *r.group_by_similarity;
  const MinHashSketches sketches = minhash_sketches(data.sequences, doc.base().data.alphabet, g.kmer);
  const SimilarityClusters found = cluster_by_similarity(sketches, g.threshold);
  clusters = summarize(found);
  std::vector<std::string> groups;
  groups.reserve(found.cluster_of.size());
  for (std::uint32_t c : found.cluster_of) groups.push_back(std::to_string(c));
  ExperimentPlan plan = make_plan(doc, data.size(), strata, groups);
  add_test_similarity(plan.folds, sketches, lsh_banding(g.threshold));
  return plan;
}

}  // namespace

PlanSummary plan_experiment(const PlanOptions& options) {
  const SpecDocument doc = SpecDocument::load(options.spec);
  const ExperimentSpec& spec = doc.base();
  use_hdf5_settings(spec);
  const Dataset data = load_dataset(spec.data, label_columns(spec.resampling));
  std::optional<ClusterSummary> clusters;
  ExperimentPlan plan = grouped_plan(doc, data, clusters);

  plan.data_checksum = data_checksum(spec.data);
  const ExperimentLayout layout(options.out.empty() ? fs::path(spec.name) : options.out);
  check_directory_is_ours(layout, spec.name);
  // The id names the experiment's archives: a re-plan keeps it (an older plan without one
  // stays without, so its archives stay found).
  if (fs::exists(layout.plan())) plan.experiment_id = read_experiment_id(layout.plan());
  const std::vector<SpecChange> changes = spec_changes(layout, spec, plan);
  if (!changes.empty() && !options.replan) throw SpecError(describe_refusal(layout, changes));

  PlanSummary s;
  s.experiment_dir = fs::absolute(layout.root()).lexically_normal();
  s.name = spec.name;
  s.experiment_id = plan.experiment_id;
  s.samples = data.size();
  s.configs = plan.configs.size();
  s.outer_folds = plan.folds.outer_count();
  s.inner_folds = static_cast<std::size_t>(plan.folds.inner_count);
  s.tasks = plan.tasks.size();
  s.tasks_per_element = static_cast<std::size_t>(spec.slurm.tasks_per_element);
  s.elements = element_count(plan.tasks.size(), spec.slurm.tasks_per_element);
  s.changes = changes.size();
  s.clusters = clusters;
  for (const Config& config : plan.configs) {
    const std::int64_t field = receptive_field(doc.resolve(config.params).model);
    if (field > 0) s.receptive_fields.emplace_back(config.id, field);
  }
  if (!changes.empty() && !options.dry_run) {
    s.superseded_to =
        supersede_old_plan(layout, archive_directory(layout, spec, plan.experiment_id), plan.experiment_id, changes);
  }
  const ResultInventory inventory = finished_tasks(layout, plan, archive_directory(layout, spec, plan.experiment_id));
  s.results_present = static_cast<std::size_t>(std::count(inventory.done.begin(), inventory.done.end(), true));
  s.results_stale = inventory.stale;
  if (!options.dry_run) {
    fs::create_directories(layout.root());
    write_text_atomically(layout.spec(), doc.text());
    write_plan(layout.plan(), plan);
    s.written = true;
  }
  return s;
}

std::string render_text(const PlanSummary& s) {
  std::string out = fmt::format(
      "experiment  {}\n"
      "id          {}\n"
      "directory   {}{}\n"
      "samples     {}\n"
      "configs     {}\n"
      "folds       {} outer{}\n"
      "tasks       {} ({} already have results{})\n"
      "elements    {} array elements of {} task(s)\n",
      s.name, s.experiment_id.empty() ? "none (planned before experiment ids)" : s.experiment_id,
      s.experiment_dir.string(), s.written ? "" : " (dry run: nothing written)", s.samples, s.configs, s.outer_folds,
      s.inner_folds ? fmt::format(" x {} inner", s.inner_folds) : "", s.tasks, s.results_present,
      s.results_stale ? fmt::format(", {} only stale ones that will be rerun", s.results_stale) : "", s.elements,
      s.tasks_per_element);
  if (s.clusters) {
    out += fmt::format("clusters    {} of similar sequences: largest {}, median {}, {} singletons\n", s.clusters->count,
                       s.clusters->largest, s.clusters->median, s.clusters->singletons);
  }
  if (!s.receptive_fields.empty()) {
    const auto [low, high] = std::minmax_element(s.receptive_fields.begin(), s.receptive_fields.end(),
                                                 [](const auto& a, const auto& b) { return a.second < b.second; });
    out += fmt::format("receptive   {} positions seen per output position{}\n",
                       low->second == high->second ? std::to_string(low->second)
                                                   : fmt::format("{} to {}", low->second, high->second),
                       s.receptive_fields.size() < s.configs ? " (convolutional configs)" : "");
  }
  if (!s.superseded_to.empty()) {
    out += fmt::format("replanned   {} changed keys; the old plan's results are set aside in {}\n", s.changes,
                       s.superseded_to.string());
  } else if (s.changes > 0) {
    out += fmt::format("replanned   {} changed keys; the old plan's results would be set aside (dry run)\n", s.changes);
  }
  return out;
}

std::string render_json(const PlanSummary& s) {
  nlohmann::json j{{"experiment", s.name},
                   {"experiment_id", s.experiment_id},
                   {"directory", s.experiment_dir.string()},
                   {"written", s.written},
                   {"samples", s.samples},
                   {"configs", s.configs},
                   {"outer_folds", s.outer_folds},
                   {"inner_folds", s.inner_folds},
                   {"tasks", s.tasks},
                   {"results_present", s.results_present},
                   {"results_stale", s.results_stale},
                   {"changed_keys", s.changes},
                   {"superseded_to", s.superseded_to.string()},
                   {"elements", s.elements},
                   {"tasks_per_element", s.tasks_per_element}};
  if (s.clusters) {
    j["clusters"] = {{"count", s.clusters->count},
                     {"largest", s.clusters->largest},
                     {"median", s.clusters->median},
                     {"singletons", s.clusters->singletons}};
  }
  if (!s.receptive_fields.empty()) {
    j["receptive_fields"] = nlohmann::json::object();
    for (const auto& [config, field] : s.receptive_fields) j["receptive_fields"][config] = field;
  }
  return j.dump(2) + "\n";
}

}  // namespace gridfold
