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
      : t_(spec.training), data_(data), progress_(progress), checkpointing_(checkpointing), device_(device) {
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
        train_step(order_tensor.narrow(0, state_.position, count), device_order.narrow(0, state_.position, count));
        out.train_seconds += seconds_since(train_start);
        state_.position = std::min(state_.position + t_.batch_size, rows);
        if (t_.eval_every > 0 && state_.step % t_.eval_every == 0) validate(out);
        checkpoint_if_due(out);
      }
      if (t_.eval_every == 0) validate(out);
    }
    if (t_.eval_every > 0 && state_.step % t_.eval_every != 0 && !state_.stopped) {
      state_.epoch = t_.epochs;
      validate(out);
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
    const std::vector<std::int64_t> index(test_rows.begin(), test_rows.end());
    torch::Tensor outputs = predict_rows(*network_, inputs_, lengths_, row_tensor(index).to(device_), window_);
    if (outputs.defined()) outputs = outputs.cpu();  // scored against the dataset's raw targets
    for (const auto& head : data_.heads()) out.target_names.push_back(head.target);
    TestScores scores = score_rows(data_, standardizer_, test_rows, outputs);
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
  void train_step(const torch::Tensor& rows, const torch::Tensor& index) {
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
      throw TrainingError(
          fmt::format("training loss became {} at epoch {} step {} (lr {}); lower "
                      "training.lr or check the targets for extreme values",
                      value, state_.epoch, state_.step + 1, t_.lr));
    }
    loss.backward();
    optimizer_->step();
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
    if (validation_index_.numel() > 0) {
      const torch::Tensor outputs = predict_rows(*network_, inputs_, lengths_, validation_index_, window_);
      {
        torch::NoGradGuard no_grad;
        validation_loss = (*loss_)(outputs, validation_targets_).item<double>();
      }
      if (!std::isfinite(validation_loss)) {
        throw TrainingError(
            fmt::format("validation loss became {} at epoch {} step {} (lr {}); lower "
                        "training.lr or check the targets for extreme values",
                        validation_loss, state_.epoch, state_.step, t_.lr));
      }
      improved = validation_loss < state_.best_loss;
      if (improved) {
        state_.best_loss = validation_loss;
        state_.evaluations_since_best = 0;
        out.best_index = static_cast<int>(out.history_step.size());
        snapshot();
      } else if (t_.patience > 0 && ++state_.evaluations_since_best >= t_.patience) {
        state_.stopped = true;
      }
    }
    out.history_step.push_back(state_.step);
    out.history_epoch.push_back(static_cast<double>(state_.step) / static_cast<double>(steps_per_epoch_));
    out.train_loss.push_back(train_loss);
    out.validation_loss.push_back(validation_loss);
    out.eval_seconds += seconds_since(start);
    if (progress_) {
      progress_(
          {state_.epoch, t_.epochs, state_.step, train_loss, validation_loss, improved, validation_index_.size(0)});
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
