#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/text_file.hpp"
#include "common/archive.hpp"
#include "common/archive_summary.hpp"
#include "common/atomic_file.hpp"
#include "common/result_fingerprint.hpp"
#include "common/result_inventory.hpp"
#include "orchestrator/harvest/harvest_command.hpp"
#include "orchestrator/harvest/harvest_statistics.hpp"
#include "orchestrator/pack/pack_command.hpp"
#include "orchestrator/harvest/result_scores.hpp"
#include "tests/support/test_experiment.hpp"
#include "tests/temp_dir.hpp"

using namespace gridfold;
using gridfold::testing::TempDir;
using gridfold::testing::TestExperiment;
namespace fs = std::filesystem;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

const std::string kNestedSpec = R"(name: harvested
data: {path: d.csv, targets: [y, z]}
grid:
  training.lr: [0.1, 0.01, 0.001]
resampling:
  outer: {kfold: {k: 4}}
  inner: {kfold: {k: 3}}
)";

const fs::path kGridfold = fs::path(GRIDFOLD_BINARY_DIR) / "bin" / "gridfold";

HarvestSummary harvest(const TestExperiment& e, const fs::path& out, const std::string& metric = "") {
  HarvestOptions o;
  o.experiment = e.layout().root();
  o.out = out;
  o.metric = metric;
  return harvest_experiment(o);
}

void pack(const TestExperiment& e, bool keep) {
  PackOptions o;
  o.experiment = e.layout().root();
  o.keep_originals = keep;
  pack_experiment(o);
}

ScoredFold fold(std::uint32_t config, int outer, int inner, double r2) {
  return {config, outer, inner, {{"y", {{"r2", r2}}}}};
}

}  // namespace

TEST_CASE("each config's difference to the best is paired over the folds both have", "[harvest][paired]") {
  // Config 0 is best; config 1 is behind by 1, 2, 3, 4 on folds 0-3 (the hand-computed case of
  // test_race.cpp: 2.5 -+ 2.905 at n_test/n_train 0.25, so it reaches 0); config 2 is behind by
  // exactly 0.3 on every fold; config 3 shares only fold 0 with the best.
  std::vector<ScoredFold> folds;
  for (int f = 0; f < 4; ++f) {
    folds.push_back(fold(0, f, -1, 10.0 + f));
    folds.push_back(fold(1, f, -1, 10.0 + f - (f + 1)));
    folds.push_back(fold(2, f, -1, 10.0 + f - 0.3));
  }
  folds.push_back(fold(3, 0, -1, 9.9));
  folds.push_back(fold(3, 7, -1, 0.0));  // a fold the best lacks: left out of the pairing
  ConfigRanking ranking = rank_configs(folds, 4, "y", "r2");
  compare_to_best(ranking, folds, 0.25, 0.95);
  std::map<std::uint32_t, const ConfigRanking::Row*> by_config;
  for (const auto& row : ranking.rows) by_config[row.config] = &row;
  REQUIRE(ranking.rows.front().config == 0);
  CHECK(by_config[0]->to_best.mean == 0);
  CHECK(by_config[0]->indistinguishable);
  CHECK(by_config[1]->to_best.mean == Approx(2.5));
  CHECK(by_config[1]->to_best.low == Approx(-0.4051627).epsilon(1e-5));
  CHECK(by_config[1]->indistinguishable);
  CHECK(by_config[2]->to_best.mean == Approx(0.3));
  CHECK_FALSE(by_config[2]->indistinguishable);
  CHECK(by_config[3]->to_best.folds == 1);
  CHECK(by_config[3]->indistinguishable);  // nothing tells it apart on one fold
}

TEST_CASE("a config the inner race eliminated is neither chosen nor counted as partial", "[harvest][race]") {
  // Outer fold 0 races over 3 inner folds; config 1 was eliminated after inner fold 0, on which
  // it happened to score higher than config 0's mean.
  std::vector<ScoredFold> folds{fold(0, 0, 0, 0.7), fold(0, 0, 1, 0.8), fold(0, 0, 2, 0.8), fold(0, 0, -1, 0.75),
                                fold(1, 0, 0, 0.9)};
  const NestedSelection without = select_nested(folds, 2, 1, 3, "y", "r2");
  CHECK(without.folds[0].partial_configs == 1);
  const NestedSelection with = select_nested(folds, 2, 1, 3, "y", "r2", {{false, true}});
  CHECK(with.folds[0].partial_configs == 0);
  CHECK(with.folds[0].chosen == 0u);
  CHECK(incomplete_inner_warning(with).empty());
}

