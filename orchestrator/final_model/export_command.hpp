// `gridfold export`: a model file's network as a TorchScript module that torch.jit.load reads
// without gridfold (docs/model-file.md#torchscript-export). Transformer and torchscript
// models only: the other families are LibTorch C++ modules, which TorchScript cannot hold.
#pragma once

#include <cstddef>
#include <filesystem>

namespace gridfold {

struct ExportOptions {
  std::filesystem::path model, out;
  std::size_t member = 0;  // which network of an ensemble
};

// Throws WorkerError (orchestrator/final_model/worker_command.hpp) with the worker's exit code
// when it fails; the worker has printed why.
void export_model(const ExportOptions& options);

}  // namespace gridfold
