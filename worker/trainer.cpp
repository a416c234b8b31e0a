#include "worker/trainer.hpp"

#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <optional>
#include <random>

#include "common/encoding.hpp"
#include "worker/balanced_sampling.hpp"
#include "worker/checkpoint.hpp"
#include "worker/encoded_data.hpp"
#include "worker/flat_optimizer.hpp"
#include "worker/losses.hpp"
#include "worker/models.hpp"
#include "worker/row_prediction.hpp"
#include "worker/scoring.hpp"
#include "worker/seeding.hpp"
#include "worker/sequence_windows.hpp"

namespace gridfold::worker {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Balanced draws, in multiples of the fitting rows, that the loss's class weights are fitted on.
constexpr std::size_t kLossBalanceDraws = 20;

// The target whose classes training.balanced_sampling balances: the first binary or multiclass one.
std::optional<std::size_t> balanced_target(const std::vector<OutputHead>& heads) {
  for (std::size_t t = 0; t < heads.size(); ++t) {
    if (heads[t].task == TaskType::binary || heads[t].task == TaskType::multiclass) return t;
  }
  return std::nullopt;
}

void check_training_spec(const TrainingSpec& t, const EncodedData& data) {
  if (t.epochs < 1) throw SpecError(fmt::format("training.epochs is {}; it must be >= 1", t.epochs));
  if (t.batch_size < 1) throw SpecError(fmt::format("training.batch_size is {}; it must be >= 1", t.batch_size));
  if (!(t.lr > 0)) throw SpecError(fmt::format("training.lr is {}; it must be > 0", t.lr));
  if (!(t.validation_fraction >= 0 && t.validation_fraction < 1)) {
    throw SpecError(fmt::format("training.validation_fraction is {}; it must be in [0, 1)", t.validation_fraction));
  }
  if (t.eval_every < 0) throw SpecError(fmt::format("training.eval_every is {}; it must be >= 0", t.eval_every));
  if (!(t.reverse_complement >= 0 && t.reverse_complement <= 1)) {
    throw SpecError(
        fmt::format("training.reverse_complement is {}; it is a probability in [0, 1]", t.reverse_complement));
  }
  if (t.reverse_complement > 0 && data.per_position()) {
    throw SpecError(
        "training.reverse_complement would reverse the sequences but not their per-position "
        "labels; set it to 0 for per_position targets");
  }
  if (t.crop_length > 0 && !data.input_shape().is_sequence()) {
    throw SpecError(
        fmt::format("training.crop_length is {} but the data has feature columns, not sequences, "
                    "to crop; set it to 0",
                    t.crop_length));
  }
  if (t.crop_length > 0 && data.per_position()) {
    throw SpecError(
        "training.crop_length would crop the sequences but not their per-position labels; set it to 0 "
        "for per_position targets");
  }
  if (t.balanced_sampling && !balanced_target(data.heads())) {
    std::string targets;
    for (const auto& head : data.heads()) {
      targets += fmt::format("{}{} ({})", targets.empty() ? "" : ", ", head.target, to_string(head.task));
    }
    throw SpecError(
        fmt::format("training.balanced_sampling balances the classes of the first binary or multiclass "
                    "target, and data.targets has none: {}; set it to false",
                    targets));
  }
}

// The layer group a parameter belongs to: its name without the last component
// ("trunk.0.weight" -> "trunk.0"), or the whole name of a top-level parameter.
std::string layer_group(const std::string& parameter) {
  const auto dot = parameter.rfind('.');
  return dot == std::string::npos ? parameter : parameter.substr(0, dot);
}

torch::Tensor row_tensor(const std::vector<std::int64_t>& rows) {
  return torch::tensor(at::ArrayRef<std::int64_t>(rows), torch::kLong);
}

// Targets in the units the network learns: regression columns standardised with statistics
// of the fitting rows only, so no information leaks from validation or test rows.
std::optional<Standardizer> fit_standardizer(const ExperimentSpec& spec, const EncodedData& data,
                                             const std::vector<std::uint32_t>& fit_rows) {
  if (!spec.data.standardize_targets || data.per_position()) return std::nullopt;
  return Standardizer::fit(data.dataset().targets, fit_rows);
}

torch::Tensor learning_targets(const EncodedData& data, const std::optional<Standardizer>& standardizer) {
  if (!standardizer) return data.targets();
  torch::Tensor scaled = data.targets().clone();
  const auto& heads = data.heads();
  for (std::size_t t = 0; t < heads.size(); ++t) {
    if (heads[t].task != TaskType::regression) continue;
    scaled.select(1, static_cast<std::int64_t>(t)).sub_(standardizer->mean[t]).div_(standardizer->scale[t]);
  }
  return scaled;
}

// One task's training: state shared by the step loop and the validations.
class TrainingRun {
 public:
  TrainingRun(const ExperimentSpec& spec, const EncodedData& data, std::span<const std::uint32_t> train_rows,
              std::uint64_t seed, const ProgressCallback& progress, const Checkpointing& checkpointing,
              torch::Device device)
      : t_(spec.training),
        diagnostics_(spec.diagnostics),
        data_(data),
        progress_(progress),
        checkpointing_(checkpointing),
        device_(device) {
    state_.order_rng.seed(derive_seed(seed, SeedStream::batch_order));
    split(train_rows, derive_seed(seed, SeedStream::validation_split));
    standardizer_ = fit_standardizer(spec, data, fit_rows_);
    // The data goes to the device once per task (on the CPU these are the shared tensors
    // themselves); batches are then gathered there.
    inputs_ = data.inputs().to(device_);
    lengths_ = data.lengths().to(device_);
    targets_ = learning_targets(data, standardizer_).to(device_);

    const std::vector<std::int64_t> fit_index(fit_rows_.begin(), fit_rows_.end());
    const std::vector<std::int64_t> validation_index(validation_rows_.begin(), validation_rows_.end());
    validation_index_ = row_tensor(validation_index).to(device_);
    validation_targets_ = targets_.index_select(0, validation_index_);

    torch::manual_seed(derive_seed(seed, SeedStream::weights));
    window_ = window_length(t_.crop_length, data.input_shape().length);
    InputShape shape = data.input_shape();
    if (window_ > 0) shape.length = static_cast<int>(window_);
    network_ = build_network(spec.model, shape, data.heads());
    network_->move_to(device_);  // before the optimizer, whose flat buffers take its parameters' device
    if (t_.balanced_sampling) {
      const std::size_t target = *balanced_target(data.heads());
      balanced_.emplace(fit_rows_, data.dataset().targets[target]);
      if (balanced_->class_count() == 0) {
        throw TrainingError(
            fmt::format("training.balanced_sampling: no training row has a label for target '{}' "
                        "to balance",
                        data.heads()[target].target));
      }
    }
    // The loss weighs classes by the balance of the rows training sees: with balanced
    // sampling, that of balanced draws, or the classes would be corrected for twice.
    std::mt19937_64 loss_balance_rng(derive_seed(seed, SeedStream::loss_balance));
    const std::vector<std::int64_t> loss_rows =
        balanced_ ? balanced_->draw(kLossBalanceDraws * fit_rows_.size(), loss_balance_rng) : fit_index;
    loss_ = std::make_unique<MultitaskLoss>(data.heads(), spec.data.targets,
                                            targets_.index_select(0, row_tensor(loss_rows).to(device_)));
    optimizer_ = std::make_unique<FlatOptimizer>(t_, network_->parameters());
    if (diagnostics_.enabled) group_parameters();
    if (t_.reverse_complement > 0) reverse_inputs_ = data.reverse_complement_inputs().to(device_);

    const std::int64_t batch = t_.batch_size;
    batch_inputs_ = torch::empty(with_rows(inputs_, batch), inputs_.options());
    batch_lengths_ = torch::empty({batch}, lengths_.options());
    batch_targets_ = torch::empty(with_rows(targets_, batch), targets_.options());
  }