TEST_CASE("configs a race eliminated rank below every survivor", "[harvest][race]") {
  // Config 1 was eliminated after 5 folds on which it scored higher than config 0's 20-fold mean.
  std::vector<ScoredFold> folds;
  for (int f = 0; f < 20; ++f) folds.push_back(fold(0, f, -1, f < 5 ? 0.7 : 0.8));
  for (int f = 0; f < 5; ++f) folds.push_back(fold(1, f, -1, 0.79));
  ConfigRanking ranking = rank_configs(folds, 2, "y", "r2");
  REQUIRE(ranking.rows.front().config == 1);
  rank_survivors_first(ranking, {std::nullopt, std::size_t{1}});
  CHECK(ranking.rows[0].config == 0);
  CHECK(ranking.rows[0].rank == 1);
  CHECK(ranking.rows[1].config == 1);
  CHECK(ranking.rows[1].rank == 2);
  CHECK(ranking.rows[1].eliminated == std::size_t{1});
}

TEST_CASE("summaries use the sample standard deviation and skip NaN", "[harvest]") {
  const std::vector<double> values{1, 2, 3, kNaN};
  const Stats s = summarize(values);
  CHECK(s.count == 3);
  CHECK(s.mean == 2);
  CHECK(s.sd == 1);  // sqrt(((1-2)^2 + 0 + (3-2)^2) / (3 - 1))
  CHECK(s.min == 1);
  CHECK(s.max == 3);
  const std::vector<double> one{5};
  CHECK(std::isnan(summarize(one).sd));
  const std::vector<double> none{kNaN};
  CHECK(summarize(none).count == 0);
  CHECK(std::isnan(summarize(none).mean));
}

TEST_CASE("configs rank by the mean of the metric in its direction, undefined means last", "[harvest]") {
  std::vector<ScoredFold> folds;
  for (int o = 0; o < 2; ++o) {
    folds.push_back({0, o, -1, {{"y", {{"rmse", 0.5}, {"r2", 0.2}}}}});
    folds.push_back({1, o, -1, {{"y", {{"rmse", 0.1}, {"r2", 0.9}}}}});
    folds.push_back({2, o, -1, {{"y", {{"rmse", kNaN}, {"r2", kNaN}}}}});
    folds.push_back({1, o, 0, {{"y", {{"rmse", 9.0}, {"r2", -9.0}}}}});  // inner: not counted
  }
  const ConfigRanking by_rmse = rank_configs(folds, 4, "y", "rmse");
  CHECK_FALSE(by_rmse.larger_is_better);
  CHECK(by_rmse.rows[0].config == 1);
  CHECK(by_rmse.rows[0].metrics.at("rmse").mean == Approx(0.1));
  CHECK(by_rmse.rows[1].config == 0);
  CHECK(by_rmse.rows[2].config == 2);
  CHECK(by_rmse.rows[3].config == 3);  // no results at all
  CHECK(by_rmse.rows[3].outer_results == 0);
  CHECK(by_rmse.rows[0].rank == 1);
  CHECK(rank_configs(folds, 4, "y", "r2").rows[0].config == 1);
}

TEST_CASE("nested selection reports the outer score of each fold's inner choice", "[harvest]") {
  // Config 0 is best on average over outer folds, but inside outer fold 1 the inner folds
  // prefer config 1, so fold 1 reports config 1's outer score.
  const std::vector<ScoredFold> folds{fold(0, 0, -1, 0.9), fold(1, 0, -1, 0.5), fold(0, 0, 0, 0.8),
                                      fold(0, 0, 1, 0.7),  fold(1, 0, 0, 0.6),  fold(1, 0, 1, 0.6),
                                      fold(0, 1, -1, 0.8), fold(1, 1, -1, 0.4), fold(0, 1, 0, 0.5),
                                      fold(0, 1, 1, 0.5),  fold(1, 1, 0, 0.7),  fold(1, 1, 1, 0.6)};
  const NestedSelection n = select_nested(folds, 2, 2, 2, "y", "r2");
  REQUIRE(n.folds.size() == 2);
  CHECK(n.folds[0].chosen == 0u);
  CHECK(n.folds[0].inner_mean == Approx(0.75));
  CHECK(n.folds[0].inner_results == 2);
  CHECK(n.folds[0].outer_score == Approx(0.9));
  CHECK(n.folds[1].chosen == 1u);
  CHECK(n.folds[1].outer_score == Approx(0.4));
  CHECK(n.estimate.mean == Approx(0.65));
  CHECK(n.estimate.sd == Approx(std::sqrt(2 * 0.25 * 0.25)));
  CHECK(n.estimate.count == 2);
  CHECK(rank_configs(folds, 2, "y", "r2").rows[0].metrics.at("r2").mean == Approx(0.85));
}

