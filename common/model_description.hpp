// The part of a model file that the experiment fixes, whoever trained the networks (the
// worker refitting a config, or finalize gathering the fold models of an ensemble).
#pragma once

#include <string>

#include "common/dataset.hpp"
#include "common/model_file.hpp"
#include "common/plan.hpp"
#include "common/spec.hpp"

namespace gridfold {

// Spec text and directory, the config's grid values, the encoding (padded length: the
// longest sequence of `data`, as the worker encodes it) and the targets with their classes;
// no members.
ModelFile describe_model(const ExperimentPlan& plan, const Config& config, const std::string& spec_text,
                         const ExperimentSpec& resolved, const Dataset& data, FinalModelStrategy strategy);

}  // namespace gridfold
