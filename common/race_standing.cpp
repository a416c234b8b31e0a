#include "common/race_standing.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "common/archive_catalog.hpp"
#include "common/atomic_file.hpp"
#include "common/errors.hpp"
#include "common/exclusive_rename.hpp"
#include "common/file_bytes.hpp"
#include "common/fold_scores.hpp"
#include "common/hdf5.hpp"
#include "common/metrics.hpp"
#include "common/result_fingerprint.hpp"
#include "common/text_file.hpp"

namespace gridfold {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json number_or_null(double v) {
  return std::isfinite(v) ? json(v) : json(nullptr);
}

std::string record_text(const ExperimentPlan& plan, const RaceRecord& r) {
  json eliminated = json::array();
  for (const RaceElimination& e : r.decision.eliminated) {
    eliminated.push_back({{"config", plan.configs[e.config].id},
                          {"reason", to_string(e.reason)},
                          {"folds", e.folds},
                          {"mean_difference", number_or_null(e.mean_difference)},
                          {"p_value", number_or_null(e.p_value)}});
  }
  json survivors = json::array();
  for (std::uint32_t c : r.decision.survivors) survivors.push_back(plan.configs[c].id);
  const json j{{"race", r.outer_fold < 0 ? json("outer") : json(r.outer_fold)},
               {"round", r.round},
               {"target", r.target},
               {"metric", r.metric},
               {"folds", r.decision.folds},
               {"shared_folds", r.decision.shared_folds},
               {"leader", r.decision.leader ? json(plan.configs[*r.decision.leader].id) : json(nullptr)},
               {"survivors", survivors},
               {"eliminated", eliminated}};
  return j.dump(2) + "\n";
}

RaceRecord read_record(const fs::path& file, const ExperimentPlan& plan, int outer_fold, std::size_t round) {
  std::unordered_map<std::string, std::uint32_t> config_of;
  for (std::uint32_t c = 0; c < plan.configs.size(); ++c) config_of.emplace(plan.configs[c].id, c);
  auto config = [&](const json& id) {
    const auto it = config_of.find(id.get<std::string>());
    if (it == config_of.end()) {
      throw BadInputError(fmt::format("{}: config {} is not in the plan; the race record belongs to another plan",
                                      file.string(), id.get<std::string>()));
    }
    return it->second;
  };
  auto number = [](const json& v) { return v.is_null() ? std::nan("") : v.get<double>(); };
  RaceRecord r;
  r.outer_fold = outer_fold;
  r.round = round;
  try {
    const json j = json::parse(read_text_file(file));
    r.target = j.at("target").get<std::string>();
    r.metric = j.at("metric").get<std::string>();
    r.decision.folds = j.at("folds").get<std::size_t>();
    r.decision.shared_folds = j.at("shared_folds").get<std::size_t>();
    if (!j.at("leader").is_null()) r.decision.leader = config(j.at("leader"));
    for (const json& id : j.at("survivors")) r.decision.survivors.push_back(config(id));
    for (const json& e : j.at("eliminated")) {
      r.decision.eliminated.push_back({config(e.at("config")),
                                       e.at("reason").get<std::string>() == "worse" ? RaceElimination::Reason::worse
                                                                                    : RaceElimination::Reason::unscored,
                                       e.at("folds").get<std::size_t>(), number(e.at("mean_difference")),
                                       number(e.at("p_value"))});
    }
  } catch (const json::exception& e) {
    throw BadInputError(fmt::format("{}: not a race record: {}", file.string(), e.what()));
  }
  return r;
}

// The race metric of finished results, read once per task and call.
class ScoreReader {
 public:
  ScoreReader(const ExperimentLayout& layout, const ExperimentPlan& plan, fs::path archive_dir, std::string target,
              std::string metric)
      : layout_(layout),
        plan_(plan),
        archive_dir_(std::move(archive_dir)),
        target_(std::move(target)),
        metric_(std::move(metric)) {}