  TrainingOutcome run() {
    TrainingOutcome out;
    const auto n = static_cast<std::int64_t>(fit_rows_.size());
    if (n == 0) throw TrainingError("the training set is empty; the fold leaves no rows to train on");
    steps_per_epoch_ = (n + t_.batch_size - 1) / t_.batch_size;
    state_.order.assign(fit_rows_.begin(), fit_rows_.end());
    network_->set_training(true);

    // A resumed epoch continues in its saved order from the saved position.
    const bool resumed = restore_checkpoint(checkpointing_, *network_, *optimizer_, best_state_, state_, out);
    for (const auto& group : groups_) out.diagnostics.series.groups.push_back(group.name);
    const int resumed_epoch = state_.epoch;
    for (state_.epoch = resumed ? state_.epoch : 1; state_.epoch <= t_.epochs && !state_.stopped; ++state_.epoch) {
      if (!resumed || state_.epoch > resumed_epoch) {
        next_epoch_order();
        state_.position = 0;
      }
      const auto rows = static_cast<std::int64_t>(state_.order.size());
      const torch::Tensor order_tensor = torch::from_blob(state_.order.data(), {rows}, torch::kLong);
      const torch::Tensor device_order = order_tensor.to(device_);  // one copy per epoch, none on the CPU
      while (state_.position < rows && !state_.stopped) {
        const auto train_start = Clock::now();
        const std::int64_t count = std::min<std::int64_t>(t_.batch_size, rows - state_.position);
        // Diagnostics measure the step a validation follows, so only that step pays for them.
        const bool last_of_epoch = state_.position + count >= rows;
        const bool validation_follows =
            t_.eval_every > 0 ? (state_.step + 1) % t_.eval_every == 0 || (last_of_epoch && state_.epoch == t_.epochs)
                              : last_of_epoch;
        train_step(order_tensor.narrow(0, state_.position, count), device_order.narrow(0, state_.position, count),
                   diagnostics_.enabled && validation_follows, out);
        out.train_seconds += seconds_since(train_start);
        if (state_.stopped) break;  // the non_finite rule stopped training at this step
        state_.position = std::min(state_.position + t_.batch_size, rows);
        if (t_.eval_every > 0 && state_.step % t_.eval_every == 0) validate(out);
        checkpoint_if_due(out);
      }
      if (t_.eval_every == 0 && !state_.stopped) validate(out);
    }
    if (t_.eval_every > 0 && state_.step % t_.eval_every != 0 && !state_.stopped) {
      state_.epoch = t_.epochs;
      validate(out);
    }
    const auto& firings = out.diagnostics.firings;
    const auto stop = std::find_if(firings.begin(), firings.end(), [](const RuleFiring& f) {
      return f.action == RuleAction::stop && f.rule == DiagnosticRule::non_finite;
    });
    if (stop != firings.end() && best_state_.empty()) {
      throw TrainingError(
          fmt::format("the non_finite rule stopped training at epoch {} step {} (lr {}) on a value of {}, before any "
                      "validation kept weights to score; lower training.lr or check the targets for extreme values",
                      stop->epoch, stop->step, t_.lr, stop->value));
    }
    if (best_state_.empty()) {
      out.best_index = static_cast<int>(out.history_step.size()) - 1;
    } else {
      restore_best();
    }
    out.samples_trained = state_.samples_trained;
    return out;
  }

