// The training objective. Each target contributes the mean of its loss over the rows (and
// positions) where its value is present, times its weight; missing values (NaN) are masked
// out, and a target missing from a whole batch contributes nothing rather than NaN.
#pragma once

#include <memory>
#include <vector>

#include "common/spec.hpp"
#include "worker/models.hpp"

namespace at {
class Tensor;
}

namespace gridfold::worker {

// Outputs and targets carry one column per target along dim 1; the others (rows, and
// positions for per-position targets) are averaged over. Each returns one mean per column.
at::Tensor masked_mse(const at::Tensor& prediction, const at::Tensor& target);
// pos_weight [T] multiplies the loss of positive examples (imbalanced binary targets).
at::Tensor masked_bce_with_logits(const at::Tensor& logits, const at::Tensor& target, const at::Tensor& pos_weight);
// logits [N][K] (or [N][K][L]) against class indices [N] (or [N][L]); class_weight [K]. A
// scalar: the class-weighted mean over present targets, as torch's weighted cross-entropy;
// with focal_gamma > 0 each term is also multiplied by (1 - p)^focal_gamma, p the
// probability given to the true class (focal loss, Lin et al. 2017).
at::Tensor masked_cross_entropy(const at::Tensor& logits, const at::Tensor& target, const at::Tensor& class_weight,
                                double focal_gamma = 0.0);

class MultitaskLoss {
 public:
  // Positive-class weights left at 0 in the spec, and class weights, are derived from the
  // class balance of `fit_targets` (the rows the model trains on, [N][T] or [N][T][L]); a
  // per_position target with several boundary classes and a pos_weight weighs each of them
  // pos_weight times its background class 0 instead. The loss computes on the device of
  // `fit_targets`.
  MultitaskLoss(const std::vector<OutputHead>& heads, const std::vector<TargetSpec>& targets,
                const at::Tensor& fit_targets);
  MultitaskLoss(MultitaskLoss&&) noexcept;
  MultitaskLoss& operator=(MultitaskLoss&&) noexcept;
  ~MultitaskLoss();

  // outputs [N][total_width](...) and targets [N][T](...) -> scalar total loss.
  at::Tensor operator()(const at::Tensor& outputs, const at::Tensor& targets) const;

 private:
  struct Terms;
  std::unique_ptr<Terms> terms_;
};

}  // namespace gridfold::worker
