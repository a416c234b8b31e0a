// The networks a ModelSpec describes, built for one dataset's input shape and targets.
//
// Torch types are only named here, never defined: callers that run a Network include Torch
// in their own translation unit, everyone else compiles without it.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/spec.hpp"

namespace at {
class Tensor;
}
namespace c10 {
struct Device;
}

namespace gridfold::worker {

// What a network reads: one-hot sequences [N][channels][length] with their true lengths
// (the padding mask), or feature vectors [N][features].
struct InputShape {
  int channels = 0;  // 0 for feature inputs
  int length = 0;    // padded sequence length
  int features = 0;  // feature inputs only
  bool is_sequence() const { return channels > 0; }
};

// One target's block of output columns: 1 for regression and binary targets (a value or
// a logit), one logit per class for multiclass targets.
struct OutputHead {
  std::string target;
  TaskType task = TaskType::regression;
  int width = 1;
};

int total_width(const std::vector<OutputHead>& heads);

class Network {
 public:
  virtual ~Network() = default;
  // inputs [N][C][L] (or [N][F]) and lengths [N] (int64) -> [N][total_width], or
  // [N][total_width][L] when the model keeps per-position outputs (global pooling none).
  virtual at::Tensor forward(const at::Tensor& inputs, const at::Tensor& lengths) = 0;
  virtual std::vector<at::Tensor> parameters() = 0;
  // Parameters and buffers (batch-norm statistics): everything a weight snapshot keeps.
  virtual std::vector<at::Tensor> state() = 0;
  // The names of state()'s tensors, in the same order ("trunk.0.weight"), parameters()
  // first: model files match saved weights to a network by name, training diagnostics group
  // parameters into layers by it.
  virtual std::vector<std::string> state_names() = 0;
  virtual void set_training(bool training) = 0;
  // Moves the weights, buffers and any tensors forward() keeps to `device`; forward() then
  // takes inputs and lengths on that device. Networks are built on the CPU.
  virtual void move_to(const c10::Device& device) = 0;
  // True when forward() keeps one output per position.
  virtual bool per_position() const = 0;
  // Writes the network with its current weights as a TorchScript module (forward(inputs,
  // lengths), inference mode, CPU) that torch.jit.load reads; `metadata_json` goes in as the
  // archive's extra file gridfold.json. Throws SpecError for the families built from LibTorch
  // C++ modules (all but transformer and torchscript), which TorchScript cannot serialise.
  virtual void save_torchscript(const std::filesystem::path& path, const std::string& metadata_json) = 0;
  // While watching, forward() notes which ReLU units (a conv block's channels, a dense
  // layer's units) output anything positive; starting to watch forgets earlier notes. It
  // costs one reduction per ReLU and forward(), so training diagnostics watch validations only.
  virtual void watch_relus(bool watching);
  // The share of watched ReLU units that output nothing positive for any input forward()
  // saw while watching (dead units); NaN for a network without ReLUs it can watch (LSTMs,
  // TorchScript models) or before any watched forward().
  virtual double dead_relu_share();
};

// Throws SpecError when the spec cannot describe a network for these inputs and heads,
// e.g. per-position targets with global pooling, or block pooling that leaves no positions.
std::shared_ptr<Network> build_network(const ModelSpec& spec, const InputShape& input,
                                       const std::vector<OutputHead>& heads);

}  // namespace gridfold::worker
