#include "worker/flat_optimizer.hpp"

#include <fmt/format.h>
#include <torch/torch.h>

#include <cmath>

namespace gridfold::worker {

struct FlatOptimizer::State {
  Optimizer kind = Optimizer::adam;
  double lr = 1e-3, weight_decay = 0, momentum = 0;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // torch::optim's defaults
  std::int64_t steps = 0;
  torch::Tensor values, gradients;
  torch::Tensor first_moment, second_moment, denominator;  // Adam, AdamW
  torch::Tensor velocity;                                  // SGD with momentum
};

FlatOptimizer::FlatOptimizer(const TrainingSpec& spec, const std::vector<torch::Tensor>& parameters)
    : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.kind = spec.optimizer;
  s.lr = spec.lr;
  s.weight_decay = spec.weight_decay;
  s.momentum = spec.momentum;
  std::int64_t total = 0;
  for (const auto& p : parameters) {
    if (p.scalar_type() != torch::kFloat) {
      throw std::invalid_argument(
          fmt::format("FlatOptimizer handles float32 parameters, got {}", c10::toString(p.scalar_type())));
    }
    total += p.numel();
  }
  // The flat buffers live where the parameters are (all on one device: the network's).
  const torch::TensorOptions options =
      torch::TensorOptions(torch::kFloat).device(parameters.empty() ? torch::kCPU : parameters.front().device());
  s.values = torch::empty({total}, options);
  s.gradients = torch::zeros({total}, options);
  torch::NoGradGuard no_grad;
  std::int64_t offset = 0;
  for (const auto& p : parameters) {
    const std::int64_t n = p.numel();
    torch::Tensor value = s.values.narrow(0, offset, n).view(p.sizes());
    value.copy_(p);
    // set_data keeps the parameter's identity (the module still holds it) but moves its
    // storage; the gradient view makes autograd accumulate into the flat buffer in place.
    torch::Tensor parameter = p;
    parameter.set_data(value);
    parameter.mutable_grad() = s.gradients.narrow(0, offset, n).view(p.sizes());
    offset += n;
  }
  if (s.kind == Optimizer::sgd) {
    if (s.momentum != 0) s.velocity = torch::zeros({total}, options);
  } else {
    s.first_moment = torch::zeros({total}, options);
    s.second_moment = torch::zeros({total}, options);
    s.denominator = torch::empty({total}, options);
  }
}

FlatOptimizer::FlatOptimizer(FlatOptimizer&&) noexcept = default;
FlatOptimizer& FlatOptimizer::operator=(FlatOptimizer&&) noexcept = default;
FlatOptimizer::~FlatOptimizer() = default;

void FlatOptimizer::zero_grad() {
  state_->gradients.zero_();
}

double FlatOptimizer::lr() const {
  return state_->lr;
}
void FlatOptimizer::set_lr(double lr) {
  state_->lr = lr;
}

const torch::Tensor& FlatOptimizer::values() const {
  return state_->values;
}
const torch::Tensor& FlatOptimizer::gradients() const {
  return state_->gradients;
}

void FlatOptimizer::save(torch::serialize::OutputArchive& archive, const std::string& prefix) const {
  const State& s = *state_;
  archive.write(prefix + "steps", c10::IValue(s.steps));
  // Saved from the CPU, so a checkpoint made on a GPU loads on a machine without one.
  if (s.first_moment.defined()) archive.write(prefix + "first_moment", s.first_moment.cpu());
  if (s.second_moment.defined()) archive.write(prefix + "second_moment", s.second_moment.cpu());
  if (s.velocity.defined()) archive.write(prefix + "velocity", s.velocity.cpu());
}

void FlatOptimizer::load(torch::serialize::InputArchive& archive, const std::string& prefix) {
  State& s = *state_;
  c10::IValue steps;
  archive.read(prefix + "steps", steps);
  torch::NoGradGuard no_grad;
  const auto restore = [&](const std::string& name, torch::Tensor& into) {
    if (!into.defined()) return;
    torch::Tensor saved;
    archive.read(prefix + name, saved);
    TORCH_CHECK(saved.sizes() == into.sizes(), "optimizer ", name, " has ", saved.numel(), " values, expected ",
                into.numel());
    into.copy_(saved);
  };
  restore("first_moment", s.first_moment);
  restore("second_moment", s.second_moment);
  restore("velocity", s.velocity);
  s.steps = steps.toInt();
}

void FlatOptimizer::step() {
  State& s = *state_;
  torch::NoGradGuard no_grad;
  ++s.steps;
  torch::Tensor& grad = s.gradients;  // zeroed before the next backward, so usable as scratch
  if (s.kind == Optimizer::sgd) {
    if (s.weight_decay != 0) grad.add_(s.values, s.weight_decay);
    if (s.momentum != 0) {
      if (s.steps == 1) {
        s.velocity.copy_(grad);
      } else {
        s.velocity.mul_(s.momentum).add_(grad);
      }
      s.values.add_(s.velocity, -s.lr);
    } else {
      s.values.add_(grad, -s.lr);
    }
    return;
  }
  if (s.kind == Optimizer::adamw) {
    s.values.mul_(1 - s.lr * s.weight_decay);
  } else if (s.weight_decay != 0) {
    grad.add_(s.values, s.weight_decay);
  }
  const double correction1 = 1 - std::pow(s.beta1, static_cast<double>(s.steps));
  const double correction2 = 1 - std::pow(s.beta2, static_cast<double>(s.steps));
  s.first_moment.mul_(s.beta1).add_(grad, 1 - s.beta1);
  s.second_moment.mul_(s.beta2).addcmul_(grad, grad, 1 - s.beta2);
  torch::sqrt_out(s.denominator, s.second_moment).div_(std::sqrt(correction2)).add_(s.eps);
  s.values.addcdiv_(s.first_moment, s.denominator, -s.lr / correction1);
}

}  // namespace gridfold::worker
