// Training one task: fit a network on the training rows, stopping early on a validation
// split carved from them, then predict and score the test rows.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/metrics.hpp"
#include "common/spec.hpp"

namespace gridfold::worker {

class EncodedData;

// Training cannot continue (the loss became NaN or infinite); the message says when.
class TrainingError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Reported after every validation.
struct TrainingProgress {
  int epoch = 0;  // 1-based epoch in progress
  int epochs = 0;
  std::int64_t step = 0;
  double train_loss = 0;       // mean over the steps since the previous validation
  double validation_loss = 0;  // NaN without a validation split
  bool improved = false;       // a new best; its weights are kept
};

struct TrainingOutcome {
  std::vector<std::string> target_names;
  std::map<std::string, MetricValues> metrics;  // target -> metric, on the test rows
  // [test row][target] in original units: regression values, binary probabilities,
  // multiclass class indices; NaN for per-position targets (scored in `metrics` only).
  std::vector<float> truth, prediction;
  std::vector<std::int64_t> history_step;
  std::vector<double> history_epoch, train_loss, validation_loss;
  int best_index = -1;
  double train_seconds = 0, eval_seconds = 0;
  std::uint64_t samples_trained = 0;
};

using ProgressCallback = std::function<void(const TrainingProgress&)>;

// `seed` fixes the validation split, the initial weights and the batch order, so a task
// trains the same way wherever and whenever it runs (given the same thread count).
TrainingOutcome train_and_evaluate(const ExperimentSpec& spec, const EncodedData& data,
                                   std::span<const std::uint32_t> train_rows,
                                   std::span<const std::uint32_t> test_rows, std::uint64_t seed,
                                   const ProgressCallback& progress = {});

}  // namespace gridfold::worker
