#include <torch/torch.h>
// glog, which Torch includes, defines CHECK as well; these tests mean Catch's.
#undef CHECK
#include <catch2/catch.hpp>

#include "worker/flat_optimizer.hpp"

using namespace gridfold;
using namespace gridfold::worker;

namespace {

std::vector<torch::Tensor> parameters_like(const std::vector<torch::Tensor>& source) {
  std::vector<torch::Tensor> copies;
  for (const auto& p : source) copies.push_back(p.detach().clone().requires_grad_());
  return copies;
}

torch::Tensor loss_of(const std::vector<torch::Tensor>& parameters, const torch::Tensor& input) {
  return (torch::tanh(input.matmul(parameters[0]) + parameters[1]).matmul(parameters[2])).square().sum();
}

}  // namespace

TEST_CASE("the flat optimiser steps like torch::optim", "[unit]") {
  torch::manual_seed(2);
  const std::vector<torch::Tensor> initial{torch::randn({5, 4}), torch::randn({4}), torch::randn({4, 3})};
  const torch::Tensor input = torch::randn({8, 5});
  for (Optimizer kind : {Optimizer::adam, Optimizer::adamw, Optimizer::sgd}) {
    INFO(to_string(kind));
    TrainingSpec spec;
    spec.optimizer = kind;
    spec.lr = 0.01;
    spec.weight_decay = 0.05;
    spec.momentum = 0.9;
    auto reference_parameters = parameters_like(initial);
    auto flat_parameters = parameters_like(initial);
    std::unique_ptr<torch::optim::Optimizer> reference;
    if (kind == Optimizer::adam) {
      reference = std::make_unique<torch::optim::Adam>(reference_parameters,
                                                       torch::optim::AdamOptions(0.01).weight_decay(0.05));
    } else if (kind == Optimizer::adamw) {
      reference = std::make_unique<torch::optim::AdamW>(reference_parameters,
                                                        torch::optim::AdamWOptions(0.01).weight_decay(0.05));
    } else {
      reference = std::make_unique<torch::optim::SGD>(reference_parameters,
                                                      torch::optim::SGDOptions(0.01).momentum(0.9).weight_decay(0.05));
    }
    FlatOptimizer flat(spec, flat_parameters);
    for (int step = 0; step < 5; ++step) {
      reference->zero_grad();
      loss_of(reference_parameters, input).backward();
      reference->step();
      flat.zero_grad();
      loss_of(flat_parameters, input).backward();
      flat.step();
    }
    for (std::size_t i = 0; i < initial.size(); ++i) {
      CHECK(torch::allclose(flat_parameters[i], reference_parameters[i], 1e-5, 1e-6));
    }
  }
}

TEST_CASE("gradients accumulate into the flat buffer in place", "[unit]") {
  std::vector<torch::Tensor> parameters{torch::ones({3}).requires_grad_(), torch::ones({2, 2}).requires_grad_()};
  TrainingSpec spec;
  FlatOptimizer flat(spec, parameters);
  const void* before = parameters[1].grad().data_ptr();
  (parameters[0].sum() + 2 * parameters[1].sum()).backward();
  CHECK(parameters[1].grad().data_ptr() == before);
  CHECK(parameters[1].grad().eq(2).all().item<bool>());
  flat.zero_grad();
  CHECK(parameters[0].grad().eq(0).all().item<bool>());
}
