#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "common/boundary_tally.hpp"
#include "common/text_file.hpp"
#include "common/metrics.hpp"
#include "orchestrator/report/base64.hpp"
#include "orchestrator/report/classification_curves.hpp"
#include "orchestrator/report/report_command.hpp"
#include "orchestrator/report/report_figures.hpp"
#include "orchestrator/report/report_page.hpp"
#include "tests/support/test_experiment.hpp"
#include "tests/temp_dir.hpp"

using namespace gridfold;
using gridfold::testing::TempDir;
using gridfold::testing::TestExperiment;
namespace fs = std::filesystem;

namespace {

// Two regression targets, repeated holdout (so samples are tested several times and carry an
// error bar), two grid axes, inner folds for the nested estimate.
const std::string kRegressionSpec = R"(name: report_regression
data: {path: d.csv, targets: [dG, dH]}
grid:
  model.filters: [[32], [64, 64]]
  training.lr: [0.01, 0.001]
resampling:
  outer: {repeated_holdout: {n: 4, test_fraction: 0.3}}
  inner: {kfold: {k: 2}}
)";

const std::string kBinarySpec = R"(name: report_binary
data: {path: d.csv, targets: [{name: bound, task: binary}]}
grid:
  training.lr: [0.01, 0.001, 0.0001]
resampling:
  outer: {kfold: {k: 3}}
  inner: {kfold: {k: 2}}
)";

const fs::path kGridfold = fs::path(GRIDFOLD_BINARY_DIR) / "bin" / "gridfold";

// Deterministic results as the worker writes them: the error shrinks with the config index
// and changes with fold and sample; a learning curve of a dozen epochs that differs by fold.
FoldResult synthetic_result(const TestExperiment& e, std::size_t task_number) {
  const ExperimentPlan& plan = e.plan();
  const Task& task = plan.tasks[task_number];
  FoldResult r = result_of_task(plan, task_number);
  const auto& test = r.sample_index;
  const auto& targets = e.spec().data.targets;
  for (const auto& t : targets) r.target_names.push_back(t.name);
  r.truth.resize(test.size() * targets.size());
  r.prediction.resize(test.size() * targets.size());
  const double quality = 1.0 / (1.0 + task.config);
  for (std::size_t j = 0; j < targets.size(); ++j) {
    std::vector<double> truth, prediction;
    for (const std::uint32_t s : test) {
      const double noise = std::sin(1.7 * s + 2.3 * task.outer_fold + 0.9 * task.inner_fold + 0.4 * j);
      if (targets[j].task == TaskType::binary) {
        const double y = std::sin(0.37 * s) > 0 ? 1.0 : 0.0;
        const double logit = (2 * y - 1) * (1.0 + 0.8 * (1 - quality)) + 1.6 * noise;
        truth.push_back(y);
        prediction.push_back(1 / (1 + std::exp(-logit)));
      } else {
        const double y = 3 * std::sin(0.3 * s + static_cast<double>(j)) - 10 * static_cast<double>(j);
        truth.push_back(y);
        prediction.push_back(y + (0.3 + 0.8 * quality) * noise);
      }
    }
    r.metrics[targets[j].name] =
        targets[j].task == TaskType::binary ? binary_metrics(truth, prediction) : regression_metrics(truth, prediction);
    for (std::size_t i = 0; i < test.size(); ++i) {
      r.truth[i * targets.size() + j] = static_cast<float>(truth[i]);
      r.prediction[i * targets.size() + j] = static_cast<float>(prediction[i]);
    }
  }
  const int epochs = 10 + task.outer_fold;  // folds stop at different epochs
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    const double wobble = 0.03 * std::sin(epoch + 1.3 * task.outer_fold);
    r.history_step.push_back(epoch * 10);
    r.history_epoch.push_back(epoch);
    r.train_loss.push_back(0.1 + 0.9 * std::exp(-0.35 * epoch) + wobble);
    r.validation_loss.push_back(0.2 + 0.8 * std::exp(-0.25 * epoch) + 0.01 * epoch + 2 * wobble);
  }
  r.best_index = epochs - 3;
  // Diagnostics as the worker records them: one layer group, gradient norms that shrink; in
  // config 1, overfitting fired and stopped every outer task.
  DiagnosticSeries& d = r.diagnostics.series;
  d.groups = {"head"};
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    const double norm = std::exp(-0.4 * epoch) * (1 + 0.1 * task.outer_fold);
    d.step.push_back(epoch * 10);
    d.gradient_norm.push_back(norm);
    d.weight_norm.push_back(5);
    d.update_ratio.push_back(1e-3);
    d.learning_rate.push_back(1e-3);
    d.dead_relu.push_back(std::nan(""));
    d.group_gradient_norm.push_back(static_cast<float>(norm));
    d.group_weight_norm.push_back(5);
    d.group_update_ratio.push_back(1e-3f);
  }
  if (task.config == 1 && task.inner_fold == -1) {
    r.diagnostics.firings.push_back(
        {DiagnosticRule::overfitting, epochs - 1, epochs, epochs * 10, 5, RuleAction::stop});
  }
  return r;
}

