#include <torch/torch.h>
// glog, which Torch includes, defines CHECK as well; these tests mean Catch's.
#undef CHECK
#include <catch2/catch.hpp>

#include <cmath>

#include "worker/losses.hpp"

using namespace gridfold;
using namespace gridfold::worker;

namespace {
const float kMissing = std::nanf("");
}

TEST_CASE("masked MSE ignores missing targets", "[unit]") {
  const auto prediction = torch::tensor({{1.0f, 0.0f}, {3.0f, 10.0f}, {5.0f, 2.0f}}).requires_grad_();
  const auto target = torch::tensor({{2.0f, kMissing}, {kMissing, kMissing}, {3.0f, 0.0f}});
  const auto loss = masked_mse(prediction, target);
  // column 0: ((1-2)^2 + (5-3)^2) / 2; column 1: (2-0)^2 / 1
  CHECK(loss[0].item<float>() == Approx(2.5));
  CHECK(loss[1].item<float>() == Approx(4.0));
  loss.sum().backward();
  const auto grad = prediction.grad();
  CHECK_FALSE(grad.isnan().any().item<bool>());
  CHECK(grad[1][0].item<float>() == 0.0f);
  CHECK(grad[1][1].item<float>() == 0.0f);
}

TEST_CASE("a target missing from a whole batch contributes nothing", "[unit]") {
  const auto prediction = torch::tensor({{1.0f, 4.0f}, {2.0f, 4.0f}});
  const auto target = torch::tensor({{1.0f, kMissing}, {2.0f, kMissing}});
  const auto loss = masked_mse(prediction, target);
  CHECK(loss[1].item<float>() == 0.0f);
}

TEST_CASE("masked BCE weights positives by pos_weight and skips missing labels", "[unit]") {
  const auto logits = torch::zeros({3, 1});
  const auto target = torch::tensor({{1.0f}, {0.0f}, {kMissing}});
  const auto loss = masked_bce_with_logits(logits, target, torch::tensor({3.0f}));
  // log 2 for each present row; the positive one counts three times.
  CHECK(loss[0].item<float>() == Approx((3 * std::log(2.0) + std::log(2.0)) / 2));
}

TEST_CASE("masked cross-entropy weights classes and skips missing labels", "[unit]") {
  const auto logits = torch::zeros({3, 2});
  const auto target = torch::tensor({0.0f, 1.0f, kMissing});
  const auto loss = masked_cross_entropy(logits, target, torch::tensor({1.0f, 3.0f}));
  CHECK(loss.item<float>() == Approx(std::log(2.0)));
}

TEST_CASE("the multitask loss sums weighted per-target terms", "[unit]") {
  const std::vector<OutputHead> heads{{"r", TaskType::regression, 1}, {"c", TaskType::multiclass, 3}};
  std::vector<TargetSpec> targets(2);
  targets[0] = {"r", TaskType::regression, {}, 0.0, 2.0};
  targets[1] = {"c", TaskType::multiclass, {"x", "y", "z"}, 0.0, 1.0};
  const auto fit_targets = torch::tensor({{0.0f, 0.0f}, {1.0f, 1.0f}, {2.0f, 2.0f}});
  const MultitaskLoss loss(heads, targets, fit_targets);
  const auto outputs = torch::zeros({2, 4});
  const auto batch = torch::tensor({{1.0f, 2.0f}, {kMissing, 0.0f}});
  // regression: 2 * (0-1)^2; classes balanced (weights 1): log 3
  CHECK(loss(outputs, batch).item<float>() == Approx(2.0 + std::log(3.0)));
}

TEST_CASE("focal loss shrinks the terms of well-classified positions most", "[unit]") {
  // Row 0 is classified well (p = 0.88 for its class), row 1 badly (p = 0.12).
  const auto logits = torch::tensor({{2.0f, 0.0f}, {2.0f, 0.0f}});
  const auto target = torch::tensor({0.0f, 1.0f});
  const auto weights = torch::tensor({1.0f, 1.0f});
  const double p_easy = 1 / (1 + std::exp(-2.0)), p_hard = 1 - p_easy;
  CHECK(masked_cross_entropy(logits, target, weights, 0.0).item<float>() ==
        Approx(-(std::log(p_easy) + std::log(p_hard)) / 2));
  const double focal = -(std::pow(1 - p_easy, 2) * std::log(p_easy) + std::pow(1 - p_hard, 2) * std::log(p_hard)) / 2;
  CHECK(masked_cross_entropy(logits, target, weights, 2.0).item<float>() == Approx(focal));
  // The easy term shrinks by (0.12)^2, the hard one by (0.88)^2 only.
  CHECK(std::pow(1 - p_easy, 2) < 0.02);
}