TEST_CASE("nested selection chooses only among configs with every inner result, and flags a fold with none",
          "[harvest]") {
  // Outer fold 0: config 0 has 1 of 3 inner results and the better mean (0.99), config 1 all 3
  // (mean 0.5): config 1 is chosen. Outer fold 1: no config has all 3, so none is chosen.
  const std::vector<ScoredFold> folds{fold(0, 0, -1, 0.9), fold(1, 0, -1, 0.4), fold(0, 0, 0, 0.99),
                                      fold(1, 0, 0, 0.4),  fold(1, 0, 1, 0.5),  fold(1, 0, 2, 0.6),
                                      fold(0, 1, -1, 0.8), fold(1, 1, -1, 0.7), fold(0, 1, 0, 0.9),
                                      fold(0, 1, 2, 0.9),  fold(1, 1, 1, 0.95)};
  const NestedSelection n = select_nested(folds, 2, 2, 3, "y", "r2");
  REQUIRE(n.folds.size() == 2);
  CHECK(n.inner_folds == 3);
  CHECK(n.folds[0].chosen == 1u);
  CHECK(n.folds[0].inner_mean == Approx(0.5));
  CHECK(n.folds[0].inner_results == 3);
  CHECK(n.folds[0].complete_configs == 1);
  CHECK(n.folds[0].partial_configs == 1);
  CHECK(n.folds[0].inner_complete());
  CHECK(n.folds[0].outer_score == Approx(0.4));
  CHECK_FALSE(n.folds[1].chosen);
  CHECK_FALSE(n.folds[1].inner_complete());
  CHECK(n.folds[1].partial_configs == 2);
  CHECK(std::isnan(n.folds[1].outer_score));
  CHECK(n.estimate.count == 1);
  CHECK(n.estimate.mean == Approx(0.4));
  const std::string warning = incomplete_inner_warning(n);
  CHECK_THAT(warning, Catch::Contains("outer fold 1 (1 of 2) has no config with all 3 inner results") &&
                          Catch::Contains("in outer fold 0 configs with only some of their 3 inner results"));
}

TEST_CASE("a config whose inner scores are all undefined is complete but never chosen", "[harvest]") {
  const std::vector<ScoredFold> folds{fold(0, 0, 0, kNaN), fold(0, 0, 1, kNaN), fold(1, 0, 0, 0.1),
                                      fold(1, 0, 1, 0.2),  fold(0, 0, -1, 0.9), fold(1, 0, -1, 0.3)};
  const NestedSelection n = select_nested(folds, 2, 1, 2, "y", "r2");
  CHECK(n.folds[0].chosen == 1u);
  CHECK(n.folds[0].complete_configs == 2);
  CHECK(incomplete_inner_warning(n).empty());
}

TEST_CASE("harvest flags outer folds without a complete config in nested.csv, best.json and its summary", "[harvest]") {
  TempDir dir;
  const TestExperiment e(dir / "exp", kNestedSpec, 60);
  e.write_all_results();
  // Outer fold 2 loses inner fold 0 of every config; outer fold 1 loses inner fold 1 of config 0.
  for (const auto& config : e.plan().configs) fs::remove(e.layout().result(config.id, 2, 0));
  fs::remove(e.layout().result(e.plan().configs[0].id, 1, 1));
  const HarvestSummary s = harvest(e, dir / "out");
  const NestedSelection& n = *s.report.targets[0].nested;
  CHECK_FALSE(n.folds[2].chosen);
  CHECK_FALSE(n.folds[2].inner_complete());
  REQUIRE(n.folds[1].chosen);
  CHECK(*n.folds[1].chosen != 0u);
  CHECK(n.folds[1].partial_configs == 1);
  CHECK(n.estimate.count == 3);

  const std::string text = render_text(s);
  CHECK_THAT(text, Catch::Contains("warning   nested selection (y): outer fold 2 (1 of 4) has no config with all 3 "
                                   "inner results"));
  const std::string csv = read_text_file(dir / "out" / "nested.csv");
  CHECK_THAT(csv, Catch::Contains("inner_results,inner_complete,complete_configs,partial_configs,outer_score"));
  CHECK_THAT(csv, Catch::Contains("y,r2,2,,,,,0,false,0,3,"));
  const auto j = nlohmann::json::parse(read_text_file(dir / "out" / "best.json"));
  CHECK(j["targets"][0]["nested"]["folds"][2]["inner_complete"] == false);
  CHECK(j["targets"][0]["nested"]["folds"][1]["partial_configs"] == 1);
  CHECK_THAT(j["targets"][0]["nested"]["warning"].get<std::string>(), Catch::Contains("outer fold 2"));
}

