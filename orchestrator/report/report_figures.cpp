#include "orchestrator/report/report_figures.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <iterator>
#include <limits>
#include <map>

#include "common/boundary_tally.hpp"
#include "common/metrics.hpp"

namespace gridfold {
namespace {

constexpr const char* kBlue = "#1f77b4";
constexpr const char* kOrange = "#d95f02";
constexpr const char* kGrey = "#7f7f7f";

std::string q(std::string_view text) {
  return gnuplot_string(text);
}

// A title of two lines: gnuplot joins the literals with a real newline.
std::string two_line_title(const std::string& first, const std::string& second) {
  return fmt::format("set title {}.\"\\n\".{}\n", q(first), q(second));
}

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Lines and points on a light grid, the key in a box: shared by every figure.
const std::string kStyle =
    "set grid lc rgb '#dddddd'\n"
    "set key box opaque\n"
    "set border lw 1.2\n";

}  // namespace

GnuplotFigure predicted_vs_actual_figure(const std::string& name, const std::string& target,
                                         const std::string& config_label, std::span<const PredictionTable::Row> rows) {
  std::string data = "# truth mean_prediction std_prediction predictions\n";
  std::vector<double> truth, mean;
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  bool spread = false;
  for (const auto& r : rows) {
    if (std::isnan(r.truth) || std::isnan(r.mean)) continue;
    const double sd = std::isnan(r.sd) ? 0.0 : r.sd;
    spread = spread || sd > 0;
    data += fmt::format("{} {} {} {}\n", r.truth, r.mean, sd, r.count);
    truth.push_back(r.truth);
    mean.push_back(r.mean);
    lo = std::min({lo, r.truth, r.mean - sd});
    hi = std::max({hi, r.truth, r.mean + sd});
  }
  if (truth.empty()) lo = 0, hi = 1;
  const double pad = std::max(0.05 * (hi - lo), 1e-9);
  const MetricValues m = regression_metrics(truth, mean);
  GnuplotFigure f;
  f.name = name;
  f.caption = fmt::format("{}: predicted vs actual, {}", target, config_label);
  f.data = {{name + ".dat", data}};
  f.commands = kStyle +
               two_line_title(fmt::format("{}: predicted vs actual, {}", target, config_label),
                              fmt::format("R² = {:.3f}   RMSE = {:.3g}   n = {} samples", m.at("r2"), m.at("rmse"),
                                          truth.size())) +
               fmt::format("set xlabel {}\nset ylabel {}\n", q("actual " + target),
                           q(spread ? "predicted " + target + " (mean ± std over resamples)"
                                    : "predicted " + target + " (one test prediction per sample)")) +
               fmt::format("set xrange [{0}:{1}]\nset yrange [{0}:{1}]\nset size ratio -1\nset key top left\n",
                           lo - pad, hi + pad) +
               fmt::format(
                   "plot {} using 1:2:3 with yerrorbars pt 7 ps 0.7 lc rgb '{}' title 'samples', "
                   "x with lines dt 2 lw 1.5 lc rgb '#333333' title 'identity'\n",
                   q(name + ".dat"), kBlue);
  return f;
}

GnuplotFigure error_vs_similarity_figure(const std::string& name, const std::string& target, TaskType task,
                                         const std::string& config_label, std::span<const PredictionTable::Row> rows) {
  constexpr int kBands = 10;
  std::array<double, kBands> error_sum{};
  std::array<std::size_t, kBands> in_band{};
  std::string points = "# train_similarity error\n";
  std::size_t n = 0;
  for (const auto& r : rows) {
    if (std::isnan(r.train_similarity) || std::isnan(r.truth) || std::isnan(r.mean)) continue;
    const double error = task == TaskType::multiclass ? (std::lround(r.mean) == std::lround(r.truth) ? 0.0 : 1.0)
                                                      : std::abs(r.mean - r.truth);
    points += fmt::format("{} {}\n", r.train_similarity, error);
    const auto band = std::min(kBands - 1, static_cast<int>(r.train_similarity * kBands));
    error_sum[band] += error;
    ++in_band[band];
    ++n;
  }
  std::string means = "# band_middle mean_error samples\n";
  for (int b = 0; b < kBands; ++b) {
    if (in_band[b]) means += fmt::format("{} {} {}\n", (b + 0.5) / kBands, error_sum[b] / in_band[b], in_band[b]);
  }
  const std::string what = task == TaskType::multiclass ? "misclassified (0/1)"
                           : task == TaskType::binary   ? "|probability - truth|"
                                                        : "|prediction - truth|";
  GnuplotFigure f;
  f.name = name;
  f.caption =
      fmt::format("{}: test error against the highest similarity to the training part, {}", target, config_label);
  f.data = {{name + ".dat", points}, {name + "-bands.dat", means}};
  f.commands = kStyle +
               two_line_title(fmt::format("{}: error vs similarity to the training part, {}", target, config_label),
                              fmt::format("{} test samples; line: mean error per 0.1 of similarity", n)) +
               fmt::format("set xlabel {}\nset ylabel {}\nset xrange [0:1]\nset key top right\n",
                           q("highest k-mer similarity to a training sample"), q(target + ": " + what)) +
               fmt::format(
                   "plot {} using 1:2 with points pt 7 ps 0.5 lc rgb '{}' title 'samples', "
                   "{} using 1:2 with linespoints lw 2 pt 5 lc rgb '{}' title 'mean error'\n",
                   q(name + ".dat"), kBlue, q(name + "-bands.dat"), kOrange);
  return f;
}

GnuplotFigure learning_curve_figure(const std::string& name, const std::string& config_label,
                                    std::span<const FoldResult> results) {
  std::size_t evaluations = 0;
  for (const auto& r : results) evaluations = std::max(evaluations, r.train_loss.size());
  std::string data =
      "# evaluation epoch train_median train_min train_max validation_median validation_min "
      "validation_max folds\n";
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  bool has_validation = false;
  for (std::size_t e = 0; e < evaluations; ++e) {
    std::vector<double> epoch, train, validation;
    for (const auto& r : results) {
      if (e >= r.train_loss.size()) continue;
      if (e < r.history_epoch.size()) epoch.push_back(r.history_epoch[e]);
      if (!std::isnan(r.train_loss[e])) train.push_back(r.train_loss[e]);
      if (e < r.validation_loss.size() && !std::isnan(r.validation_loss[e])) validation.push_back(r.validation_loss[e]);
    }
    const auto stats = [&](const std::vector<double>& v) {
      if (v.empty()) return std::string("NaN NaN NaN");
      const auto [mn, mx] = std::minmax_element(v.begin(), v.end());
      lo = std::min(lo, *mn);
      hi = std::max(hi, *mx);
      return fmt::format("{} {} {}", median_of(v), *mn, *mx);
    };
    has_validation = has_validation || !validation.empty();
    data += fmt::format("{} {} {} {} {}\n", e, epoch.empty() ? static_cast<double>(e + 1) : median_of(epoch),
                        stats(train), stats(validation), train.size());
  }
  // Losses that fall by orders of magnitude are readable only on a log scale.
  const bool log_scale = lo > 0 && hi / lo > 20;
  const std::string file = q(name + ".dat");
  std::string plot = fmt::format(
      "plot {0} using 2:4:5 with filledcurves fs transparent solid 0.2 noborder lc rgb '{1}' "
      "title 'train, min–max over folds', "
      "{0} using 2:3 with linespoints lw 2 pt 7 ps 0.6 lc rgb '{1}' title 'train, median'",
      file, kBlue);
  if (has_validation) {
    plot += fmt::format(
        ", {0} using 2:7:8 with filledcurves fs transparent solid 0.2 noborder lc rgb '{1}' "
        "title 'validation, min–max over folds', "
        "{0} using 2:6 with linespoints lw 2 pt 5 ps 0.6 lc rgb '{1}' title 'validation, median'",
        file, kOrange);
  }
  GnuplotFigure f;
  f.name = name;
  f.caption = fmt::format("Learning curves of {} over {} outer folds", config_label, results.size());
  f.data = {{name + ".dat", data}};
  f.commands = kStyle +
               two_line_title("learning curves, " + config_label,
                              fmt::format("median and min–max over {} outer folds{}", results.size(),
                                          has_validation ? "" : " (no validation split)")) +
               "set xlabel 'epoch'\nset ylabel 'loss'\nset key top right\n" + (log_scale ? "set logscale y\n" : "") +
               plot + "\n";
  return f;
}

GnuplotFigure gradient_norm_figure(const std::string& name, const std::string& config_label,
                                   std::span<const FoldResult> results) {
  std::size_t validations = 0, folds = 0;
  for (const auto& r : results) {
    validations = std::max(validations, r.diagnostics.series.size());
    folds += r.diagnostics.series.size() > 0;
  }
  std::string data = "# validation epoch median min max folds\n";
  for (std::size_t v = 0; v < validations; ++v) {
    std::vector<double> epoch, norm;
    for (const auto& r : results) {
      const DiagnosticSeries& s = r.diagnostics.series;
      if (v >= s.size()) continue;
      if (v < r.history_epoch.size()) epoch.push_back(r.history_epoch[v]);
      // Zero and non-finite norms have no place on a log scale (non_finite fires on the latter).
      if (std::isfinite(s.gradient_norm[v]) && s.gradient_norm[v] > 0) norm.push_back(s.gradient_norm[v]);
    }
    const double x = epoch.empty() ? static_cast<double>(v + 1) : median_of(epoch);
    if (norm.empty()) {
      data += fmt::format("{} {} NaN NaN NaN 0\n", v, x);
      continue;
    }
    const auto [mn, mx] = std::minmax_element(norm.begin(), norm.end());
    data += fmt::format("{} {} {} {} {} {}\n", v, x, median_of(norm), *mn, *mx, norm.size());
  }
  const std::string file = q(name + ".dat");
  GnuplotFigure f;
  f.name = name;
  f.caption = fmt::format("Global gradient norm at each validation of {} over {} outer folds", config_label, folds);
  f.data = {{name + ".dat", data}};
  f.commands =
      kStyle +
      two_line_title("gradient norm, " + config_label,
                     fmt::format("median and min–max over {} outer folds, step before each validation", folds)) +
      "set xlabel 'epoch'\nset ylabel 'global gradient norm'\nset key top right\nset logscale y\n" +
      fmt::format(
          "plot {0} using 2:4:5 with filledcurves fs transparent solid 0.2 noborder lc rgb '{1}' "
          "title 'min–max over folds', "
          "{0} using 2:3 with linespoints lw 2 pt 7 ps 0.6 lc rgb '{1}' title 'median'\n",
          file, kBlue);
  return f;
}

GnuplotFigure hyperparameter_figure(const std::string& name, const HarvestTarget& target,
                                    std::span<const Config> configs, const std::string& param_path) {
  const std::string& metric = target.ranking.metric;
  std::vector<std::string> values;  // in the order of the grid's axis
  std::vector<std::vector<double>> means;
  for (const auto& config : configs) {
    const auto param = config.params.find(param_path);
    if (param != config.params.end() && std::find(values.begin(), values.end(), param->second.yaml) == values.end()) {
      values.push_back(param->second.yaml);
    }
  }
  means.resize(values.size());
  std::vector<std::vector<std::uint32_t>> members(values.size());
  for (const auto& row : target.ranking.rows) {
    const auto stats = row.metrics.find(metric);
    const auto param = configs[row.config].params.find(param_path);
    if (stats == row.metrics.end() || std::isnan(stats->second.mean) || param == configs[row.config].params.end()) {
      continue;
    }
    const auto v =
        static_cast<std::size_t>(std::find(values.begin(), values.end(), param->second.yaml) - values.begin());
    means[v].push_back(stats->second.mean);
    members[v].push_back(row.config);
  }
  // Configs of a value spread over [v - 0.35, v - 0.05] so that equal means stay apart; the
  // summary bar stands at v + 0.1, clear of them.
  std::string points = "# x config_mean config_index\n";
  std::string ranges = "# x mean_of_config_means std_of_config_means configs\n";
  for (std::size_t v = 0; v < values.size(); ++v) {
    const std::size_t n = means[v].size();
    for (std::size_t i = 0; i < n; ++i) {
      points += fmt::format("{} {} {}\n", static_cast<double>(v) - 0.35 + 0.3 * (static_cast<double>(i) + 0.5) / n,
                            means[v][i], members[v][i]);
    }
    if (n == 0) continue;
    const Stats s = summarize(means[v]);
    ranges +=
        fmt::format("{} {} {} {}\n", static_cast<double>(v) + 0.1, s.mean, std::isnan(s.sd) ? 0.0 : s.sd, s.count);
  }
  std::vector<std::string> tics;
  for (std::size_t v = 0; v < values.size(); ++v) tics.push_back(fmt::format("{} {}", q(values[v]), v));
  GnuplotFigure f;
  f.name = name;
  f.caption = fmt::format("{}: {} by {}", target.name, metric, param_path);
  f.data = {{name + "-configs.dat", points}, {name + ".dat", ranges}};
  f.commands = kStyle +
               two_line_title(fmt::format("{}: {} by {}", target.name, metric, param_path),
                              fmt::format("{} is better; points: configs, bars: mean ± std of their means",
                                          target.ranking.larger_is_better ? "larger" : "smaller")) +
               fmt::format("set xlabel {}\nset ylabel {}\n", q(param_path), q(metric + " (mean over outer folds)")) +
               fmt::format("set xtics ({})\nset xrange [-0.5:{}]\nset offsets 0, 0, graph 0.05, graph 0.05\n",
                           fmt::join(tics, ", "), static_cast<double>(values.size()) - 0.5) +
               "set bmargin 7\nset key at screen 0.5, screen 0.04 center bottom horizontal\n" +
               fmt::format(
                   "plot {} using 1:2 with points pt 6 ps 1.6 lw 1.5 lc rgb '{}' title 'config mean', "
                   "{} using 1:2:3 with yerrorbars pt 9 ps 2.2 lw 2.5 lc rgb '{}' title 'mean ± std over configs'\n",
                   q(name + "-configs.dat"), kGrey, q(name + ".dat"), kOrange);
  return f;
}

GnuplotFigure difference_to_best_figure(const std::string& name, const HarvestTarget& target, std::size_t top) {
  const std::string& metric = target.ranking.metric;
  // Three groups, each drawn only when it has a config (gnuplot refuses a plot of no points).
  struct Group {
    const char* suffix;
    const char* title;
    int point;
    const char* colour;
    std::string rows;
  };
  std::vector<Group> groups{{"tied", "indistinguishable from the best", 7, kOrange, {}},
                            {"apart", "worse", 5, kGrey, {}},
                            {"eliminated", "eliminated by the race", 6, kBlue, {}}};
  std::size_t shown = 0;
  for (const auto& row : target.ranking.rows) {
    if (shown == top) break;
    if (std::isnan(row.to_best.mean)) continue;
    ++shown;
    const double low = std::isnan(row.to_best.low) ? row.to_best.mean : row.to_best.low;
    const double high = std::isnan(row.to_best.high) ? row.to_best.mean : row.to_best.high;
    Group& into = row.eliminated ? groups[2] : row.indistinguishable ? groups[0] : groups[1];
    into.rows += fmt::format("{} {} {} {} {}\n", row.rank, row.to_best.mean, low, high, row.config);
  }
  GnuplotFigure f;
  f.name = name;
  f.caption = fmt::format("{}: {} difference to the best config, paired over shared outer folds", target.name, metric);
  std::vector<std::string> plots;
  for (const Group& g : groups) {
    if (g.rows.empty()) continue;
    const std::string file = fmt::format("{}-{}.dat", name, g.suffix);
    f.data.push_back({file, "# rank difference low high config_index\n" + g.rows});
    plots.push_back(fmt::format("{} using 1:2:3:4 with yerrorbars pt {} ps 1.2 lw 1.5 lc rgb '{}' title '{}'", q(file),
                                g.point, g.colour, g.title));
  }
  f.commands = kStyle +
               two_line_title(fmt::format("{}: best minus config, {}", target.name, metric),
                              "95% corrected resampled t intervals (Nadeau-Bengio); above 0: the best is better") +
               fmt::format("set xlabel 'rank'\nset ylabel {}\n", q("difference in " + metric)) +
               fmt::format("set xrange [0:{}]\nset offsets 0, 0, graph 0.05, graph 0.05\n", shown + 1) +
               "set bmargin 7\nset key at screen 0.5, screen 0.04 center bottom horizontal\n" +
               "set arrow from graph 0, first 0 to graph 1, first 0 nohead dt 2 lc rgb '#888888'\n" +
               fmt::format("plot {}\n", fmt::join(plots, ", "));
  return f;
}

GnuplotFigure roc_figure(const std::string& name, const std::string& target, const std::string& config_label,
                         std::span<const CurvePoint> curve) {
  std::string data = "# false_positive_rate true_positive_rate\n";
  for (const auto& p : curve) data += fmt::format("{} {}\n", p.x, p.y);
  GnuplotFigure f;
  f.name = name;
  f.caption = fmt::format("{}: ROC curve, {}", target, config_label);
  f.data = {{name + ".dat", data}};
  f.commands =
      kStyle +
      two_line_title(fmt::format("{}: ROC curve, {}", target, config_label),
                     fmt::format("AUROC = {:.3f} (test predictions pooled over outer folds)", area_under(curve))) +
      "set xlabel 'false positive rate'\nset ylabel 'true positive rate'\n"
      "set xrange [0:1]\nset yrange [0:1]\nset size ratio -1\nset key bottom right\n" +
      fmt::format(
          "plot {} using 1:2 with lines lw 2.5 lc rgb '{}' title 'ROC', "
          "x with lines dt 2 lc rgb '#333333' title 'chance'\n",
          q(name + ".dat"), kBlue);
  return f;
}

GnuplotFigure precision_recall_figure(const std::string& name, const std::string& target,
                                      const std::string& config_label, std::span<const CurvePoint> curve,
                                      double prevalence) {
  std::string data = "# recall precision\n";
  double average_precision = 0, previous_recall = 0;
  for (const auto& p : curve) {
    data += fmt::format("{} {}\n", p.x, p.y);
    average_precision += (p.x - previous_recall) * p.y;
    previous_recall = p.x;
  }
  GnuplotFigure f;
  f.name = name;
  f.caption = fmt::format("{}: precision-recall curve, {}", target, config_label);
  f.data = {{name + ".dat", data}};
  f.commands = kStyle +
               two_line_title(fmt::format("{}: precision-recall curve, {}", target, config_label),
                              fmt::format("average precision = {:.3f}, positives = {:.1f} %", average_precision,
                                          100 * prevalence)) +
               "set xlabel 'recall'\nset ylabel 'precision'\n"
               "set xrange [0:1]\nset yrange [0:1.02]\nset size ratio -1\nset key bottom left\n" +
               fmt::format(
                   "plot {} using 1:2 with steps lw 2.5 lc rgb '{}' title 'precision-recall', "
                   "{} with lines dt 2 lc rgb '#333333' title 'chance (fraction of positives)'\n",
                   q(name + ".dat"), kBlue, prevalence);
  return f;
}

GnuplotFigure confusion_figure(const std::string& name, const std::string& target, const std::string& config_label,
                               const std::vector<std::vector<std::size_t>>& counts,
                               const std::vector<std::string>& class_names) {
  const std::size_t k = counts.size();
  std::string cells = "# predicted_class true_class fraction_of_true_class count\n";
  std::size_t total = 0, correct = 0;
  for (std::size_t t = 0; t < k; ++t) {
    std::size_t row = 0;
    for (const std::size_t c : counts[t]) row += c;
    total += row;
    correct += counts[t][t];
    for (std::size_t p = 0; p < k; ++p) {
      cells += fmt::format("{} {} {} {}\n", p, t, row ? static_cast<double>(counts[t][p]) / row : 0.0, counts[t][p]);
    }
    cells += "\n";  // gnuplot reads a blank line as the end of a scan, which `with image` needs
  }
  std::vector<std::string> tics;
  for (std::size_t c = 0; c < k; ++c) tics.push_back(fmt::format("{} {}", q(class_names[c]), c));
  GnuplotFigure f;
  f.name = name;
  f.caption = fmt::format("{}: confusion matrix, {}", target, config_label);
  f.data = {{name + ".dat", cells}};
  f.commands =
      two_line_title(fmt::format("{}: confusion matrix, {}", target, config_label),
                     fmt::format("accuracy = {:.3f} over {} pooled test predictions",
                                 total ? static_cast<double>(correct) / total : 0.0, total)) +
      "set xlabel 'predicted class'\nset ylabel 'true class'\nset cblabel 'fraction of the true class'\n" +
      fmt::format("set xtics ({0})\nset ytics ({0})\n", fmt::join(tics, ", ")) +
      fmt::format("set xrange [-0.5:{0}]\nset yrange [{0}:-0.5]\nset cbrange [0:1]\nset size ratio -1\n",
                  static_cast<double>(k) - 0.5) +
      "set palette defined (0 '#ffffff', 1 '#4a90c8')\nunset key\nset tics scale 0\n" +
      fmt::format("plot {0} using 1:2:3 with image, {0} using 1:2:(sprintf('%d', $4)) with labels font ',18'\n",
                  q(name + ".dat"));
  return f;
}

GnuplotFigure position_f1_figure(const std::string& name, const std::string& target, const std::string& config_label,
                                 std::span<const PositionProfiles::Row> rows) {
  constexpr const char* kColours[] = {kBlue, kOrange, "#1b9e77", "#7570b3", "#e7298a", "#66a61e"};
  std::map<std::size_t, std::vector<const PositionProfiles::Row*>> by_class;
  for (const auto& row : rows) by_class[row.class_index].push_back(&row);
  GnuplotFigure f;
  f.name = name;
  f.caption = fmt::format("{}: F1 along the window, {}", target, config_label);
  std::vector<std::string> plots, totals;
  std::int64_t tolerance = 0;
  std::size_t end = 0;
  for (const auto& [class_index, class_rows] : by_class) {
    const std::string file = fmt::format("{}-class{}.dat", name, class_index);
    std::string data = "# bin_start bin_end bin_centre f1 precision recall density_per_1000 true predicted\n";
    BoundaryCounts total;
    for (const auto* row : class_rows) {
      const MetricValues s = boundary_scores(row->counts);
      const auto field = [](double v) { return std::isnan(v) ? std::string("NaN") : fmt::format("{}", v); };
      data += fmt::format("{} {} {} {} {} {} {} {} {}\n", row->start, row->end,
                          0.5 * static_cast<double>(row->start + row->end), field(s.at("f1")), field(s.at("precision")),
                          field(s.at("recall")), field(s.at("density")), row->counts.truth, row->counts.predicted);
      total += row->counts;
      tolerance = row->tolerance;
      end = std::max(end, row->end);
    }
    f.data.emplace_back(file, data);
    const std::string& class_name = class_rows.front()->class_name;
    const std::string colour = kColours[(class_index - 1) % std::size(kColours)];
    totals.push_back(fmt::format("{} {:.3f}", class_name, boundary_scores(total).at("f1")));
    plots.push_back(fmt::format("{} using 3:4 axes x1y1 with linespoints lw 2 pt 7 ps 0.6 lc rgb '{}' title {}",
                                q(file), colour, q("F1 " + class_name)));
    plots.push_back(fmt::format("{} using 3:7 axes x1y2 with lines dt 2 lw 1.2 lc rgb '{}' title {}", q(file), colour,
                                q("true " + class_name + " per 1000 positions")));
  }
  f.commands = kStyle +
               two_line_title(fmt::format("{}: F1 along the window (tolerance {} positions), {}", target, tolerance,
                                          config_label),
                              fmt::format("pooled over the outer folds: F1 {}", fmt::join(totals, ", "))) +
               fmt::format(
                   "set xlabel 'position in the sequence'\nset ylabel 'F1 in the bin'\n"
                   "set y2label 'true boundaries per 1000 positions'\nset ytics nomirror\nset y2tics\n"
                   "set xrange [0:{}]\nset yrange [0:1.05]\nset y2range [0:*]\nset key top right\n"
                   "set datafile missing 'NaN'\n",
                   std::max<std::size_t>(end, 1)) +
               (plots.empty() ? std::string("plot 0 title 'no boundary classes'\n")
                              : "plot " + fmt::format("{}", fmt::join(plots, ", ")) + "\n");
  return f;
}

}  // namespace gridfold