void write_results(const TestExperiment& e) {
  for (std::size_t t = 0; t < e.plan().tasks.size(); ++t) {
    const FoldResult r = synthetic_result(e, t);
    write_fold_result(e.layout().result(r.config_id, r.outer_fold, r.inner_fold), r);
  }
}

ReportSummary report(const TestExperiment& e, const fs::path& out = {}) {
  ReportOptions o;
  o.experiment = e.layout().root();
  o.out = out;
  return make_report(o);
}

struct PngSize {
  std::uint32_t width = 0, height = 0;
};

// Signature, then the IHDR chunk that must come first: its width and height.
PngSize png_size(const fs::path& file) {
  const std::string bytes = read_text_file(file);
  REQUIRE(bytes.size() > 24);
  REQUIRE(bytes.substr(0, 8) == std::string("\x89PNG\r\n\x1a\n", 8));
  REQUIRE(bytes.substr(12, 4) == "IHDR");
  const auto be32 = [&](std::size_t at) {
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(bytes[at + i]);
    return v;
  };
  return {be32(16), be32(20)};
}

void check_plots(const ReportSummary& s) {
  std::size_t pngs = 0;
  for (const fs::path& f : s.files) {
    INFO(f.string());
    CHECK(fs::is_regular_file(f));
    CHECK(fs::file_size(f) > 0);
    if (f.extension() == ".png") {
      ++pngs;
      const PngSize size = png_size(f);
      CHECK(size.width >= 400);
      CHECK(size.height >= 300);
      CHECK(fs::is_regular_file(fs::path(f).replace_extension(".svg")));
      CHECK(fs::is_regular_file(fs::path(f).replace_extension(".gp")));
    }
  }
  CHECK(pngs == s.figures);
}

// The targets of every link in `text`: what follows each `open` up to the next `close`.
// (std::regex recurses per character and overflows the stack on a data URI.)
std::vector<std::string> link_targets(const std::string& text, const std::string& open, const std::string& close) {
  std::vector<std::string> out;
  for (auto at = text.find(open); at != std::string::npos; at = text.find(open, at)) {
    at += open.size();
    const auto end = text.find(close, at);
    REQUIRE(end != std::string::npos);
    out.push_back(text.substr(at, end - at));
  }
  return out;
}

// Every link of the page is a data URI or a file relative to the page.
void check_links(const fs::path& page, const std::vector<std::string>& targets, std::size_t expected_images) {
  std::size_t images = 0;
  for (const std::string& target : targets) {
    if (target.rfind("data:image/png;base64,", 0) == 0) {
      ++images;
      continue;
    }
    INFO(page.string() << ": " << target);
    CHECK(fs::is_regular_file(page.parent_path() / target));
    if (fs::path(target).extension() == ".png") ++images;
  }
  CHECK(targets.size() > expected_images);
  CHECK(images == expected_images);
}

void check_page_links(const ReportSummary& s) {
  const std::string html = read_text_file(s.index_html);
  std::vector<std::string> html_links = link_targets(html, "href=\"", "\"");
  for (auto& src : link_targets(html, "src=\"", "\"")) html_links.push_back(std::move(src));
  check_links(s.index_html, html_links, s.figures);
  check_links(s.summary_md, link_targets(read_text_file(s.summary_md), "](<", ">)"), s.figures);
}