TEST_CASE("per-sample prediction statistics do not depend on the order results arrive in", "[harvest]") {
  const std::vector<std::uint32_t> samples{3, 7};
  const std::vector<float> truth{1.0f, 10.0f, 2.0f, 20.0f};  // [sample][target], 2 targets
  const std::vector<float> first{1.5f, 0.0f, 2.5f, 0.0f}, second{0.5f, 0.0f, 3.5f, 0.0f};
  PredictionTable forward, backward;
  forward.add("best", "y", 0u, 0, samples, truth, first, 0, 2);
  forward.add("best", "y", 0u, 1, samples, truth, second, 0, 2);
  backward.add("best", "y", 0u, 1, samples, truth, second, 0, 2);
  backward.add("best", "y", 0u, 0, samples, truth, first, 0, 2);
  const auto rows = forward.rows();
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].sample == 3);
  CHECK(rows[0].truth == 1.0);
  CHECK(rows[0].mean == 1.0);
  CHECK(rows[0].sd == Approx(std::sqrt(0.5)));
  CHECK(rows[0].count == 2);
  CHECK(rows[1].mean == 3.0);
  const auto reversed = backward.rows();
  for (std::size_t i = 0; i < rows.size(); ++i) {
    CHECK(rows[i].mean == reversed[i].mean);
    CHECK(rows[i].sd == reversed[i].sd);
  }
}

TEST_CASE("each sample's similarity to training is the mean over the results that tested it", "[harvest]") {
  const std::vector<std::uint32_t> samples{3, 7};
  const std::vector<float> truth{1.0f, 2.0f}, prediction{1.5f, 2.5f};
  PredictionTable table, unknown;
  table.add("best", "y", 0u, 0, samples, truth, prediction, 0, 1, std::vector<float>{0.25f, 0.5f});
  table.add("best", "y", 0u, 1, samples, truth, prediction, 0, 1, std::vector<float>{0.75f, 0.5f});
  unknown.add("best", "y", 0u, 0, samples, truth, prediction, 0, 1);
  const auto rows = table.rows();
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].train_similarity == 0.5);
  CHECK(rows[1].train_similarity == 0.5);
  CHECK(std::isnan(unknown.rows()[0].train_similarity));
}

TEST_CASE("harvest numbers match values computed independently from the loose files", "[harvest][python]") {
  TempDir dir;
  const TestExperiment e(dir / "exp", kNestedSpec, 60);
  e.write_all_results();
  const HarvestSummary s = harvest(e, dir / "out");
  CHECK(s.report.outer_results == 3 * 4);
  CHECK(s.report.inner_results == 3 * 4 * 3);
  REQUIRE(s.report.targets.size() == 2);
  REQUIRE(s.report.targets[0].nested);

  // pandas' std() is the sample standard deviation (ddof=1), like harvest's.
  const std::string script = dir.write("check.py", R"(import glob, json, os, sys
import h5py, numpy as np, pandas as pd
exp, out = sys.argv[1], sys.argv[2]
text = lambda v: v.decode() if isinstance(v, bytes) else str(v)
rows, preds = [], []
for path in glob.glob(os.path.join(exp, "results", "*", "*.h5")):
    with h5py.File(path, "r") as f:
        cid, outer, inner = text(f.attrs["config_id"]), int(f.attrs["outer_fold"]), int(f.attrs["inner_fold"])
        for target in f["metrics"]:
            for metric, value in f["metrics"][target].attrs.items():
                rows.append((cid, outer, inner, target, metric, float(value)))
        names = [text(n) for n in f["predictions/target_names"][:]]
        for i, sample in enumerate(f["predictions/sample_index"][:]):
            for j, target in enumerate(names):
                preds.append((cid, outer, inner, target, int(sample),
                              float(f["predictions/truth"][i, j]), float(f["predictions/prediction"][i, j])))
df = pd.DataFrame(rows, columns=["config_id", "outer", "inner", "target", "metric", "value"])
pr = pd.DataFrame(preds, columns=["config_id", "outer", "inner", "target", "sample", "truth", "prediction"])
outer = df[df.inner == -1]
stats = outer.groupby(["config_id", "target", "metric"])["value"].agg(["mean", "std", "min", "max", "count"])
configs = pd.read_csv(os.path.join(out, "configs.csv"), dtype={"config_id": str})
for (cid, target, metric), want in stats.iterrows():
    got = configs[(configs.config_id == cid) & (configs.target == target)].iloc[0]
    for s in ["mean", "std", "min", "max"]:
        assert np.isclose(got[f"{metric}_{s}"], want[s], rtol=1e-12, atol=0, equal_nan=True), (cid, target, metric, s)
    assert got[f"{metric}_count"] == want["count"]
best = json.load(open(os.path.join(out, "best.json")))
for t in best["targets"]:
    means = stats.xs((t["name"], "r2"), level=("target", "metric"))["mean"].sort_values(ascending=False)
    ranked = configs[configs.target == t["name"]].sort_values("rank")
    assert list(ranked.config_id) == list(means.index), (list(ranked.config_id), list(means.index))
    assert t["best"]["config_id"] == means.index[0]
    assert np.isclose(t["best"]["std"], stats.loc[(means.index[0], t["name"], "r2")]["std"], rtol=1e-12)
    # Nested: per outer fold, the config with the best mean inner r2, scored on the outer fold.
    inner = df[(df.inner >= 0) & (df.target == t["name"]) & (df.metric == "r2")]
    scores = []
    nested = pd.read_csv(os.path.join(out, "nested.csv"), dtype={"config_id": str})
    for o in sorted(inner.outer.unique()):
        choice = inner[inner.outer == o].groupby("config_id")["value"].mean().idxmax()
        mine = outer[(outer.config_id == choice) & (outer.outer == o)]
        score = mine[(mine.target == t["name"]) & (mine.metric == "r2")]["value"].iloc[0]
        row = nested[(nested.target == t["name"]) & (nested.outer_fold == o)].iloc[0]
        assert row.config_id == choice and np.isclose(row.outer_score, score, rtol=1e-12), (o, row.config_id, choice)
        scores.append(score)
    assert len(set(nested[nested.target == t["name"]].config_id)) > 1, "the fixture should make choices differ"
    assert np.isclose(t["nested"]["mean"], np.mean(scores), rtol=1e-12)
    assert np.isclose(t["nested"]["std"], np.std(scores, ddof=1), rtol=1e-12)
    # Per sample: the best config's outer predictions.
    mine = pr[(pr.config_id == t["best"]["config_id"]) & (pr.inner == -1) & (pr.target == t["name"])]
    want = mine.groupby("sample").agg(truth=("truth", "first"), mean=("prediction", "mean"),
                                      std=("prediction", "std"), count=("prediction", "count"))
    got = pd.read_csv(os.path.join(out, "predictions.csv"), dtype={"config_id": str})
    got = got[(got.selection == "best") & (got.target == t["name"])].set_index("sample")
    assert list(got.index) == list(want.index)
    for c in ["truth", "mean", "std"]:
        assert np.allclose(got[c], want[c], rtol=1e-6, equal_nan=True), c
    assert (got["count"] == want["count"]).all()
h5 = h5py.File(os.path.join(out, "harvest.h5"), "r")
assert len(h5["configs/rank"]) == len(configs)
assert text(h5["best/y"].attrs["config_id"]) == best["targets"][0]["best"]["config_id"]
print("ok")
)")
                                 .string();
  const std::string command = fmt::format("/usr/bin/python3 {} {} {} > {} 2>&1", script, e.layout().root().string(),
                                          (dir / "out").string(), (dir / "python.txt").string());
  const int rc = std::system(command.c_str());
  INFO(read_text_file(dir / "python.txt"));
  CHECK(rc == 0);
}

