#include "worker/losses.hpp"

#include <fmt/format.h>
#include <torch/torch.h>

#include <optional>

namespace gridfold::worker {
namespace {

// Every dim but the target dim 1: rows, and positions for per-position targets.
std::vector<std::int64_t> averaged_dims(const torch::Tensor& t) {
  std::vector<std::int64_t> dims{0};
  for (std::int64_t d = 2; d < t.dim(); ++d) dims.push_back(d);
  return dims;
}

torch::Tensor present_count(const torch::Tensor& missing, const std::vector<std::int64_t>& dims) {
  return missing.logical_not().sum(dims).clamp_min(1);
}

void check_same_shape(const torch::Tensor& a, const torch::Tensor& b, const char* what) {
  if (a.sizes() != b.sizes()) {
    throw std::invalid_argument(fmt::format("{}: outputs of shape [{}] do not match targets of shape [{}]", what,
                                            fmt::join(a.sizes(), ", "), fmt::join(b.sizes(), ", ")));
  }
}

}  // namespace

torch::Tensor masked_mse(const torch::Tensor& prediction, const torch::Tensor& target) {
  check_same_shape(prediction, target, "masked_mse");
  const auto dims = averaged_dims(target);
  const torch::Tensor missing = target.isnan();
  // Filling after the subtraction keeps NaN out of the gradient: masked_fill's backward
  // zeroes those entries instead of multiplying by them.
  const torch::Tensor error = (prediction - target).masked_fill(missing, 0.0);
  return error.square().sum(dims) / present_count(missing, dims);
}

torch::Tensor masked_bce_with_logits(const torch::Tensor& logits, const torch::Tensor& target,
                                     const torch::Tensor& pos_weight) {
  check_same_shape(logits, target, "masked_bce_with_logits");
  const auto dims = averaged_dims(target);
  const torch::Tensor missing = target.isnan();
  std::vector<std::int64_t> weight_shape{target.size(1)};
  for (std::int64_t d = 2; d < target.dim(); ++d) weight_shape.push_back(1);
  const torch::Tensor terms =
      torch::binary_cross_entropy_with_logits(logits, target.masked_fill(missing, 0.0),
                                              missing.logical_not().to(logits.scalar_type()),
                                              pos_weight.view(weight_shape), at::Reduction::None);
  return terms.sum(dims) / present_count(missing, dims);
}

torch::Tensor masked_cross_entropy(const torch::Tensor& logits, const torch::Tensor& target,
                                   const torch::Tensor& class_weight, double focal_gamma) {
  const torch::Tensor missing = target.isnan();
  const torch::Tensor classes = target.masked_fill(missing, 0.0).to(torch::kLong);
  torch::Tensor picked = torch::log_softmax(logits, 1).gather(1, classes.unsqueeze(1)).squeeze(1);
  const torch::Tensor weight =
      class_weight.index_select(0, classes.flatten()).view_as(classes).masked_fill(missing, 0.0);
  // The normaliser stays the class weights' sum, so gamma 0 is exactly the plain loss and a
  // larger gamma shrinks the easy terms rather than rescaling every one.
  if (focal_gamma > 0) picked = picked * (1 - picked.exp()).pow(focal_gamma);
  return -(picked * weight).sum() / weight.sum().clamp_min(1e-12);
}

struct MultitaskLoss::Terms {
  // Width-1 heads of one kind, evaluated together: their output and target columns.
  struct ColumnGroup {
    bool identity = false;  // outputs and targets are exactly these columns, in order
    torch::Tensor output_columns, target_columns, weight;
    torch::Tensor select_outputs(const torch::Tensor& outputs) const {
      return identity ? outputs : outputs.index_select(1, output_columns);
    }
    torch::Tensor select_targets(const torch::Tensor& targets) const {
      return identity ? targets : targets.index_select(1, target_columns);
    }
  };
  struct ClassTerm {
    std::int64_t output_offset = 0, width = 0, target_column = 0;
    double weight = 1.0;
    torch::Tensor class_weight;
    double focal_gamma = 0.0;
  };
  std::optional<ColumnGroup> regression, binary;
  torch::Tensor pos_weight;
  std::vector<ClassTerm> classes;
};

MultitaskLoss::MultitaskLoss(const std::vector<OutputHead>& heads, const std::vector<TargetSpec>& targets,
                             const torch::Tensor& fit_targets)
    : terms_(std::make_unique<Terms>()) {
  if (heads.size() != targets.size()) {
    throw std::invalid_argument(fmt::format("{} output heads for {} targets", heads.size(), targets.size()));
  }
  std::vector<std::int64_t> regression_out, regression_target, binary_out, binary_target;
  std::vector<float> regression_weight, binary_weight, pos_weight;
  std::int64_t offset = 0;
  for (std::size_t t = 0; t < heads.size(); ++t) {
    const OutputHead& head = heads[t];
    const TargetSpec& spec = targets[t];
    const torch::Tensor column = fit_targets.select(1, static_cast<std::int64_t>(t));
    if (head.task == TaskType::regression) {
      regression_out.push_back(offset);
      regression_target.push_back(static_cast<std::int64_t>(t));
      regression_weight.push_back(static_cast<float>(spec.weight));
    } else if (head.width == 1) {
      binary_out.push_back(offset);
      binary_target.push_back(static_cast<std::int64_t>(t));
      binary_weight.push_back(static_cast<float>(spec.weight));
      double weight = spec.pos_weight;
      if (weight <= 0) {
        const double positives = column.eq(1).sum().item<double>();
        const double negatives = column.eq(0).sum().item<double>();
        weight = positives > 0 && negatives > 0 ? negatives / positives : 1.0;
      }
      pos_weight.push_back(static_cast<float>(weight));
    } else if (head.task == TaskType::per_position && spec.pos_weight > 0) {
      // Boundaries of every kind weigh pos_weight times the background: balanced weights would
      // make a class of 1 position in 1500 count as much as the rest together, and the model
      // would call a boundary wherever one is faintly possible.
      torch::Tensor class_weight = torch::full({head.width}, static_cast<float>(spec.pos_weight), torch::kFloat);
      class_weight[0] = 1.0f;
      terms_->classes.push_back(
          {offset, head.width, static_cast<std::int64_t>(t), spec.weight, class_weight, spec.focal_gamma});
    } else {
      // Balanced weights (n / (K n_k)), so that rare classes count as much as common ones.
      const torch::Tensor present = column.masked_select(column.isnan().logical_not()).to(torch::kLong);
      const torch::Tensor counts = torch::bincount(present, {}, head.width).to(torch::kFloat);
      const double n = static_cast<double>(present.numel());
      const torch::Tensor class_weight =
          torch::where(counts > 0, n / (head.width * counts.clamp_min(1)), torch::ones_like(counts));
      terms_->classes.push_back(
          {offset, head.width, static_cast<std::int64_t>(t), spec.weight, class_weight, spec.focal_gamma});
    }
    offset += head.width;
  }
  const auto make_group = [&](const std::vector<std::int64_t>& out, const std::vector<std::int64_t>& target,
                              const std::vector<float>& weight) {
    Terms::ColumnGroup group;
    group.identity = static_cast<std::int64_t>(out.size()) == offset && out.size() == heads.size();
    group.output_columns = torch::tensor(out, torch::kLong);
    group.target_columns = torch::tensor(target, torch::kLong);
    group.weight = torch::tensor(weight, torch::kFloat);
    return group;
  };
  if (!regression_out.empty()) terms_->regression = make_group(regression_out, regression_target, regression_weight);
  if (!binary_out.empty()) {
    terms_->binary = make_group(binary_out, binary_target, binary_weight);
    terms_->pos_weight = torch::tensor(pos_weight, torch::kFloat);
  }
  // The loss's own tensors live where the targets it is fitted on live: the training device.
  const torch::Device device = fit_targets.device();
  for (std::optional<Terms::ColumnGroup>* group : {&terms_->regression, &terms_->binary}) {
    if (!*group) continue;
    (*group)->output_columns = (*group)->output_columns.to(device);
    (*group)->target_columns = (*group)->target_columns.to(device);
    (*group)->weight = (*group)->weight.to(device);
  }
  if (terms_->pos_weight.defined()) terms_->pos_weight = terms_->pos_weight.to(device);
  for (auto& c : terms_->classes) c.class_weight = c.class_weight.to(device);
}

MultitaskLoss::MultitaskLoss(MultitaskLoss&&) noexcept = default;
MultitaskLoss& MultitaskLoss::operator=(MultitaskLoss&&) noexcept = default;
MultitaskLoss::~MultitaskLoss() = default;

torch::Tensor MultitaskLoss::operator()(const torch::Tensor& outputs, const torch::Tensor& targets) const {
  torch::Tensor total;
  const auto add = [&total](const torch::Tensor& term) { total = total.defined() ? total + term : term; };
  if (const auto& g = terms_->regression) {
    add(masked_mse(g->select_outputs(outputs), g->select_targets(targets)).dot(g->weight));
  }
  if (const auto& g = terms_->binary) {
    add(masked_bce_with_logits(g->select_outputs(outputs), g->select_targets(targets), terms_->pos_weight)
            .dot(g->weight));
  }
  for (const auto& c : terms_->classes) {
    add(masked_cross_entropy(outputs.narrow(1, c.output_offset, c.width), targets.select(1, c.target_column),
                             c.class_weight, c.focal_gamma) *
        c.weight);
  }
  return total;
}

}  // namespace gridfold::worker