std::set<std::string> stems(const ReportSummary& s) {
  std::set<std::string> out;
  for (const fs::path& f : s.files) {
    if (f.extension() == ".png") out.insert(f.stem().string());
  }
  return out;
}

}  // namespace

TEST_CASE("a regression report plots predictions, learning curves and each grid parameter", "[report]") {
  TempDir dir;
  const TestExperiment e(dir / "exp", kRegressionSpec, 60);
  write_results(e);
  const ReportSummary s = report(e);

  CHECK(s.out_dir == e.layout().root() / "report");
  CHECK(s.index_html == s.out_dir / "index.html");
  const auto names = stems(s);
  for (const char* expected :
       {"predicted-vs-actual-dG", "predicted-vs-actual-dH", "by-parameter-dG-model.filters",
        "by-parameter-dG-training.lr", "by-parameter-dH-model.filters", "by-parameter-dH-training.lr"}) {
    INFO(expected);
    CHECK(names.count(expected) == 1);
  }
  CHECK(std::count_if(names.begin(), names.end(),
                      [](const std::string& n) { return n.rfind("learning-curves-", 0) == 0; }) >= 1);
  CHECK(std::count_if(names.begin(), names.end(),
                      [](const std::string& n) { return n.rfind("gradient-norms-", 0) == 0; }) >= 1);
  check_plots(s);
  check_page_links(s);

  const std::string md = read_text_file(s.summary_md);
  CHECK(md.find("report\\_regression") != std::string::npos);
  CHECK(md.find("Nested estimate") != std::string::npos);
  CHECK(md.find("Best config: ") != std::string::npos);
  CHECK(md.find("- tasks: 48") != std::string::npos);  // 4 configs x 4 outer x (1 + 2 inner)
  const std::string html = read_text_file(s.index_html);
  CHECK(html.find("[64, 64]") != std::string::npos);
  CHECK(fs::is_regular_file(s.out_dir / "harvest" / "configs.csv"));
  // Config 1's overfitting stops, in its 4 outer tasks: in the page, diagnostics.csv and the harvest summary.
  CHECK_THAT(md, Catch::Contains("| config | rule | firings | tasks flagged | tasks stopped |") &&
                     Catch::Contains(" | overfitting | 4 | 4 | 4 |"));
  CHECK_THAT(html, Catch::Contains("<td>overfitting</td><td>4</td><td>4</td><td>4</td>"));
  CHECK(read_text_file(s.out_dir / "harvest" / "diagnostics.csv") ==
        "config_index,config_id,rule,firings,tasks_flagged,tasks_stopped\n1," + e.plan().configs[1].id +
            ",overfitting,4,4,4\n");
}

TEST_CASE("a binary classification report draws ROC, precision-recall and confusion matrix", "[report]") {
  TempDir dir;
  const TestExperiment e(dir / "exp", kBinarySpec, 90);
  write_results(e);
  const ReportSummary s = report(e, dir / "elsewhere");

  CHECK(s.out_dir == dir / "elsewhere");
  const auto names = stems(s);
  for (const char* expected :
       {"roc-bound", "precision-recall-bound", "confusion-bound", "by-parameter-bound-training.lr"}) {
    INFO(expected);
    CHECK(names.count(expected) == 1);
  }
  check_plots(s);
  check_page_links(s);
  CHECK(read_text_file(s.summary_md).find("ranked by auroc") != std::string::npos);
}

namespace {

const std::string kBoundarySpec = R"(name: report_boundaries
data: {path: d.csv, targets: [{name: labels, task: per_position, classes: [other, start, end], tolerance: 2}]}
grid:
  training.lr: [0.01, 0.001]
resampling:
  outer: {kfold: {k: 3}}
)";