TEST_CASE("harvest from archives gives the same tables as harvest from the loose files", "[harvest][pack]") {
  TempDir dir;
  const TestExperiment e(dir / "exp", kNestedSpec, 60);
  e.write_all_results();
  harvest(e, dir / "loose");
  pack(e, false);
  const HarvestSummary archived = harvest(e, dir / "archived");
  CHECK(archived.report.loose == 0);
  CHECK(archived.report.archived == 48);
  for (const char* file : {"configs.csv", "nested.csv", "predictions.csv"}) {
    INFO(file);
    CHECK(read_text_file(dir / "archived" / file) == read_text_file(dir / "loose" / file));
  }
}

TEST_CASE("a result both loose and archived counts once, and the newest copy wins", "[harvest][pack]") {
  TempDir dir;
  const TestExperiment e(dir / "exp", kNestedSpec, 60);
  e.write_all_results();
  pack(e, true);
  const HarvestSummary both = harvest(e, dir / "both");
  CHECK(both.report.outer_results + both.report.inner_results == 48);
  CHECK(both.report.loose == 48);
  CHECK(both.report.archived == 0);

  e.write_result(0, 1.0);  // a rerun of task 0: the loose copy is newer than the archived one
  const HarvestSummary rerun_loose = harvest(e, dir / "rerun-loose");
  pack(e, false);  // archives the new copy again and removes every loose file
  const HarvestSummary rerun_archived = harvest(e, dir / "rerun-archived");
  CHECK(rerun_archived.report.superseded == 1);
  CHECK(rerun_archived.report.outer_results + rerun_archived.report.inner_results == 48);
  CHECK(read_text_file(dir / "rerun-archived/configs.csv") == read_text_file(dir / "rerun-loose/configs.csv"));
  CHECK(read_text_file(dir / "rerun-archived/configs.csv") != read_text_file(dir / "both/configs.csv"));
}

