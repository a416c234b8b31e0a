// A planned experiment directory as the commands that read it need it: where its files are,
// its plan, and its frozen spec (relative paths resolving where the original spec was).
#pragma once

#include <filesystem>

#include "common/archive_catalog.hpp"
#include "common/experiment_layout.hpp"
#include "common/plan.hpp"
#include "common/spec.hpp"

namespace gridfold {

// Throws BadInputError (exit 3) "DIR is not a gridfold experiment directory (no plan.h5); run
// gridfold plan first" unless `layout`'s directory holds a plan: the one check every command
// that reads an experiment (status, resubmit, cancel, pack, harvest, report, ...) makes first.
void require_planned(const ExperimentLayout& layout);

struct PlannedExperiment {
  ExperimentLayout layout;
  ExperimentPlan plan;
  SpecDocument document;

  // Reads plan.h5 and spec.yaml; throws what require_planned, read_plan and SpecDocument::load throw.
  explicit PlannedExperiment(const std::filesystem::path& root)
      : layout(root), plan(read_planned(layout)), document(SpecDocument::load(layout.spec(), plan.spec_dir)) {}

  const ExperimentSpec& spec() const { return document.base(); }
  std::filesystem::path archive_dir() const { return archive_directory(layout, spec(), plan.experiment_id); }

 private:
  static ExperimentPlan read_planned(const ExperimentLayout& layout) {
    require_planned(layout);
    return read_plan(layout.plan());
  }
};

}  // namespace gridfold
