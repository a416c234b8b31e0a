#include "common/plan.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <random>

#include "common/atomic_file.hpp"
#include "common/config_text.hpp"
#include "common/hdf5.hpp"
#include "common/plan_limits.hpp"

namespace gridfold {
namespace {

constexpr std::int64_t kSchemaVersion = 1;
// A race plan orders its tasks by round (/tasks/race_rounds), which a reader of version 1 would
// misnumber; it is written as version 2 so that an older gridfold refuses it instead.
constexpr std::int64_t kRaceSchemaVersion = 2;

void write_index_sets(const h5::Node& group, const IndexSets& sets) {
  group.write("test_offsets", sets.offsets);
  group.write("test_indices", sets.indices);
}

// Similarity values, one per test index of the sets they belong to (absent when empty).
void write_similarity(const h5::Node& group, const std::vector<float>& values) {
  if (!values.empty()) group.write("test_similarity", values);
}

std::vector<float> read_similarity(const h5::Node& group, const IndexSets& sets) {
  if (!group.exists("test_similarity")) return {};
  std::vector<float> values = group.read_floats("test_similarity");
  if (values.size() != sets.indices.size()) {
    throw h5::Error(
        fmt::format("{}: {} similarity values for {} test indices", group.path(), values.size(), sets.indices.size()));
  }
  return values;
}

IndexSets read_index_sets(const h5::Node& group) {
  IndexSets sets;
  sets.offsets = group.read_uint64("test_offsets");
  sets.indices = group.read_uint32("test_indices");
  if (sets.offsets.empty() || sets.offsets.back() != sets.indices.size()) {
    throw h5::Error(fmt::format("{}: fold offsets do not match the indices", group.path()));
  }
  return sets;
}

// An id goes into archive directory and file names, so a damaged or edited one is refused.
std::string checked_experiment_id(const h5::File& f, const std::filesystem::path& file) {
  if (!f.has_attr("experiment_id")) return {};
  const std::string id = f.attr_string("experiment_id");
  const bool hex16 = id.size() == 16 && id.find_first_not_of("0123456789abcdef") == std::string::npos;
  if (!hex16) {
    throw h5::Error(
        fmt::format("{}: experiment_id '{}' is not 16 lowercase hex digits; the plan is damaged, "
                    "re-run gridfold plan into a new directory",
                    file.string(), id));
  }
  return id;
}

void add_race_tasks(ExperimentPlan& plan) {
  const std::vector<std::size_t> bounds = round_bounds(plan);
  const std::size_t outer = plan.folds.outer_count();
  const auto configs = static_cast<std::uint32_t>(plan.configs.size());
  for (std::size_t r = 0; r + 1 < bounds.size(); ++r) {
    if (plan.folds.inner_count == 0) {
      for (std::uint32_t c = 0; c < configs; ++c) {
        for (std::size_t f = bounds[r]; f < bounds[r + 1]; ++f) {
          plan.tasks.push_back(Task{c, static_cast<std::uint16_t>(f), -1});
        }
      }
      continue;
    }
    for (std::size_t f = 0; f < outer; ++f) {
      for (std::uint32_t c = 0; c < configs; ++c) {
        for (std::size_t j = bounds[r]; j < bounds[r + 1]; ++j) {
          plan.tasks.push_back(Task{c, static_cast<std::uint16_t>(f), static_cast<std::int16_t>(j)});
        }
      }
    }
  }
  if (plan.folds.inner_count == 0) return;
  for (std::size_t f = 0; f < outer; ++f) {
    for (std::uint32_t c = 0; c < configs; ++c) plan.tasks.push_back(Task{c, static_cast<std::uint16_t>(f), -1});
  }
}

}  // namespace

bool is_race(const ExperimentPlan& plan) {
  return !plan.race_rounds.empty();
}

std::size_t race_fold_count(const ExperimentPlan& plan) {
  return plan.folds.inner_count > 0 ? static_cast<std::size_t>(plan.folds.inner_count) : plan.folds.outer_count();
}

std::vector<std::size_t> round_bounds(const ExperimentPlan& plan) {
  std::vector<std::size_t> bounds{0};
  for (int r : plan.race_rounds) bounds.push_back(static_cast<std::size_t>(r));
  bounds.push_back(race_fold_count(plan));
  return bounds;
}

std::size_t task_round(const ExperimentPlan& plan, const Task& task) {
  if (!is_race(plan)) return 0;
  if (plan.folds.inner_count > 0 && task.inner_fold < 0) return plan.race_rounds.size() + 1;
  const auto fold = static_cast<int>(plan.folds.inner_count > 0 ? task.inner_fold : task.outer_fold);
  return static_cast<std::size_t>(std::upper_bound(plan.race_rounds.begin(), plan.race_rounds.end(), fold) -
                                  plan.race_rounds.begin());
}

std::string new_experiment_id() {
  std::random_device source;  // getrandom(2) on Linux: unpredictable on every node of a cluster
  const std::uint64_t id = (static_cast<std::uint64_t>(source()) << 32) ^ source();
  return fmt::format("{:016x}", id);
}

ExperimentPlan make_plan(const SpecDocument& doc, std::size_t sample_count, const std::vector<std::string>& strata,
                         const std::vector<std::string>& groups) {
  const ExperimentSpec& spec = doc.base();
  ExperimentPlan plan;
  plan.name = spec.name;
  plan.experiment_id = new_experiment_id();
  plan.spec_dir = std::filesystem::absolute(spec.source).parent_path();
  plan.sample_count = sample_count;
  plan.param_paths = grid_paths(spec.grid);
  plan.configs = expand_grid(doc);
  plan.resampling = canonical_resampling(spec.resampling);
  plan.folds = make_resampling_plan(spec.resampling, sample_count, strata, groups);
  const std::size_t outer = plan.folds.outer_count();
  const auto inner = static_cast<std::size_t>(plan.folds.inner_count);
  // The spec's limits keep every count within the Task fields' types, so the casts below are
  // exact; the counters are std::size_t, which none of the counts can wrap.
  check_plan_limits(plan.configs.size(), outer, inner, spec.source.string());
  plan.tasks.reserve(plan_task_count(plan.configs.size(), outer, inner));
  if (spec.search.strategy == SearchStrategy::race) {
    plan.race_rounds = spec.search.rounds;
    add_race_tasks(plan);
    return plan;
  }
  for (std::size_t c = 0; c < plan.configs.size(); ++c) {
    for (std::size_t f = 0; f < outer; ++f) {
      const Task task{static_cast<std::uint32_t>(c), static_cast<std::uint16_t>(f), -1};
      plan.tasks.push_back(task);
      for (std::size_t j = 0; j < inner; ++j) {
        plan.tasks.push_back(Task{task.config, task.outer_fold, static_cast<std::int16_t>(j)});
      }
    }
  }
  return plan;
}

std::span<const std::uint32_t> test_rows(const ExperimentPlan& plan, const Task& task) {
  if (task.inner_fold < 0) return plan.folds.outer_test[task.outer_fold];
  return plan.folds.inner_test_of(task.outer_fold, static_cast<std::size_t>(task.inner_fold));
}

std::vector<std::uint32_t> train_rows(const ExperimentPlan& plan, const Task& task) {
  if (task.inner_fold < 0) return plan.folds.outer_train(task.outer_fold);
  return plan.folds.inner_train(task.outer_fold, static_cast<std::size_t>(task.inner_fold));
}

std::size_t task_index(const ExperimentPlan& plan, std::uint32_t config, int outer_fold, int inner_fold) {
  if (is_race(plan)) {
    const std::size_t configs = plan.configs.size();
    const std::size_t outer = plan.folds.outer_count();
    const auto inner = static_cast<std::size_t>(plan.folds.inner_count);
    const auto f = static_cast<std::size_t>(outer_fold);
    if (inner > 0 && inner_fold < 0) return outer * configs * inner + f * configs + config;
    const std::vector<std::size_t> bounds = round_bounds(plan);
    const std::size_t r =
        task_round(plan, Task{config, static_cast<std::uint16_t>(outer_fold), static_cast<std::int16_t>(inner_fold)});
    const std::size_t width = bounds[r + 1] - bounds[r];
    if (inner == 0) return configs * bounds[r] + config * width + (f - bounds[r]);
    return outer * configs * bounds[r] + (f * configs + config) * width +
           (static_cast<std::size_t>(inner_fold) - bounds[r]);
  }
  const auto per_outer = static_cast<std::size_t>(1 + plan.folds.inner_count);
  return (static_cast<std::size_t>(config) * plan.folds.outer_count() + static_cast<std::size_t>(outer_fold)) *
             per_outer +
         static_cast<std::size_t>(inner_fold + 1);
}

std::size_t element_count(std::size_t tasks, int tasks_per_element) {
  const auto per = static_cast<std::size_t>(std::max(tasks_per_element, 1));
  return (tasks + per - 1) / per;
}

void write_plan(const std::filesystem::path& file, const ExperimentPlan& plan) {
  write_atomically(file, [&](const std::filesystem::path& tmp) {
    h5::File f = h5::File::create(tmp);
    f.set_attr("schema_version", is_race(plan) ? kRaceSchemaVersion : kSchemaVersion);
    f.set_attr("gridfold_version", std::string(GRIDFOLD_VERSION));
    f.set_attr("name", plan.name);
    if (!plan.experiment_id.empty()) f.set_attr("experiment_id", plan.experiment_id);
    f.set_attr("spec_dir", plan.spec_dir.string());
    f.set_attr("sample_count", static_cast<std::int64_t>(plan.sample_count));
    f.set_attr("data_checksum", plan.data_checksum);
    f.set_attr("resampling", plan.resampling);

    const h5::Node configs = f.create_group("configs");
    std::vector<std::string> ids, values, canonical;
    ids.reserve(plan.configs.size());
    canonical.reserve(plan.configs.size());
    values.reserve(plan.configs.size() * plan.param_paths.size());
    for (const auto& c : plan.configs) {
      ids.push_back(c.id);
      canonical.push_back(c.canonical);
      for (const auto& path : plan.param_paths) values.push_back(c.params.at(path).yaml);
    }
    configs.write("id", ids);
    configs.write("canonical", canonical);
    configs.write("param_paths", plan.param_paths);
    configs.write_matrix("values", values, plan.configs.size(), plan.param_paths.size());

    const h5::Node folds = f.create_group("folds");
    const h5::Node outer_group = folds.create_group("outer");
    write_index_sets(outer_group, plan.folds.outer_test);
    write_similarity(outer_group, plan.folds.outer_similarity);
    const h5::Node inner = folds.create_group("inner");
    inner.set_attr("folds_per_outer", static_cast<std::int64_t>(plan.folds.inner_count));
    write_index_sets(inner, plan.folds.inner_test);
    write_similarity(inner, plan.folds.inner_similarity);

    const h5::Node tasks = f.create_group("tasks");
    std::vector<std::uint32_t> config(plan.tasks.size());
    std::vector<std::int16_t> outer(plan.tasks.size()), inner_fold(plan.tasks.size());
    for (std::size_t i = 0; i < plan.tasks.size(); ++i) {
      config[i] = plan.tasks[i].config;
      outer[i] = static_cast<std::int16_t>(plan.tasks[i].outer_fold);
      inner_fold[i] = plan.tasks[i].inner_fold;
    }
    tasks.write("config", config);
    tasks.write("outer_fold", outer);
    tasks.write("inner_fold", inner_fold);
    // A race orders its tasks by round; readers need the rounds to find a task's index.
    if (is_race(plan))
      tasks.write("race_rounds", std::vector<std::int64_t>(plan.race_rounds.begin(), plan.race_rounds.end()));
    f.close();
  });
}

ExperimentPlan read_plan(const std::filesystem::path& file) {
  const h5::File f = h5::File::open_read(file);
  const std::int64_t version = f.attr_int("schema_version");
  if (version != kSchemaVersion && version != kRaceSchemaVersion) {
    throw h5::Error(
        fmt::format("{}: plan schema version {} is not one of the {} and {} this gridfold reads; re-run "
                    "gridfold plan",
                    file.string(), version, kSchemaVersion, kRaceSchemaVersion));
  }
  ExperimentPlan plan;
  plan.name = f.attr_string("name");
  plan.experiment_id = checked_experiment_id(f, file);
  plan.spec_dir = f.attr_string("spec_dir");
  plan.sample_count = static_cast<std::uint64_t>(f.attr_int("sample_count"));
  if (f.has_attr("data_checksum")) plan.data_checksum = f.attr_string("data_checksum");
  if (f.has_attr("resampling")) plan.resampling = f.attr_string("resampling");

  const h5::Node configs = f.group("configs");
  const auto ids = configs.read_strings("id");
  plan.param_paths = configs.read_strings("param_paths");
  const auto values = configs.read_strings("values");
  std::vector<std::string> canonical =
      configs.exists("canonical") ? configs.read_strings("canonical") : std::vector<std::string>(ids.size());
  if (canonical.size() != ids.size()) throw h5::Error(fmt::format("{}: config table is malformed", file.string()));
  const std::size_t width = plan.param_paths.size();
  if (values.size() != ids.size() * width) throw h5::Error(fmt::format("{}: config table is malformed", file.string()));
  plan.configs.reserve(ids.size());
  for (std::size_t c = 0; c < ids.size(); ++c) {
    Config config{ids[c], {}, std::move(canonical[c])};
    for (std::size_t p = 0; p < width; ++p) config.params[plan.param_paths[p]] = ParamValue{values[c * width + p], {}};
    plan.configs.push_back(std::move(config));
  }

  const h5::Node folds = f.group("folds");
  plan.folds.sample_count = plan.sample_count;
  plan.folds.outer_test = read_index_sets(folds.group("outer"));
  plan.folds.outer_similarity = read_similarity(folds.group("outer"), plan.folds.outer_test);
  const h5::Node inner = folds.group("inner");
  plan.folds.inner_count = static_cast<int>(inner.attr_int("folds_per_outer"));
  plan.folds.inner_test = read_index_sets(inner);
  plan.folds.inner_similarity = read_similarity(inner, plan.folds.inner_test);

  const h5::Node tasks = f.group("tasks");
  const auto config = tasks.read_uint32("config");
  const auto outer = tasks.read_int16("outer_fold");
  const auto inner_fold = tasks.read_int16("inner_fold");
  if (outer.size() != config.size() || inner_fold.size() != config.size()) {
    throw h5::Error(fmt::format("{}: task table columns differ in length", file.string()));
  }
  if (tasks.exists("race_rounds")) {
    for (std::int64_t r : tasks.read_int64("race_rounds")) plan.race_rounds.push_back(static_cast<int>(r));
  }
  plan.tasks.resize(config.size());
  for (std::size_t i = 0; i < config.size(); ++i) {
    plan.tasks[i] = Task{config[i], static_cast<std::uint16_t>(outer[i]), inner_fold[i]};
  }
  return plan;
}

std::string read_experiment_id(const std::filesystem::path& file) {
  return checked_experiment_id(h5::File::open_read(file), file);
}

}  // namespace gridfold