TEST_CASE("per-sample predictions average over the repeated resamples that tested the sample", "[harvest]") {
  TempDir dir;
  const TestExperiment e(dir / "exp", R"(name: holdout
data: {path: d.csv, targets: [y]}
grid:
  training.lr: [0.1, 0.01]
resampling:
  outer: {repeated_holdout: {n: 6, test_fraction: 0.5}}
)",
                         20);
  e.write_all_results();
  const HarvestSummary s = harvest(e, dir / "out");
  const auto& best = s.report.targets[0].ranking.rows.front();
  std::map<std::uint32_t, std::vector<double>> expected;
  for (std::size_t t = 0; t < e.plan().tasks.size(); ++t) {
    if (e.plan().tasks[t].config != best.config) continue;
    const FoldResult r = e.result(t);
    for (std::size_t i = 0; i < r.sample_index.size(); ++i) expected[r.sample_index[i]].push_back(r.prediction[i]);
  }
  std::size_t checked = 0, repeated = 0;
  for (const auto& row : s.report.predictions) {
    if (row.selection != "best") continue;
    const Stats want = summarize(expected.at(row.sample));
    CHECK(row.count == want.count);
    CHECK(row.mean == Approx(want.mean));
    if (want.count > 1) {
      CHECK(row.sd == Approx(want.sd));
      ++repeated;
    }
    ++checked;
  }
  CHECK(checked == expected.size());
  CHECK(repeated > 0);
}

TEST_CASE("scores read by several processes equal those read by one; a child's error keeps its type",
          "[harvest][pack]") {
  TempDir dir;
  const TestExperiment e(dir / "exp", kNestedSpec, 60);
  e.write_all_results();
  PackOptions o;
  o.experiment = e.layout().root();
  o.frame_size = 16 * 1024;  // many frames, so that every process gets a share
  o.keep_originals = true;
  pack_experiment(o);
  // Without the archive's summary every archived result is read from its image.
  fs::remove_all(e.layout().archives_dir() / "fingerprints");
  for (std::size_t t = 0; t < e.plan().tasks.size(); t += 2) {
    const Task& task = e.plan().tasks[t];
    fs::remove(e.layout().result(e.plan().configs[task.config].id, task.outer_fold, task.inner_fold));
  }
  const ResultStore store(e.layout(), e.layout().archives_dir(), e.plan().experiment_id);
  const auto by_name = [](std::vector<NamedScores> v) {
    std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return v;
  };
  const auto one = by_name(read_result_scores(store, 1));
  const auto three = by_name(read_result_scores(store, 3));
  REQUIRE(one.size() == 48);
  REQUIRE(three.size() == one.size());
  for (std::size_t i = 0; i < one.size(); ++i) {
    CHECK(three[i].name == one[i].name);
    CHECK(three[i].scores.config_id == one[i].scores.config_id);
    CHECK(three[i].scores.metrics == one[i].scores.metrics);
  }

  const fs::path archive = e.layout().archives_dir() / archive_file_name(e.plan().experiment_id, 1, Compression::zstd);
  std::fstream f(archive, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(fs::file_size(archive) * 3 / 4));
  f.put('\x7f');
  f.close();
  CHECK_THROWS_AS(read_result_scores(store, 3), ArchiveError);
}

TEST_CASE("harvest names the metrics it knows when --metric names none", "[harvest]") {
  TempDir dir;
  const TestExperiment e(dir / "exp", kNestedSpec, 60);
  e.write_all_results();
  CHECK_THROWS_WITH(harvest(e, dir / "out", "auroc"),
                    Catch::Contains("no result of target 'y' has the metric 'auroc'") && Catch::Contains("r2, rmse"));
  CHECK(harvest(e, dir / "out", "rmse").report.targets[0].ranking.larger_is_better == false);
}

TEST_CASE("a result file moved to another task's name is refused", "[harvest]") {
  TempDir dir;
  const TestExperiment e(dir / "exp", kNestedSpec, 60);
  e.write_all_results();
  const auto& id = e.plan().configs[0].id;
  fs::copy_file(e.layout().result(id, 0, -1), e.layout().result(id, 1, -1), fs::copy_options::overwrite_existing);
  CHECK_THROWS_WITH(harvest(e, dir / "out"), Catch::Contains("belongs at results/" + id + "/outer000.h5"));
}

