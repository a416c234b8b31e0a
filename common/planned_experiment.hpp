// A planned experiment directory as the commands that read it need it: where its files are,
// its plan, and its frozen spec (relative paths resolving where the original spec was).
#pragma once

#include <filesystem>

#include "common/archive_catalog.hpp"
#include "common/experiment_layout.hpp"
#include "common/plan.hpp"
#include "common/spec.hpp"

namespace gridfold {

struct PlannedExperiment {
  ExperimentLayout layout;
  ExperimentPlan plan;
  SpecDocument document;

  // Reads plan.h5 and spec.yaml; throws what read_plan and SpecDocument::load throw.
  explicit PlannedExperiment(const std::filesystem::path& root)
      : layout(root), plan(read_plan(layout.plan())), document(SpecDocument::load(layout.spec(), plan.spec_dir)) {}

  const ExperimentSpec& spec() const { return document.base(); }
  std::filesystem::path archive_dir() const { return archive_directory(layout, spec(), plan.experiment_id); }
};

}  // namespace gridfold