  // NaN when the result lacks the metric or cannot be found with the expected fingerprint.
  double score(std::size_t task_number) {
    const auto cached = cache_.find(task_number);
    if (cached != cache_.end()) return cached->second;
    const Task& task = plan_.tasks[task_number];
    const std::string& id = plan_.configs[task.config].id;
    const std::string expected = expected_fingerprint(plan_, task_number).digest();
    double value = std::nan("");
    std::vector<std::byte> bytes;
    const fs::path file = layout_.result(id, task.outer_fold, task.inner_fold);
    // Images are named as archive members are, never by their path: HDF5 refuses to open an
    // image under the name of a file it has open (a worker may hold the result it just wrote).
    const std::string member =
        fmt::format("results/{}/{}.h5", id, ExperimentLayout::result_name(task.outer_fold, task.inner_fold));
    bool found = false;
    try {
      if (read_file_bytes(file, bytes))
        found = take(read_fold_scores_image(bytes.data(), bytes.size(), member), expected, value);
    } catch (const std::exception&) {
      // An unreadable loose file: the archived copy may be the one.
    }
    if (!found) {
      for (auto it = archives().rbegin(); it != archives().rend() && !found; ++it) {
        for (const ArchiveMember& m : it->index.members) {
          if (m.name != member) continue;
          bytes = read_member(it->archive, it->index, m);
          found = take(read_fold_scores_image(bytes.data(), bytes.size(), member), expected, value);
          break;
        }
      }
    }
    cache_.emplace(task_number, value);
    return value;
  }

 private:
  bool take(const FoldScores& s, const std::string& expected, double& value) const {
    if (s.fingerprint != expected) return false;
    const auto target = s.metrics.find(target_);
    if (target != s.metrics.end()) {
      const auto m = target->second.find(metric_);
      if (m != target->second.end()) value = m->second;
    }
    return true;
  }
  const std::vector<CatalogedArchive>& archives() {
    if (!archives_) archives_ = list_archives(archive_dir_, plan_.experiment_id);
    return *archives_;
  }

  const ExperimentLayout& layout_;
  const ExperimentPlan& plan_;
  fs::path archive_dir_;
  std::string target_, metric_;
  std::map<std::size_t, double> cache_;
  std::optional<std::vector<CatalogedArchive>> archives_;
};

// Records `record` unless another process recorded this decision first; returns the recorded one.
RaceRecord record_decision(const ExperimentLayout& layout, const ExperimentPlan& plan, const RaceRecord& record) {
  const fs::path file = race_record_path(layout, record.outer_fold, record.round);
  fs::create_directories(file.parent_path());
  const fs::path staging = file.parent_path() / fmt::format(".staging-{}-{}", file.filename().string(), ::getpid());
  write_text_atomically(staging, record_text(plan, record));
  if (rename_exclusive(staging, file)) {
    fsync_path(file.parent_path());
    return record;
  }
  std::error_code ignored;
  fs::remove(staging, ignored);
  return read_record(file, plan, record.outer_fold, record.round);
}

}  // namespace

std::size_t RaceStanding::Race::survivors() const {
  return static_cast<std::size_t>(std::count(eliminated.begin(), eliminated.end(), false));
}

const RaceStanding::Race& RaceStanding::race_of(const Task& task) const {
  return races.size() == 1 ? races.front() : races.at(task.outer_fold);
}

bool RaceStanding::decided(const ExperimentPlan& plan, const Task& task) const {
  return task_round(plan, task) <= race_of(task).records.size();
}

RaceSettings race_settings(const ExperimentPlan& plan, const ExperimentSpec& spec) {
  RaceSettings s;
  s.alpha = spec.search.alpha;
  s.min_folds = static_cast<std::size_t>(spec.search.min_folds);
  s.larger_is_better = larger_is_better(spec.search.metric);
  if (!plan.tasks.empty()) {
    const Task first{0, 0, static_cast<std::int16_t>(plan.folds.inner_count > 0 ? 0 : -1)};
    const auto train = static_cast<double>(train_rows(plan, first).size());
    if (train > 0) s.test_train_ratio = static_cast<double>(test_rows(plan, first).size()) / train;
  }
  return s;
}

