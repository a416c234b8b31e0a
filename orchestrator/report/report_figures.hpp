// The report's plots as gnuplot figures: what is drawn, from which numbers, with which
// labels. Each function returns the figure's data files and commands; draw_figure
// (gnuplot_figure.hpp) renders them.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "common/fold_result.hpp"
#include "common/grid.hpp"
#include "orchestrator/report/classification_curves.hpp"
#include "orchestrator/report/gnuplot_figure.hpp"
#include "orchestrator/harvest/harvest_report.hpp"

namespace gridfold {

// Each sample of one selection and target at its mean prediction, with an error bar of the
// standard deviation across the resamples that tested it, against its truth; identity line;
// R² and RMSE of the mean predictions in the title.
GnuplotFigure predicted_vs_actual_figure(const std::string& name, const std::string& target,
                                         const std::string& config_label, std::span<const PredictionTable::Row> rows);

// Each sample's test error against its highest similarity to the training part (harvest's
// train_similarity), with the mean error per tenth of the similarity range as a line: a split
// that leaks similar sequences shows low errors at high similarity. The error is |mean
// prediction - truth| for regression and binary targets (binary: of the probability), and
// whether the mean predicted class misses the true one for multiclass targets. Rows without a
// similarity are left out.
GnuplotFigure error_vs_similarity_figure(const std::string& name, const std::string& target, TaskType task,
                                         const std::string& config_label, std::span<const PredictionTable::Row> rows);

// Training and validation loss per evaluation of one config's outer results: median over the
// folds as a line, minimum to maximum as a band. Folds that stopped early contribute only
// the evaluations they have.
GnuplotFigure learning_curve_figure(const std::string& name, const std::string& config_label,
                                    std::span<const FoldResult> results);

// The global gradient norm at each validation (training diagnostics) of one config's outer
// results: median over the folds as a line, minimum to maximum as a band, on a log scale
// (norms span orders of magnitude); folds without diagnostics are left out.
GnuplotFigure gradient_norm_figure(const std::string& name, const std::string& config_label,
                                   std::span<const FoldResult> results);

// The target's ranking metric against one grid parameter: each config's mean over its outer
// folds as a small point, and per parameter value the mean and standard deviation of those
// config means.
GnuplotFigure hyperparameter_figure(const std::string& name, const HarvestTarget& target,
                                    std::span<const Config> configs, const std::string& param_path);

// Each ranked config's paired difference to the best (best minus config, signed so that
// larger means the best is better) with its 95% corrected interval (harvest's compare_to_best),
// in rank order; indistinguishable configs in one colour, the others in another, eliminated
// configs of a race marked. At most `top` configs.
GnuplotFigure difference_to_best_figure(const std::string& name, const HarvestTarget& target, std::size_t top);

// curve from roc_curve; auroc printed in the title.
GnuplotFigure roc_figure(const std::string& name, const std::string& target, const std::string& config_label,
                         std::span<const CurvePoint> curve);

// curve from precision_recall_curve; `prevalence` (fraction of positives) is the chance line.
GnuplotFigure precision_recall_figure(const std::string& name, const std::string& target,
                                      const std::string& config_label, std::span<const CurvePoint> curve,
                                      double prevalence);

// counts from confusion_matrix; cells are coloured by the fraction of their true class.
GnuplotFigure confusion_figure(const std::string& name, const std::string& target, const std::string& config_label,
                               const std::vector<std::vector<std::size_t>>& counts,
                               const std::vector<std::string>& class_names);

// F1 at the target's tolerance along the window, one line per boundary class, from harvest's
// positions rows of one selection and config (pooled over its outer folds), with the density of
// true boundaries per 1000 positions on the right axis; the pooled F1 per class in the title.
GnuplotFigure position_f1_figure(const std::string& name, const std::string& target, const std::string& config_label,
                                 std::span<const PositionProfiles::Row> rows);

}  // namespace gridfold
