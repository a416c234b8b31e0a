// Training one task: fit a network on the training rows, stopping early on a validation
// split carved from them, then predict and score the test rows.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/compute_device.hpp"
#include "common/encoding.hpp"
#include "common/metrics.hpp"
#include "common/position_labels.hpp"
#include "common/spec.hpp"
#include "common/training_diagnostics.hpp"
#include "worker/checkpoint.hpp"

namespace gridfold::worker {

class EncodedData;
class Network;

// Training cannot continue (the loss became NaN or infinite, and the non_finite rule does not
// stop training, or stops it before any validation kept weights); the message says when.
class TrainingError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Training stopped on request (CheckpointRequest::save_and_stop) after saving its
// checkpoint: the task is unfinished, and training it again resumes where this one stopped.
class TrainingInterrupted : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Reported after every validation.
struct TrainingProgress {
  int epoch = 0;  // 1-based epoch in progress
  int epochs = 0;
  std::int64_t step = 0;
  double train_loss = 0;             // mean over the steps since the previous validation
  double validation_loss = 0;        // NaN without a validation split
  bool improved = false;             // a new best; its weights are kept
  std::int64_t validation_rows = 0;  // rows scored: the split, capped at eval_max_samples
};

// What training one task yields: its test scores, its training history and the network.
struct TrainingOutcome {
  std::vector<std::string> target_names;
  std::map<std::string, MetricValues> metrics;  // target -> metric, on the test rows
  // [test row][target] in original units: regression values, binary probabilities,
  // multiclass class indices; NaN for per-position targets (their classes are in `positions`).
  std::vector<float> truth, prediction;
  std::vector<PositionLabels> positions;  // per_position targets: the classes at every test position
  // Per target: a per_position target's decision thresholds chosen on the validation split
  // (worker/scoring.hpp choose_thresholds), which the test classes were called with; empty
  // for the other targets.
  std::vector<std::vector<double>> thresholds;
  std::vector<std::int64_t> history_step;
  std::vector<double> history_epoch, train_loss, validation_loss;
  int best_index = -1;
  // Measured at every validation, with the rules that fired (spec.diagnostics); a rule with
  // action stop that fires ends the training there, as early stopping does.
  TrainingDiagnostics diagnostics;
  double train_seconds = 0, eval_seconds = 0;
  std::uint64_t samples_trained = 0;
  std::int64_t resumed_from_step = 0;  // 0: trained from the start
  // The trained network with the kept (best) weights, and the standardisation its
  // regression outputs are in (none when targets are not standardised): what a model file
  // or a result with output.save_models saves.
  std::shared_ptr<Network> network;
  std::optional<Standardizer> standardizer;
};

using ProgressCallback = std::function<void(const TrainingProgress&)>;

// `seed` fixes the validation split, the initial weights and the batch order, so a task
// trains the same way wherever and whenever it runs (given the same thread count and kind
// of device), and interrupted and resumed from its checkpoint too. The checkpoint file stays
// in place when training returns or throws; removing it once the result is safe is the
// caller's job. Training runs on `device`: the data's tensors are copied there once, batches
// are gathered and validations run there, and only the test outputs come back to the CPU to
// be scored; the returned network stays on `device`.
TrainingOutcome train_and_evaluate(const ExperimentSpec& spec, const EncodedData& data,
                                   std::span<const std::uint32_t> train_rows, std::span<const std::uint32_t> test_rows,
                                   std::uint64_t seed, const ProgressCallback& progress = {},
                                   const Checkpointing& checkpointing = {}, const ComputeDevice& device = {});

}  // namespace gridfold::worker
