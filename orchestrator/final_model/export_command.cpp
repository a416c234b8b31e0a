#include "orchestrator/final_model/export_command.hpp"

#include <string>

#include "orchestrator/final_model/worker_command.hpp"

namespace gridfold {

void export_model(const ExportOptions& o) {
  run_worker({"export", "--model", o.model.string(), "--out", o.out.string(), "--member", std::to_string(o.member)},
             "export");
}

}  // namespace gridfold