// Windows of 40 positions with one exon start and one end each; config 0 predicts both
// within the tolerance, config 1 predicts the start 3 positions late (a miss) and the end exactly.
FoldResult boundary_result(const TestExperiment& e, std::size_t task_number) {
  const Task& task = e.plan().tasks[task_number];
  FoldResult r = result_of_task(e.plan(), task_number);
  r.target_names = {"labels"};
  const float nan = std::nanf("");
  r.truth.assign(r.sample_index.size(), nan);
  r.prediction.assign(r.sample_index.size(), nan);
  PositionLabels labels;
  labels.target = "labels";
  labels.classes = {"other", "start", "end"};
  labels.tolerance = 2;
  labels.width = 40;
  for (const std::uint32_t s : r.sample_index) {
    const std::size_t start = (s * 7) % 30 + 2, end = start + 5;
    std::vector<std::uint8_t> truth(40, 0), predicted(40, 0);
    truth[start] = 1;
    truth[end] = 2;
    predicted[start + (task.config == 0 ? 1 : 3)] = 1;
    predicted[end] = 2;
    labels.lengths.push_back(40);
    labels.truth.insert(labels.truth.end(), truth.begin(), truth.end());
    labels.prediction.insert(labels.prediction.end(), predicted.begin(), predicted.end());
  }
  r.metrics["labels"] = boundary_metrics(labels);
  r.positions = {labels};
  return r;
}

}  // namespace

TEST_CASE("a per-position report draws F1 along the window and gives the boundary F1 with its tolerance", "[report]") {
  TempDir dir;
  const TestExperiment e(dir / "exp", kBoundarySpec, 12);
  for (std::size_t t = 0; t < e.plan().tasks.size(); ++t) {
    const FoldResult r = boundary_result(e, t);
    write_fold_result(e.layout().result(r.config_id, r.outer_fold, r.inner_fold), r);
  }
  const ReportSummary s = report(e);
  CHECK(stems(s).count("f1-along-window-labels") == 1);
  check_plots(s);
  check_page_links(s);
  CHECK_THAT(read_text_file(s.summary_md), Catch::Contains("Boundaries within 2 positions, best config: f1 1 ± 0"));

  // The best config (0) finds every boundary: F1 1 in every bin that has one. Windows of 40
  // positions make 40 bins (of one position each, as 40 < 50), per boundary class.
  const std::string positions = read_text_file(s.out_dir / "harvest" / "positions.csv");
  std::istringstream lines(positions);
  std::string line;
  std::getline(lines, line);
  CHECK(line ==
        "selection,target,config_index,config_id,class,class_name,tolerance,start,end,positions,truth,"
        "predicted,matched_truth,matched_predicted,precision,recall,f1,density");
  std::size_t rows = 0, true_starts = 0, scored = 0;
  while (std::getline(lines, line)) {
    ++rows;
    std::vector<std::string> f;
    std::istringstream fields(line);
    for (std::string field; std::getline(fields, field, ',');) f.push_back(field);
    f.resize(18);
    INFO(line);
    CHECK(f[0] == "best");
    CHECK(f[2] == "0");
    CHECK(f[6] == "2");
    CHECK(f[9] == "12");  // every window has a label at every position
    if (f[5] == "start") true_starts += std::stoul(f[10]);
    if (!f[16].empty()) {
      ++scored;
      CHECK(f[16] == "1");
    }
  }
  CHECK(rows == 2 * 40);
  CHECK(true_starts == 12);
  CHECK(scored > 2);
  // No per-sample rows for the per-position target: they would hold one row per window
  // without a number in it.
  CHECK(read_text_file(s.out_dir / "harvest" / "predictions.csv").find("labels") == std::string::npos);
}

TEST_CASE("report on the command line prints the page's path, or its files as JSON", "[report]") {
  TempDir dir;
  const TestExperiment e(dir / "exp", kBinarySpec, 60);
  write_results(e);
  const fs::path out = dir / "out.txt";
  const auto run = [&](const std::string& args) {
    const std::string command =
        fmt::format("{} report {} {} > {} 2>&1", kGridfold.string(), e.layout().root().string(), args, out.string());
    return std::system(command.c_str());
  };
  REQUIRE(run("") == 0);
  const std::string text = read_text_file(out);
  const std::string last_line = (e.layout().root() / "report" / "index.html").string() + "\n";
  CHECK(text.size() >= last_line.size());
  CHECK(text.substr(text.size() - last_line.size()) == last_line);

  REQUIRE(run("--json --out " + (dir / "r2").string()) == 0);
  const nlohmann::json j = nlohmann::json::parse(read_text_file(out));
  CHECK(j["index_html"] == (dir / "r2" / "index.html").string());
  for (const auto& f : j["files"]) CHECK(fs::is_regular_file(f.get<std::string>()));

  const TestExperiment empty(dir / "empty", kBinarySpec, 60);
  CHECK(WEXITSTATUS(std::system(
            fmt::format("{} report {} > {} 2>&1", kGridfold.string(), empty.layout().root().string(), out.string())
                .c_str())) == 3);
}

