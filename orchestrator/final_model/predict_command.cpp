#include "orchestrator/final_model/predict_command.hpp"

#include <fmt/format.h>

#include <string>
#include <thread>
#include <vector>

#include "orchestrator/process/command_runner.hpp"
#include "orchestrator/final_model/finalize_command.hpp"
#include "orchestrator/templates/template_dir.hpp"

namespace gridfold {

void predict_with_model(const PredictOptions& o) {
  const int threads = o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const std::vector<std::string> argv{worker_executable().string(),
                                      "predict",
                                      "--model",
                                      o.model.string(),
                                      "--input",
                                      o.input.string(),
                                      "--out",
                                      o.out.string(),
                                      "--batch-size",
                                      std::to_string(o.batch_size),
                                      "--threads",
                                      std::to_string(threads)};
  const int rc = run_command_inheriting_output(argv);
  if (rc != 0) {
    throw WorkerError(fmt::format("gridfold-worker predict failed with exit code {} (its message is above)", rc), rc);
  }
}

}  // namespace gridfold