  void score(std::span<const std::uint32_t> test_rows, TrainingOutcome& out) {
    const auto start = Clock::now();
    out.thresholds.assign(data_.heads().size(), {});
    if (data_.per_position() && validation_index_.numel() > 0) {
      // The kept network's calls on the validation split set the decision rule; the test rows
      // never influence it.
      const torch::Tensor validation = predict_rows(*network_, inputs_, lengths_, validation_index_, window_).cpu();
      out.thresholds = choose_thresholds(data_, validation_rows_, validation);
    }
    const std::vector<std::int64_t> index(test_rows.begin(), test_rows.end());
    torch::Tensor outputs = predict_rows(*network_, inputs_, lengths_, row_tensor(index).to(device_), window_);
    if (outputs.defined()) outputs = outputs.cpu();  // scored against the dataset's raw targets
    for (const auto& head : data_.heads()) out.target_names.push_back(head.target);
    TestScores scores = score_rows(data_, standardizer_, test_rows, outputs, out.thresholds);
    out.metrics = std::move(scores.metrics);
    out.truth = std::move(scores.truth);
    out.prediction = std::move(scores.prediction);
    out.positions = std::move(scores.positions);
    out.eval_seconds += seconds_since(start);
    out.network = network_;
    out.standardizer = standardizer_;
  }

