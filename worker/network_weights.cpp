#include "worker/network_weights.hpp"

#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <map>

namespace gridfold::worker {

ModelWeights weights_of(Network& network, const std::optional<Standardizer>& standardizer, std::size_t target_count,
                        const std::vector<std::vector<double>>& thresholds) {
  torch::NoGradGuard no_grad;
  ModelWeights w;
  const std::vector<at::Tensor> state = network.state();
  const std::vector<std::string> names = network.state_names();
  for (std::size_t i = 0; i < state.size(); ++i) {
    const torch::Tensor values = state[i].detach().to(torch::kCPU, torch::kFloat).contiguous();
    const float* data = values.data_ptr<float>();
    w.tensors.push_back({names.at(i), values.sizes().vec(), std::vector<float>(data, data + values.numel())});
  }
  if (standardizer) {
    w.target_mean = standardizer->mean;
    w.target_scale = standardizer->scale;
    w.target_mean.resize(target_count, 0.0);
    w.target_scale.resize(target_count, 1.0);
  }
  if (std::any_of(thresholds.begin(), thresholds.end(), [](const auto& t) { return !t.empty(); })) {
    w.thresholds = thresholds;
  }
  return w;
}

void load_weights(Network& network, const ModelWeights& weights) {
  torch::NoGradGuard no_grad;
  std::map<std::string, const NamedTensor*> saved;
  for (const auto& t : weights.tensors) saved.emplace(t.name, &t);
  std::vector<at::Tensor> state = network.state();
  const std::vector<std::string> names = network.state_names();
  if (state.size() != saved.size()) {
    throw SpecError(
        fmt::format("the saved weights hold {} tensors but the network has {}; they belong to another "
                    "architecture",
                    saved.size(), state.size()));
  }
  for (std::size_t i = 0; i < state.size(); ++i) {
    const auto found = saved.find(names[i]);
    if (found == saved.end()) {
      throw SpecError(
          fmt::format("the saved weights have no tensor '{}'; they belong to another architecture", names[i]));
    }
    const NamedTensor& t = *found->second;
    if (state[i].sizes().vec() != t.shape) {
      throw SpecError(fmt::format("saved tensor '{}' has shape [{}], the network's has [{}]", t.name,
                                  fmt::join(t.shape, ", "), fmt::join(state[i].sizes(), ", ")));
    }
    const torch::Tensor values = torch::from_blob(const_cast<float*>(t.values.data()), t.shape, torch::kFloat);
    state[i].copy_(values);
  }
}

std::optional<Standardizer> standardizer_of(const ModelWeights& weights) {
  if (weights.target_mean.empty()) return std::nullopt;
  return Standardizer{weights.target_mean, weights.target_scale};
}

}  // namespace gridfold::worker