fs::path race_record_path(const ExperimentLayout& layout, int outer_fold, std::size_t round) {
  return layout.root() / "race" / (outer_fold < 0 ? std::string("outer") : fmt::format("outer{:03}", outer_fold)) /
         fmt::format("round{:02}.json", round);
}

RaceStanding race_standing(const ExperimentLayout& layout, const ExperimentPlan& plan, const ExperimentSpec& spec,
                           const fs::path& archive_dir, const std::vector<bool>& done, RaceUpdate update) {
  RaceStanding s;
  s.task_eliminated.assign(plan.tasks.size(), false);
  const std::size_t configs = plan.configs.size();
  if (!is_race(plan)) {
    s.races.push_back({-1, {}, std::vector<bool>(configs, false)});
    return s;
  }
  const bool inner = plan.folds.inner_count > 0;
  const std::vector<std::size_t> bounds = round_bounds(plan);
  const std::size_t race_rounds = bounds.size() - 1;
  s.rounds = race_rounds + (inner ? 1 : 0);
  const RaceSettings settings = race_settings(plan, spec);
  ScoreReader scores(layout, plan, archive_dir, spec.search.target, spec.search.metric);
  const std::size_t race_count = inner ? plan.folds.outer_count() : 1;
  for (std::size_t k = 0; k < race_count; ++k) {
    RaceStanding::Race race{inner ? static_cast<int>(k) : -1, {}, std::vector<bool>(configs, false)};
    auto task_of = [&](std::uint32_t c, std::size_t u) {
      return inner ? task_index(plan, c, static_cast<int>(k), static_cast<int>(u))
                   : task_index(plan, c, static_cast<int>(u), -1);
    };
    // Decision r comes before round r; with an inner loop the last one picks the configs whose
    // outer tasks run.
    for (std::size_t r = 1; r < s.rounds; ++r) {
      const fs::path file = race_record_path(layout, race.outer_fold, r);
      RaceRecord record;
      if (fs::exists(file)) {
        record = read_record(file, plan, race.outer_fold, r);
        if (record.decision.folds != bounds[r]) {
          throw BadInputError(
              fmt::format("{}: the decision was made on {} folds, but this plan decides round {} on {} (search.rounds "
                          "changed "
                          "since); move {} aside to race again",
                          file.string(), record.decision.folds, r, bounds[r], (layout.root() / "race").string()));
        }
      } else {
        if (update != RaceUpdate::decide) break;
        std::vector<std::uint32_t> survivors;
        bool settled = true;
        for (std::uint32_t c = 0; c < configs && settled; ++c) {
          if (race.eliminated[c]) continue;
          survivors.push_back(c);
          for (std::size_t u = 0; u < bounds[r] && settled; ++u) {
            const std::size_t t = task_of(c, u);
            const Task& task = plan.tasks[t];
            settled = done[t] || fs::exists(layout.failure(plan.configs[c].id, task.outer_fold, task.inner_fold));
          }
        }
        if (!settled) break;
        std::vector<std::vector<double>> table(configs);
        for (std::uint32_t c : survivors) {
          table[c].assign(bounds[r], std::nan(""));
          for (std::size_t u = 0; u < bounds[r]; ++u) {
            if (done[task_of(c, u)]) table[c][u] = scores.score(task_of(c, u));
          }
        }
        record.outer_fold = race.outer_fold;
        record.round = r;
        record.target = spec.search.target;
        record.metric = spec.search.metric;
        record.decision = decide_round(survivors, table, bounds[r], settings);
        record = record_decision(layout, plan, record);
      }
      for (const RaceElimination& e : record.decision.eliminated) {
        race.eliminated.at(e.config) = true;
        // Every task of the config from this round on.
        for (std::size_t u = bounds[r]; u < bounds.back(); ++u) s.task_eliminated[task_of(e.config, u)] = true;
        if (inner) s.task_eliminated[task_index(plan, e.config, static_cast<int>(k), -1)] = true;
      }
      race.records.push_back(std::move(record));
    }
    s.races.push_back(std::move(race));
  }
  s.eliminated_tasks = static_cast<std::size_t>(std::count(s.task_eliminated.begin(), s.task_eliminated.end(), true));
  return s;
}

}  // namespace gridfold