 private:
  // At a step boundary: saves when asked to or when checkpoint_every steps have passed, and
  // stops when asked to.
  void checkpoint_if_due(const TrainingOutcome& out) {
    const CheckpointRequest request = checkpointing_.request ? checkpointing_.request() : CheckpointRequest::none;
    const bool periodic = checkpointing_.every_steps > 0 && state_.step % checkpointing_.every_steps == 0;
    if (request == CheckpointRequest::none && !periodic) return;
    if (!checkpointing_.file.empty()) save_checkpoint(checkpointing_, *network_, *optimizer_, best_state_, state_, out);
    if (request == CheckpointRequest::save_and_stop) {
      throw TrainingInterrupted(fmt::format("training stopped on request at epoch {} step {}{}", state_.epoch,
                                            state_.step,
                                            checkpointing_.file.empty()
                                                ? ", without a checkpoint"
                                                : "; its checkpoint " + checkpointing_.file.string() + " resumes it"));
    }
  }

  // This epoch's rows in batch order: the fitting rows reshuffled, or as many class-balanced
  // draws with replacement.
  void next_epoch_order() {
    if (balanced_) {
      state_.order = balanced_->draw(fit_rows_.size(), state_.order_rng);
    } else {
      shuffle_in_place(state_.order, state_.order_rng);
    }
  }

  static std::vector<std::int64_t> with_rows(const torch::Tensor& t, std::int64_t rows) {
    std::vector<std::int64_t> sizes = t.sizes().vec();
    sizes[0] = rows;
    return sizes;
  }

  void split(std::span<const std::uint32_t> train_rows, std::uint64_t split_seed) {
    std::vector<std::uint32_t> rows(train_rows.begin(), train_rows.end());
    std::mt19937_64 rng(split_seed);
    shuffle_in_place(rows, rng);
    std::size_t validation = 0;
    if (t_.validation_fraction > 0 && rows.size() >= 2) {
      validation = static_cast<std::size_t>(std::llround(t_.validation_fraction * static_cast<double>(rows.size())));
      validation = std::clamp<std::size_t>(validation, 1, rows.size() - 1);
    }
    std::size_t evaluated = validation;
    if (t_.eval_max_samples > 0) evaluated = std::min<std::size_t>(validation, t_.eval_max_samples);
    validation_rows_.assign(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(evaluated));
    fit_rows_.assign(rows.begin() + static_cast<std::ptrdiff_t>(validation), rows.end());
    std::sort(validation_rows_.begin(), validation_rows_.end());
    std::sort(fit_rows_.begin(), fit_rows_.end());
  }

