// `gridfold predict`: new samples through a model file made by `gridfold finalize`. The
// networks run in gridfold-worker (the only program with Torch), as a subprocess that reads
// the input and writes the CSV (columns in docs/cli.md).
#pragma once

#include <filesystem>

namespace gridfold {

struct PredictOptions {
  std::filesystem::path model, input, out;
  int batch_size = 256;
  int threads = 0;  // 0 = all cores
};

// Throws WorkerError (orchestrator/final_model/worker_command.hpp) with the worker's exit code when it
// fails; the worker has printed why.
void predict_with_model(const PredictOptions& options);

}  // namespace gridfold
