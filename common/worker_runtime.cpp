#include "common/worker_runtime.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace gridfold {

std::string worker_runtime_json(const WorkerRuntime& r) {
  const nlohmann::ordered_json j{{"gridfold", r.gridfold_version},
                                 {"torch", r.torch_version},
                                 {"cuda_compiled", r.cuda_compiled},
                                 {"cuda_version", r.cuda_version},
                                 {"visible_devices", r.visible_devices},
                                 {"cuda_visible_devices", r.cuda_visible_devices}};
  return j.dump() + "\n";
}

std::string worker_runtime_text(const WorkerRuntime& r) {
  return fmt::format(
      "gridfold-worker {}\ntorch: {}\ncuda compiled: {}\ncuda version: {}\nvisible devices: {}\n"
      "CUDA_VISIBLE_DEVICES: {}\n",
      r.gridfold_version, r.torch_version, r.cuda_compiled ? "yes" : "no",
      r.cuda_version.empty() ? "-" : r.cuda_version, r.visible_devices,
      r.cuda_visible_devices.empty() ? "(unset)" : r.cuda_visible_devices);
}

WorkerRuntime parse_worker_runtime(const std::string& json, const std::string& source) {
  try {
    const nlohmann::json j = nlohmann::json::parse(json);
    WorkerRuntime r;
    r.gridfold_version = j.at("gridfold").get<std::string>();
    r.torch_version = j.at("torch").get<std::string>();
    r.cuda_compiled = j.at("cuda_compiled").get<bool>();
    r.cuda_version = j.at("cuda_version").get<std::string>();
    r.visible_devices = j.at("visible_devices").get<int>();
    r.cuda_visible_devices = j.at("cuda_visible_devices").get<std::string>();
    return r;
  } catch (const nlohmann::json::exception& e) {
    throw WorkerRuntimeError(fmt::format("{} did not print the worker's runtime report ({}); it printed: '{}'", source,
                                         e.what(), json.substr(0, 300)));
  }
}

}  // namespace gridfold