  // Gathers the batch into preallocated buffers (a full batch never allocates its inputs).
  // `rows` is the batch's row indices on the CPU, where crops and strand flips are drawn;
  // `index` the same on the training device.
  // `diagnose`: measure the gradients, the update and the weights of this step for the
  // validation that follows it. A non-finite loss ends training through the non_finite rule
  // when its action is stop (recorded in `out`, state_.stopped set, no step taken), and
  // throws TrainingError otherwise.
  void train_step(const torch::Tensor& rows, const torch::Tensor& index, bool diagnose, TrainingOutcome& out) {
    const std::int64_t count = index.size(0);
    torch::Tensor inputs, lengths, targets;
    torch::Tensor starts;
    if (window_ > 0) {  // each row's random window replaces the whole sequence
      lengths = data_.lengths().index_select(0, rows);
      starts = draw_window_starts(lengths, window_, state_.order_rng).to(device_);
      inputs = gather_windows(inputs_, index, starts, window_);
      lengths = lengths.clamp_max(window_).to(device_);
      targets = targets_.index_select(0, index);
    } else if (count == t_.batch_size) {
      inputs = torch::index_select_out(batch_inputs_, inputs_, 0, index);
      lengths = torch::index_select_out(batch_lengths_, lengths_, 0, index);
      targets = torch::index_select_out(batch_targets_, targets_, 0, index);
    } else {
      inputs = inputs_.index_select(0, index);
      lengths = lengths_.index_select(0, index);
      targets = targets_.index_select(0, index);
    }
    if (reverse_inputs_.defined()) flip_strands(inputs, rows, starts);

    optimizer_->zero_grad();
    const torch::Tensor loss = (*loss_)(network_->forward(inputs, lengths), targets);
    const double value = loss.item<double>();
    if (!std::isfinite(value)) {
      if (diagnostics_.action(DiagnosticRule::non_finite) == RuleAction::stop) {
        out.diagnostics.firings.push_back({DiagnosticRule::non_finite,
                                           static_cast<std::int64_t>(out.history_step.size()), state_.epoch,
                                           state_.step + 1, value, RuleAction::stop});
        state_.stopped = true;
        return;
      }
      throw TrainingError(
          fmt::format("training loss became {} at epoch {} step {} (lr {}); lower "
                      "training.lr or check the targets for extreme values",
                      value, state_.epoch, state_.step + 1, t_.lr));
    }
    loss.backward();
    if (diagnose) measure_gradients();
    optimizer_->step();
    if (diagnose) measure_update();
    ++state_.step;
    state_.samples_trained += static_cast<std::uint64_t>(count);
    state_.running_loss += value * static_cast<double>(count);
    state_.running_samples += static_cast<double>(count);
  }

  // Reverse-complement augmentation: swaps in the other strand for a random subset of rows;
  // with crops, the window at the same start of the other strand, which is the reverse
  // complement of a forward window drawn just as uniformly.
  void flip_strands(torch::Tensor& inputs, const torch::Tensor& batch_rows, const torch::Tensor& starts) {
    std::vector<std::int64_t> flipped;
    const auto* rows = batch_rows.data_ptr<std::int64_t>();
    std::vector<std::int64_t> sources;
    for (std::int64_t i = 0; i < batch_rows.size(0); ++i) {
      if (static_cast<double>(state_.order_rng() >> 11) * 0x1.0p-53 < t_.reverse_complement) {
        flipped.push_back(i);
        sources.push_back(rows[i]);
      }
    }
    if (flipped.empty()) return;
    const torch::Tensor flipped_rows = row_tensor(flipped).to(device_), source_rows = row_tensor(sources).to(device_);
    inputs.index_copy_(0, flipped_rows,
                       starts.defined()
                           ? gather_windows(reverse_inputs_, source_rows, starts.index_select(0, flipped_rows), window_)
                           : reverse_inputs_.index_select(0, source_rows));
  }

  void validate(TrainingOutcome& out) {
    const auto start = Clock::now();
    const double train_loss = state_.running_samples > 0 ? state_.running_loss / state_.running_samples : std::nan("");
    state_.running_loss = state_.running_samples = 0;
    double validation_loss = std::numeric_limits<double>::quiet_NaN();
    bool improved = false;
    double dead_relu = std::numeric_limits<double>::quiet_NaN();
    if (validation_index_.numel() > 0) {
      if (diagnostics_.enabled) network_->watch_relus(true);
      const torch::Tensor outputs = predict_rows(*network_, inputs_, lengths_, validation_index_, window_);
      if (diagnostics_.enabled) {
        dead_relu = network_->dead_relu_share();
        network_->watch_relus(false);
      }
      {
        torch::NoGradGuard no_grad;
        validation_loss = (*loss_)(outputs, validation_targets_).item<double>();
      }
      if (!std::isfinite(validation_loss) && diagnostics_.action(DiagnosticRule::non_finite) != RuleAction::stop) {
        throw TrainingError(
            fmt::format("validation loss became {} at epoch {} step {} (lr {}); lower "
                        "training.lr or check the targets for extreme values",
                        validation_loss, state_.epoch, state_.step, t_.lr));
      }
      // A non-finite loss that gets this far is the non_finite rule's to stop on (diagnose()).
      improved = std::isfinite(validation_loss) && validation_loss < state_.best_loss;
      if (improved) {
        state_.best_loss = validation_loss;
        state_.evaluations_since_best = 0;
        out.best_index = static_cast<int>(out.history_step.size());
        snapshot();
      } else if (std::isfinite(validation_loss) && t_.patience > 0 && ++state_.evaluations_since_best >= t_.patience) {
        state_.stopped = true;
      }
    }
    out.history_step.push_back(state_.step);
    out.history_epoch.push_back(static_cast<double>(state_.step) / static_cast<double>(steps_per_epoch_));
    out.train_loss.push_back(train_loss);
    out.validation_loss.push_back(validation_loss);
    if (diagnostics_.enabled) diagnose(out, dead_relu);
    out.eval_seconds += seconds_since(start);
    if (progress_) {
      progress_(
          {state_.epoch, t_.epochs, state_.step, train_loss, validation_loss, improved, validation_index_.size(0)});
    }
  }

