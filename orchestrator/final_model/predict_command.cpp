#include "orchestrator/final_model/predict_command.hpp"

#include <string>

#include "orchestrator/final_model/worker_command.hpp"

namespace gridfold {

void predict_with_model(const PredictOptions& o) {
  run_worker({"predict", "--model", o.model.string(), "--input", o.input.string(), "--out", o.out.string(),
              "--batch-size", std::to_string(o.batch_size), "--threads", std::to_string(worker_threads(o.threads))},
             "predict");
}

}  // namespace gridfold