TEST_CASE("gridfold harvest --json prints the summary; an experiment without results is an error", "[harvest]") {
  TempDir dir;
  const TestExperiment e(dir / "exp", kNestedSpec, 60);
  const auto run = [&](const std::string& args) {
    const std::string command =
        fmt::format("{} harvest {} > {} 2>&1", kGridfold.string(), args, (dir / "out.txt").string());
    const int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  CHECK(run(e.layout().root().string()) == 3);
  CHECK_THAT(read_text_file(dir / "out.txt"), Catch::Contains("has no fold results"));

  e.write_all_results();
  REQUIRE(run("--json " + e.layout().root().string()) == 0);
  const auto j = nlohmann::json::parse(read_text_file(dir / "out.txt"));
  CHECK(j["results"]["outer"] == 12);
  CHECK(j["targets"][0]["metric"] == "r2");
  CHECK(j["files"].size() == 7);  // configs, nested, predictions, positions, diagnostics, best.json, harvest.h5
  CHECK(fs::exists(e.layout().root() / "harvest" / "harvest.h5"));
}

TEST_CASE("with a grid over data.targets, each target is ranked among the configs that train it", "[harvest]") {
  TempDir dir;
  const std::string spec = R"(name: singletask
data: {path: d.csv, targets: [dG]}
grid:
  data.targets: [[dG], [Tm]]
  training.lr: [0.1, 0.01]
resampling:
  outer: {kfold: {k: 3}}
)";
  const TestExperiment e(dir.path() / "exp", spec, 30);
  const SpecDocument doc = SpecDocument::load(e.layout().spec());
  std::vector<std::string> names;
  for (const TargetSpec& t : targets_of_configs(doc, e.plan())) names.push_back(t.name);
  CHECK(names == std::vector<std::string>{"dG", "Tm"});

  std::vector<ScoredFold> folds;
  for (std::uint32_t c = 0; c < e.plan().configs.size(); ++c) {
    const std::string target = e.plan().configs[c].params.at("data.targets").yaml == "[dG]" ? "dG" : "Tm";
    for (int o = 0; o < 3; ++o) folds.push_back({c, o, -1, {{target, {{"r2", 0.5 + 0.1 * c}}}}});
  }
  for (const std::string target : {"dG", "Tm"}) {
    const ConfigRanking ranking = rank_configs(folds, e.plan().configs.size(), target, "r2");
    REQUIRE(ranking.rows.size() == 2);
    for (const auto& row : ranking.rows) {
      INFO(target << " config " << row.config);
      CHECK(row.outer_results == 3);
      CHECK(row.metrics.at("r2").count == 3);
    }
  }
}

TEST_CASE("stale results, loose or archived, are counted apart and left out of every statistic", "[harvest][pack]") {
  TempDir dir;
  const TestExperiment e(dir / "exp", kNestedSpec, 60);
  e.write_all_results();
  const HarvestSummary current = harvest(e, dir / "current");

  // Task 0's result as a plan with another resampling seed made it: other folds, other numbers.
  FoldResult stale = e.result(0, 1.0);
  stale.fingerprint.resampling = "resampling.seed=2\n";
  write_fold_result(e.layout().result(stale.config_id, stale.outer_fold, stale.inner_fold), stale);
  const HarvestSummary loose = harvest(e, dir / "loose");
  CHECK(loose.report.stale == 1);
  CHECK(loose.report.outer_results + loose.report.inner_results == 47);
  CHECK(read_text_file(dir / "loose/configs.csv") != read_text_file(dir / "current/configs.csv"));
  CHECK_THAT(render_text(loose), Catch::Contains("stale       1 results"));

  pack(e, false);
  const fs::path archive_dir = archive_directory(e.layout(), e.spec(), e.plan().experiment_id);
  const ResultInventory inventory = finished_tasks(e.layout(), e.plan(), archive_dir);
  CHECK(inventory.stale == 1);
  CHECK(std::count(inventory.done.begin(), inventory.done.end(), true) == 47);
  CHECK_FALSE(inventory.done[0]);
  // The archive's fingerprints are listed once beside it, and the list is what later checks read.
  const auto archives = list_archives(archive_dir, e.plan().experiment_id);
  REQUIRE(archives.size() == 1);
  const fs::path kept = archive_dir / "fingerprints" / (archives[0].archive.filename().string() + ".tsv");
  REQUIRE(fs::exists(kept));
  CHECK(archive_fingerprints(archives[0]).size() == 48);

  const HarvestSummary archived = harvest(e, dir / "archived");
  CHECK(archived.report.stale == 1);
  CHECK(read_text_file(dir / "archived/configs.csv") == read_text_file(dir / "loose/configs.csv"));
}

TEST_CASE("pack keeps each archived result's digest and scores beside the archive, and harvest reads them there",
          "[harvest][pack]") {
  TempDir dir;
  const TestExperiment e(dir / "exp", kNestedSpec, 60);
  e.write_all_results();
  harvest(e, dir / "loose");
  pack(e, false);
  const fs::path archive_dir = archive_directory(e.layout(), e.spec(), e.plan().experiment_id);
  const auto archives = list_archives(archive_dir, e.plan().experiment_id);
  REQUIRE(archives.size() == 1);
  const fs::path kept = archive_dir / "fingerprints" / (archives[0].archive.filename().string() + ".tsv");
  REQUIRE(fs::exists(kept));  // written by pack, before anything read the archive
  const auto summary = read_archive_summary(archives[0], true);
  REQUIRE(summary);
  REQUIRE(summary->size() == 48);
  CHECK(summary->front().scores->metrics.at("y").count("r2") == 1);
  const std::vector<std::string> expected = expected_digests(e.plan());
  for (const ResultSummary& r : *summary) {
    CHECK(std::find(expected.begin(), expected.end(), r.digest) != expected.end());
  }

  // Harvest takes the scores from the summary: a value changed there changes the tables.
  const std::string text = read_text_file(kept);
  std::string changed = text;
  for (auto r2 = changed.find("r2="); r2 != std::string::npos; r2 = changed.find("r2=", r2 + 1)) {
    changed.replace(r2, changed.find_first_of(",;\n", r2) - r2, "r2=-1000");
  }
  REQUIRE(changed != text);
  write_text_atomically(kept, changed);
  harvest(e, dir / "edited");
  CHECK(read_text_file(dir / "edited/configs.csv") != read_text_file(dir / "loose/configs.csv"));

  // Without its summary the archive's results are read, and the first status keeps a new one.
  fs::remove(kept);
  harvest(e, dir / "images");
  CHECK(read_text_file(dir / "images/configs.csv") == read_text_file(dir / "loose/configs.csv"));
  const ResultInventory inventory = finished_tasks(e.layout(), e.plan(), archive_dir);
  CHECK(std::count(inventory.done.begin(), inventory.done.end(), true) == 48);
  CHECK(inventory.archived == 48);
  CHECK(read_text_file(kept) == text);
}