  // Layer groups over the optimizer's flat buffers; parameters() come in the order of the
  // buffers and of the first names of state_names().
  void group_parameters() {
    const std::vector<torch::Tensor> parameters = network_->parameters();
    const std::vector<std::string> names = network_->state_names();
    std::int64_t offset = 0;
    for (std::size_t i = 0; i < parameters.size(); ++i) {
      const std::string name = layer_group(names.at(i));
      auto group = std::find_if(groups_.begin(), groups_.end(), [&](const auto& g) { return g.name == name; });
      if (group == groups_.end()) group = groups_.insert(groups_.end(), {name, {}});
      group->slices.emplace_back(offset, parameters[i].numel());
      offset += parameters[i].numel();
    }
  }

  // [groups] squared norms of `flat`'s group slices, on its device.
  torch::Tensor group_squares(const torch::Tensor& flat) const {
    std::vector<torch::Tensor> squares;
    for (const auto& group : groups_) {
      torch::Tensor sum = torch::zeros({}, flat.options());
      for (const auto& [offset, size] : group.slices) sum += flat.narrow(0, offset, size).square().sum();
      squares.push_back(sum);
    }
    return squares.empty() ? torch::zeros({0}, flat.options()) : torch::stack(squares);
  }

  // Before the optimizer's step, which may reuse the gradient buffer: the gradients' norms,
  // and the weights the update is measured from.
  void measure_gradients() {
    torch::NoGradGuard no_grad;
    gradient_squares_ = group_squares(optimizer_->gradients());
    if (!weights_before_.defined()) weights_before_ = torch::empty_like(optimizer_->values());
    weights_before_.copy_(optimizer_->values());
  }

  // After the step: the update's and the weights' norms, brought to the CPU in one transfer.
  void measure_update() {
    torch::NoGradGuard no_grad;
    const torch::Tensor update = weights_before_.sub_(optimizer_->values());  // minus the update: same norms
    const torch::Tensor rows =
        torch::stack({gradient_squares_, group_squares(update), group_squares(optimizer_->values())});
    const torch::Tensor measured = rows.to(torch::kCPU, torch::kDouble).contiguous();
    measured_.assign(measured.data_ptr<double>(), measured.data_ptr<double>() + measured.numel());
  }

  // Appends this validation's measurements to out.diagnostics and fires the rules on them; a
  // firing rule with action stop ends training.
  void diagnose(TrainingOutcome& out, double dead_relu) {
    DiagnosticSeries& s = out.diagnostics.series;
    const std::size_t groups = groups_.size();
    const double nan = std::numeric_limits<double>::quiet_NaN();
    // Measured at the step before (always one: a validation follows a step).
    const bool measured = measured_.size() == 3 * groups;
    double gradient = 0, update = 0, weight = 0;
    for (std::size_t g = 0; g < groups; ++g) {
      const double gradient_g = measured ? measured_[g] : nan, update_g = measured ? measured_[groups + g] : nan;
      const double weight_g = measured ? measured_[2 * groups + g] : nan;
      gradient += gradient_g;
      update += update_g;
      weight += weight_g;
      s.group_gradient_norm.push_back(static_cast<float>(std::sqrt(gradient_g)));
      s.group_weight_norm.push_back(static_cast<float>(std::sqrt(weight_g)));
      s.group_update_ratio.push_back(static_cast<float>(std::sqrt(update_g / weight_g)));
    }
    measured_.clear();
    s.step.push_back(state_.step);
    s.gradient_norm.push_back(measured ? std::sqrt(gradient) : nan);
    s.weight_norm.push_back(measured ? std::sqrt(weight) : nan);
    s.update_ratio.push_back(measured ? std::sqrt(update / weight) : nan);
    s.learning_rate.push_back(optimizer_->lr());
    s.dead_relu.push_back(dead_relu);
    const RuleInputs inputs{out.train_loss, out.validation_loss, s.gradient_norm, s.weight_norm,
                            validation_index_.numel() > 0};
    for (const RuleFiring& firing : rules_firing_at(diagnostics_, inputs, s.size() - 1, state_.epoch, state_.step)) {
      out.diagnostics.firings.push_back(firing);
      if (firing.action == RuleAction::stop) state_.stopped = true;
    }
  }

