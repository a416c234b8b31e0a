// `gridfold predict`: new samples through a model file made by `gridfold finalize`. The
// networks run in gridfold-worker (the only program with Torch), as a subprocess that reads
// the input and writes the CSV (columns in docs/cli.md). With a filter model both networks run
// in that one process (the feeder cascade, common/feeder_cascade.hpp).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace gridfold {

struct PredictOptions {
  std::filesystem::path model, input, out;
  // A model of one binary target (the feeder): only rows whose probability reaches
  // filter_threshold go through `model`; empty: every row does.
  std::filesystem::path filter_model;
  double filter_threshold = 0.5;
  int batch_size = 256;
  int threads = 0;    // 0 = all cores
  bool json = false;  // the worker's summary as JSON
};

// The worker's command line for `options` (gridfold-worker predict ...), the threads resolved.
std::vector<std::string> predict_arguments(const PredictOptions& options);

// Throws WorkerError (orchestrator/final_model/worker_command.hpp) with the worker's exit code when it
// fails; the worker has printed why.
void predict_with_model(const PredictOptions& options);

}  // namespace gridfold
