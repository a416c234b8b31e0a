// A planned experiment directory for tests of pack and harvest: the frozen spec and plan.h5
// made from spec text, and deterministic synthetic fold results written as the worker writes
// them (write_fold_result), so no training is needed.
#pragma once

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/experiment_layout.hpp"
#include "common/fold_result.hpp"
#include "common/metrics.hpp"
#include "common/plan.hpp"
#include "common/spec.hpp"

namespace gridfold::testing {

class TestExperiment {
 public:
  TestExperiment(const std::filesystem::path& root, const std::string& spec_text, std::size_t samples) : layout_(root) {
    std::filesystem::create_directories(root);
    std::ofstream(layout_.spec()) << spec_text;
    const SpecDocument doc = SpecDocument::load(layout_.spec());
    spec_ = doc.base();
    plan_ = make_plan(doc, samples, {}, {});
    write_plan(layout_.plan(), plan_);
  }

  const ExperimentLayout& layout() const { return layout_; }
  const ExperimentPlan& plan() const { return plan_; }
  const ExperimentSpec& spec() const { return spec_; }

  // Regression targets only: truth depends on the sample, the error on config, fold and sample,
  // so configs differ and repeated resamples of a sample differ. `version` makes a rerun of the
  // task write different values.
  FoldResult result(std::size_t task_number, double version = 0) const {
    const Task& task = plan_.tasks[task_number];
    FoldResult r = result_of_task(plan_, task_number);
    const auto& test = r.sample_index;
    const std::size_t targets = spec_.data.targets.size();
    for (const auto& t : spec_.data.targets) r.target_names.push_back(t.name);
    r.truth.resize(test.size() * targets);
    r.prediction.resize(test.size() * targets);
    for (std::size_t j = 0; j < targets; ++j) {
      std::vector<double> truth, prediction;
      for (const std::uint32_t s : test) {
        const double y = std::sin(0.3 * s + static_cast<double>(j));
        // Which config predicts best changes with the outer fold, so that nested selection
        // chooses differently from the best config on average.
        const double amplitude = 0.05 + 0.1 * ((task.config + task.outer_fold) % 3) + 0.01 * task.config;
        const double error =
            amplitude * std::sin(1.7 * s + 2.3 * task.outer_fold + 0.9 * task.inner_fold + 0.4 * j + version);
        truth.push_back(y);
        prediction.push_back(y + error);
      }
      r.metrics[spec_.data.targets[j].name] = regression_metrics(truth, prediction);
      for (std::size_t i = 0; i < test.size(); ++i) {
        r.truth[i * targets + j] = static_cast<float>(truth[i]);
        r.prediction[i * targets + j] = static_cast<float>(prediction[i]);
      }
    }
    r.history_step = {0, 1};
    r.history_epoch = {0.5, 1.0};
    r.train_loss = {1.0, 0.5};
    r.validation_loss = {1.1, 0.6};
    r.best_index = 1;
    return r;
  }

  std::filesystem::path write_result(std::size_t task_number, double version = 0) const {
    const FoldResult r = result(task_number, version);
    const auto path = layout_.result(r.config_id, r.outer_fold, r.inner_fold);
    write_fold_result(path, r);
    return path;
  }

  void write_all_results() const {
    for (std::size_t t = 0; t < plan_.tasks.size(); ++t) write_result(t);
  }

 private:
  ExperimentLayout layout_;
  ExperimentSpec spec_;
  ExperimentPlan plan_;
};

}  // namespace gridfold::testing