  // Copies into tensors allocated once, so keeping the best weights costs no allocations.
  void snapshot() {
    torch::NoGradGuard no_grad;
    const std::vector<torch::Tensor> state = network_->state();
    if (best_state_.empty()) {
      for (const auto& s : state) best_state_.push_back(s.detach().clone());
      return;
    }
    for (std::size_t i = 0; i < state.size(); ++i) best_state_[i].copy_(state[i]);
  }

  void restore_best() {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> state = network_->state();
    for (std::size_t i = 0; i < state.size(); ++i) state[i].copy_(best_state_[i]);
  }

  const TrainingSpec& t_;
  const DiagnosticsSpec& diagnostics_;
  const EncodedData& data_;
  const ProgressCallback& progress_;
  const Checkpointing& checkpointing_;
  std::vector<std::uint32_t> fit_rows_, validation_rows_;
  std::optional<Standardizer> standardizer_;
  torch::Device device_;
  // On device_: the data's inputs, lengths and learning targets, and the strand flips' inputs.
  torch::Tensor inputs_, lengths_, targets_, validation_index_, validation_targets_, reverse_inputs_;
  torch::Tensor batch_inputs_, batch_lengths_, batch_targets_;
  std::int64_t window_ = 0;  // crop length the network trains on; 0: whole sequences
  std::optional<BalancedSampler> balanced_;
  std::shared_ptr<Network> network_;
  std::unique_ptr<MultitaskLoss> loss_;
  std::unique_ptr<FlatOptimizer> optimizer_;
  std::vector<torch::Tensor> best_state_;
  TrainingState state_;  // everything else a checkpoint holds: epoch, step, batch order, early stopping
  std::int64_t steps_per_epoch_ = 1;
  // Training diagnostics: the layer groups (each a name and its slices of the flat parameter
  // buffer: offset, size), the weights before a diagnosed step, and that step's measurements
  // ([gradient; update; weight] squared norms per group) until the validation after it.
  struct ParameterGroup {
    std::string name;
    std::vector<std::pair<std::int64_t, std::int64_t>> slices;
  };
  std::vector<ParameterGroup> groups_;
  torch::Tensor weights_before_, gradient_squares_;
  std::vector<double> measured_;
};

}  // namespace

TrainingOutcome train_and_evaluate(const ExperimentSpec& spec, const EncodedData& data,
                                   std::span<const std::uint32_t> train_rows, std::span<const std::uint32_t> test_rows,
                                   std::uint64_t seed, const ProgressCallback& progress,
                                   const Checkpointing& checkpointing, const ComputeDevice& device) {
  check_training_spec(spec.training, data);
  if (spec.data.targets.size() != data.heads().size()) {
    throw SpecError(fmt::format("the spec lists {} targets but the encoded data has {}", spec.data.targets.size(),
                                data.heads().size()));
  }
  TrainingRun run(spec, data, train_rows, seed, progress, checkpointing,
                  device.cuda ? torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(device.index))
                              : torch::Device(torch::kCPU));
  TrainingOutcome out = run.run();
  run.score(test_rows, out);
  return out;
}

}  // namespace gridfold::worker