TEST_CASE("ROC and precision-recall curves agree with the metrics and count ties one half", "[report]") {
  const std::vector<double> truth{0, 0, 1, 1, 0, 1, 1, 0, std::nan("")};
  const std::vector<double> score{0.1, 0.4, 0.35, 0.8, 0.5, 0.5, 0.9, 0.2, 0.7};
  const auto roc = roc_curve(truth, score);
  REQUIRE(roc.size() >= 2);
  CHECK(roc.front().x == 0);
  CHECK(roc.front().y == 0);
  CHECK(roc.back().x == 1);
  CHECK(roc.back().y == 1);
  CHECK(area_under(roc) == Approx(binary_metrics(truth, score).at("auroc")));

  const std::vector<double> tied{0.5, 0.5, 0.5, 0.5};
  const std::vector<double> two_classes{0, 1, 0, 1};
  CHECK(area_under(roc_curve(two_classes, tied)) == Approx(0.5));
  CHECK(roc_curve(std::vector<double>{1, 1}, std::vector<double>{0.2, 0.9}).empty());

  const auto pr = precision_recall_curve(truth, score);
  REQUIRE(!pr.empty());
  CHECK(pr.front().y == 1);  // the highest score, 0.9, is a positive
  CHECK(pr.back().x == 1);
  CHECK(pr.back().y == Approx(4.0 / 6));  // full recall is first reached at score 0.35
}

TEST_CASE("confusion matrices count true by predicted class and skip unknown values", "[report]") {
  const std::vector<double> truth{0, 1, 2, 2, 1, std::nan("")};
  const std::vector<double> predicted{0, 2, 2, 2, 1, 0};
  const auto m = confusion_matrix(truth, predicted, 3);
  CHECK(m[0] == std::vector<std::size_t>{1, 0, 0});
  CHECK(m[1] == std::vector<std::size_t>{0, 1, 1});
  CHECK(m[2] == std::vector<std::size_t>{0, 0, 2});
}

TEST_CASE("page text is escaped and images are base64", "[report]") {
  CHECK(html_escape("<a href=\"x\">&'") == "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
  CHECK(base64_encode("") == "");
  CHECK(base64_encode("f") == "Zg==");
  CHECK(base64_encode("fo") == "Zm8=");
  CHECK(base64_encode("foo") == "Zm9v");
  CHECK(base64_encode("foobar") == "Zm9vYmFy");
}

TEST_CASE("the error-vs-similarity figure plots each sample's error and the mean per tenth of similarity",
          "[report][similarity]") {
  std::vector<PredictionTable::Row> rows(4);
  const double similarity[] = {0.05, 0.08, 0.95, 0.5};
  const double truth[] = {1, 0, 1, 1}, mean[] = {0.25, 0.5, 0.875, 0.5};
  for (std::size_t i = 0; i < rows.size(); ++i) {
    rows[i].train_similarity = similarity[i];
    rows[i].truth = truth[i];
    rows[i].mean = mean[i];
  }
  rows[3].train_similarity = std::nan("");  // no similarity: left out
  const GnuplotFigure f = error_vs_similarity_figure("e", "y", TaskType::binary, "best config 0", rows);
  REQUIRE(f.data.size() == 2);
  CHECK(f.data[0].second == "# train_similarity error\n0.05 0.75\n0.08 0.5\n0.95 0.125\n");
  CHECK(f.data[1].second == "# band_middle mean_error samples\n0.05 0.625 2\n0.95 0.125 1\n");
  CHECK_THAT(f.commands, Catch::Contains("3 test samples") && Catch::Contains("|probability - truth|"));

  rows[0].mean = 1.2;  // multiclass: the rounded mean class hits the truth
  rows[1].mean = 2;
  const GnuplotFigure m = error_vs_similarity_figure("m", "y", TaskType::multiclass, "best config 0", rows);
  CHECK(m.data[0].second == "# train_similarity error\n0.05 0\n0.08 1\n0.95 0\n");
}