TEST_CASE("the expected digests of all tasks at once are each task's own fingerprint digest", "[harvest]") {
  TempDir dir;
  const TestExperiment e(dir / "exp", kNestedSpec, 60);
  const std::vector<std::string> all = expected_digests(e.plan());
  REQUIRE(all.size() == e.plan().tasks.size());
  for (std::size_t t = 0; t < all.size(); ++t) CHECK(all[t] == expected_fingerprint(e.plan(), t).digest());
}

TEST_CASE("status and harvest count results by the device they trained on, loose and archived", "[harvest][pack]") {
  TempDir dir;
  const TestExperiment e(dir / "exp", kNestedSpec, 60);
  for (std::size_t t = 0; t < e.plan().tasks.size(); ++t) {
    FoldResult r = e.result(t);
    r.provenance.device = t % 2 ? "cuda:1" : "cpu";
    write_fold_result(e.layout().result(r.config_id, r.outer_fold, r.inner_fold), r);
  }
  const std::map<std::string, std::size_t> expected{{"cpu", 24}, {"cuda:1", 24}};
  const fs::path archive_dir = archive_directory(e.layout(), e.spec(), e.plan().experiment_id);
  CHECK(harvest(e, dir / "loose").report.devices == expected);
  CHECK(finished_tasks(e.layout(), e.plan(), archive_dir).devices == expected);
  pack(e, false);
  CHECK(harvest(e, dir / "archived").report.devices == expected);
  const ResultInventory archived = finished_tasks(e.layout(), e.plan(), archive_dir);
  CHECK(archived.archived == 48);
  CHECK(archived.devices == expected);
}

TEST_CASE("status and harvest count diagnostic rule firings per config and rule, loose and archived",
          "[harvest][pack][diagnostics]") {
  TempDir dir;
  const TestExperiment e(dir / "exp", kNestedSpec, 60);
  std::size_t stopped = 0, flagged = 0;
  for (std::size_t t = 0; t < e.plan().tasks.size(); ++t) {
    FoldResult r = e.result(t);
    if (r.config_index == 0) {  // overfitting twice in every task of config 0; stopping every third
      const RuleAction action = t % 3 == 0 ? RuleAction::stop : RuleAction::record;
      r.diagnostics.firings = {{DiagnosticRule::overfitting, 2, 2, 20, 5, RuleAction::record},
                               {DiagnosticRule::overfitting, 6, 6, 60, 5, action}};
      stopped += action == RuleAction::stop;
      ++flagged;
    }
    write_fold_result(e.layout().result(r.config_id, r.outer_fold, r.inner_fold), r);
  }
  REQUIRE(stopped > 0);
  const fs::path archive_dir = archive_directory(e.layout(), e.spec(), e.plan().experiment_id);
  const auto check_counts = [&](const fs::path& out) {
    const HarvestSummary h = harvest(e, out);
    REQUIRE(h.report.diagnostics.size() == 1);
    const auto& [key, tally] = *h.report.diagnostics.begin();
    CHECK(key == std::pair<std::size_t, std::string>{0, "overfitting"});
    CHECK(tally.firings == 2 * flagged);
    CHECK(tally.tasks_flagged == flagged);
    CHECK(tally.tasks_stopped == stopped);
    CHECK_THAT(read_text_file(out / "diagnostics.csv"),
               Catch::Contains(
                   fmt::format("0,{},overfitting,{},{},{}", e.plan().configs[0].id, 2 * flagged, flagged, stopped)));
    CHECK_THAT(render_text(h), Catch::Contains("diagnostics overfitting in 1 configs"));
    const ResultInventory inventory = finished_tasks(e.layout(), e.plan(), archive_dir);
    REQUIRE(inventory.firings.count("overfitting") == 1);
    CHECK(inventory.firings.at("overfitting").flagged == flagged);
    CHECK(inventory.firings.at("overfitting").stopped == stopped);
  };
  check_counts(dir / "loose");
  pack(e, false);
  check_counts(dir / "archived");
}
