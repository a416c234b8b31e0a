#include "orchestrator/final_model/predict_command.hpp"

#include <fmt/format.h>

#include "orchestrator/final_model/worker_command.hpp"

namespace gridfold {

std::vector<std::string> predict_arguments(const PredictOptions& o) {
  std::vector<std::string> arguments{"predict",
                                     "--model",
                                     o.model.string(),
                                     "--input",
                                     o.input.string(),
                                     "--out",
                                     o.out.string(),
                                     "--batch-size",
                                     std::to_string(o.batch_size),
                                     "--threads",
                                     std::to_string(worker_threads(o.threads))};
  if (!o.filter_model.empty()) {
    arguments.insert(arguments.end(), {"--filter-model", o.filter_model.string(), "--filter-threshold",
                                       fmt::format("{}", o.filter_threshold)});
  }
  if (o.json) arguments.push_back("--json");
  return arguments;
}

void predict_with_model(const PredictOptions& o) {
  run_worker(predict_arguments(o), "predict");
}

}  // namespace gridfold
