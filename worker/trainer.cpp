#include "worker/trainer.hpp"

#include <fmt/format.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <limits>
#include <optional>
#include <random>
#include <sstream>

#include "common/atomic_file.hpp"
#include "common/boundary_tally.hpp"
#include "common/encoding.hpp"
#include "worker/balanced_sampling.hpp"
#include "worker/encoded_data.hpp"
#include "worker/flat_optimizer.hpp"
#include "worker/losses.hpp"
#include "worker/models.hpp"
#include "worker/sequence_windows.hpp"

namespace gridfold::worker {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// splitmix64: independent, reproducible streams (split, weights, batch order) from one seed.
std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t stream) {
  std::uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (stream + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Fisher-Yates with modulo draws: std::shuffle's algorithm differs between standard
// libraries, and a task must split and batch identically on every cluster.
template <typename T>
void shuffle_in_place(std::vector<T>& values, std::mt19937_64& rng) {
  for (std::size_t i = values.size(); i > 1; --i) std::swap(values[i - 1], values[rng() % i]);
}

constexpr std::int64_t kEvaluationChunk = 1024;
constexpr std::uint64_t kSplitStream = 1, kWeightStream = 2, kOrderStream = 3, kLossBalanceStream = 4;
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
    throw SpecError(fmt::format("training.reverse_complement is {}; it is a probability in [0, 1]",
                                t.reverse_complement));
  }
  if (t.reverse_complement > 0 && data.per_position()) {
    throw SpecError("training.reverse_complement would reverse the sequences but not their per-position "
                    "labels; set it to 0 for per_position targets");
  }
  if (t.crop_length > 0 && !data.input_shape().is_sequence()) {
    throw SpecError(fmt::format("training.crop_length is {} but the data has feature columns, not sequences, "
                                "to crop; set it to 0",
                                t.crop_length));
  }
  if (t.crop_length > 0 && data.per_position()) {
    throw SpecError("training.crop_length would crop the sequences but not their per-position labels; set it to 0 "
                    "for per_position targets");
  }
  if (t.balanced_sampling && !balanced_target(data.heads())) {
    std::string targets;
    for (const auto& head : data.heads()) targets += fmt::format("{}{} ({})", targets.empty() ? "" : ", ", head.target, to_string(head.task));
    throw SpecError(fmt::format("training.balanced_sampling balances the classes of the first binary or multiclass "
                                "target, and data.targets has none: {}; set it to false",
                                targets));
  }
}

// Bumped whenever the checkpoint's contents change; older checkpoints are then ignored.
constexpr std::int64_t kCheckpointFormat = 1;

template <typename T>
torch::Tensor saved_values(const std::vector<T>& values, torch::ScalarType type) {
  return torch::from_blob(const_cast<T*>(values.data()), {static_cast<std::int64_t>(values.size())}, type).clone();
}

template <typename T>
std::vector<T> restored_values(const torch::Tensor& tensor) {
  const torch::Tensor values = tensor.contiguous();
  return std::vector<T>(values.data_ptr<T>(), values.data_ptr<T>() + values.numel());
}

torch::Tensor row_tensor(const std::vector<std::int64_t>& rows) {
  return torch::tensor(at::ArrayRef<std::int64_t>(rows), torch::kLong);
}

// The network's outputs for `rows`, in evaluation mode and without autograd, a chunk at a
// time so that memory stays bounded for large test sets. A network trained on crops
// (window > 0) sees windows of that length only: its output for a row is the mean over
// tiles covering the whole sequence.
torch::Tensor predict_rows(Network& network, const EncodedData& data, const torch::Tensor& rows, std::int64_t window) {
  torch::NoGradGuard no_grad;
  network.set_training(false);
  torch::Tensor outputs;
  if (window > 0) {
    outputs = predict_tiled(network, data.inputs(), data.lengths(), rows, window, kEvaluationChunk);
  } else {
    std::vector<torch::Tensor> chunks;
    const std::int64_t n = rows.size(0);
    for (std::int64_t start = 0; start < n; start += kEvaluationChunk) {
      const torch::Tensor index = rows.narrow(0, start, std::min(kEvaluationChunk, n - start));
      chunks.push_back(network.forward(data.inputs().index_select(0, index), data.lengths().index_select(0, index)));
    }
    if (!chunks.empty()) outputs = chunks.size() == 1 ? chunks.front() : torch::cat(chunks, 0);
  }
  network.set_training(true);
  return outputs;
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
    scaled.select(1, static_cast<std::int64_t>(t))
        .sub_(standardizer->mean[t])
        .div_(standardizer->scale[t]);
  }
  return scaled;
}

// The true and predicted class at every position of the test rows (labels and values
// [row][position], NaN where the truth is unknown), for the fold result: harvest scores
// boundaries along the window from them. Width-1 heads predict class 1 from probability 0.5.
PositionLabels position_labels(const EncodedData& data, std::size_t t, const torch::Tensor& row_index,
                               const torch::Tensor& labels, const torch::Tensor& values) {
  const OutputHead& head = data.heads()[t];
  const TargetSpec& target = data.spec().targets[t];
  PositionLabels out;
  out.target = head.target;
  out.tolerance = target.tolerance;
  out.classes = target.classes;
  if (out.classes.empty()) {
    for (int c = 0; c < std::max(head.width, 2); ++c) out.classes.push_back(std::to_string(c));
  }
  out.width = static_cast<std::size_t>(labels.size(1));
  const torch::Tensor unknown = labels.isnan();
  const torch::Tensor classes = head.width == 1 ? values.ge(0.5) : values;
  const torch::Tensor truth = labels.masked_fill(unknown, kNoLabel).to(torch::kUInt8).contiguous();
  const torch::Tensor prediction = classes.to(torch::kUInt8).masked_fill(unknown, kNoLabel).contiguous();
  const torch::Tensor lengths = data.lengths().index_select(0, row_index).to(torch::kInt).contiguous();
  out.truth.assign(truth.data_ptr<std::uint8_t>(), truth.data_ptr<std::uint8_t>() + truth.numel());
  out.prediction.assign(prediction.data_ptr<std::uint8_t>(), prediction.data_ptr<std::uint8_t>() + prediction.numel());
  out.lengths.assign(lengths.data_ptr<std::int32_t>(), lengths.data_ptr<std::int32_t>() + lengths.numel());
  return out;
}

void fill_scores(const EncodedData& data, const std::optional<Standardizer>& standardizer,
                 std::span<const std::uint32_t> rows, const torch::Tensor& outputs, TrainingOutcome& out) {
  const auto& heads = data.heads();
  const std::size_t targets = heads.size();
  const std::size_t n = rows.size();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  out.truth.assign(n * targets, nan);
  out.prediction.assign(n * targets, nan);
  if (n == 0) return;

  const torch::Tensor row_index = torch::tensor(
      std::vector<std::int64_t>(rows.begin(), rows.end()), torch::kLong);
  std::int64_t offset = 0;
  for (std::size_t t = 0; t < targets; ++t) {
    const OutputHead& head = heads[t];
    const torch::Tensor block = outputs.narrow(1, offset, head.width);
    offset += head.width;
    std::vector<double> truth, predicted;
    if (head.task == TaskType::per_position) {
      const torch::Tensor labels = data.targets().index_select(0, row_index).select(1, static_cast<std::int64_t>(t));
      const torch::Tensor present = labels.isnan().logical_not();
      const torch::Tensor values = head.width == 1 ? torch::sigmoid(block.squeeze(1)) : block.argmax(1).to(torch::kFloat);
      const torch::Tensor truth_t = labels.masked_select(present).to(torch::kDouble).contiguous();
      const torch::Tensor pred_t = values.masked_select(present).to(torch::kDouble).contiguous();
      truth.assign(truth_t.data_ptr<double>(), truth_t.data_ptr<double>() + truth_t.numel());
      predicted.assign(pred_t.data_ptr<double>(), pred_t.data_ptr<double>() + pred_t.numel());
      out.metrics[head.target] = head.width == 1 ? binary_metrics(truth, predicted)
                                                 : multiclass_metrics(truth, predicted, static_cast<std::size_t>(head.width));
      out.positions.push_back(position_labels(data, t, row_index, labels, values));
      for (const auto& [name, value] : boundary_metrics(out.positions.back())) out.metrics[head.target][name] = value;
      continue;
    }
    torch::Tensor values;
    if (head.task == TaskType::binary) {
      values = torch::sigmoid(block.squeeze(1));
    } else if (head.task == TaskType::multiclass) {
      values = block.argmax(1).to(torch::kFloat);
    } else {
      values = block.squeeze(1);
    }
    values = values.contiguous();
    const float* v = values.data_ptr<float>();
    const auto& column = data.dataset().targets[t];
    truth.resize(n);
    predicted.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      const float prediction = head.task == TaskType::regression && standardizer ? standardizer->inverse(t, v[i]) : v[i];
      out.truth[i * targets + t] = column[rows[i]];
      out.prediction[i * targets + t] = prediction;
      truth[i] = column[rows[i]];
      predicted[i] = prediction;
    }
    switch (head.task) {
      case TaskType::regression:
        out.metrics[head.target] = regression_metrics(truth, predicted);
        break;
      case TaskType::binary:
        out.metrics[head.target] = binary_metrics(truth, predicted);
        break;
      case TaskType::multiclass:
        out.metrics[head.target] = multiclass_metrics(truth, predicted, static_cast<std::size_t>(head.width));
        break;
      case TaskType::per_position:
        break;
    }
  }
}

// One task's training: state shared by the step loop and the validations.
class TrainingRun {
 public:
  TrainingRun(const ExperimentSpec& spec, const EncodedData& data, std::span<const std::uint32_t> train_rows,
              std::uint64_t seed, const ProgressCallback& progress, const Checkpointing& checkpointing)
      : t_(spec.training), data_(data), progress_(progress), checkpointing_(checkpointing),
        order_rng_(derive_seed(seed, kOrderStream)) {
    split(train_rows, derive_seed(seed, kSplitStream));
    standardizer_ = fit_standardizer(spec, data, fit_rows_);
    targets_ = learning_targets(data, standardizer_);

    const std::vector<std::int64_t> fit_index(fit_rows_.begin(), fit_rows_.end());
    const std::vector<std::int64_t> validation_index(validation_rows_.begin(), validation_rows_.end());
    validation_index_ = row_tensor(validation_index);
    validation_targets_ = targets_.index_select(0, validation_index_);

    torch::manual_seed(derive_seed(seed, kWeightStream));
    window_ = window_length(t_.crop_length, data.input_shape().length);
    InputShape shape = data.input_shape();
    if (window_ > 0) shape.length = static_cast<int>(window_);
    network_ = build_network(spec.model, shape, data.heads());
    if (t_.balanced_sampling) {
      const std::size_t target = *balanced_target(data.heads());
      balanced_.emplace(fit_rows_, data.dataset().targets[target]);
      if (balanced_->class_count() == 0) {
        throw TrainingError(fmt::format("training.balanced_sampling: no training row has a label for target '{}' "
                                        "to balance",
                                        data.heads()[target].target));
      }
    }
    // The loss weighs classes by the balance of the rows training sees: with balanced
    // sampling, that of balanced draws, or the classes would be corrected for twice.
    std::mt19937_64 loss_balance_rng(derive_seed(seed, kLossBalanceStream));
    const std::vector<std::int64_t> loss_rows =
        balanced_ ? balanced_->draw(kLossBalanceDraws * fit_rows_.size(), loss_balance_rng) : fit_index;
    loss_ = std::make_unique<MultitaskLoss>(data.heads(), spec.data.targets,
                                            targets_.index_select(0, row_tensor(loss_rows)));
    optimizer_ = std::make_unique<FlatOptimizer>(t_, network_->parameters());
    if (t_.reverse_complement > 0) reverse_inputs_ = data.reverse_complement_inputs();

    const std::int64_t batch = t_.batch_size;
    batch_inputs_ = torch::empty(with_rows(data.inputs(), batch), data.inputs().options());
    batch_lengths_ = torch::empty({batch}, torch::kLong);
    batch_targets_ = torch::empty(with_rows(targets_, batch), targets_.options());
  }

  TrainingOutcome run() {
    TrainingOutcome out;
    const auto n = static_cast<std::int64_t>(fit_rows_.size());
    if (n == 0) throw TrainingError("the training set is empty; the fold leaves no rows to train on");
    steps_per_epoch_ = (n + t_.batch_size - 1) / t_.batch_size;
    order_.assign(fit_rows_.begin(), fit_rows_.end());
    network_->set_training(true);

    // A resumed epoch continues in its saved order from the saved position.
    std::int64_t position = 0;
    const bool resumed = resume(out, position);
    for (epoch_ = resumed ? epoch_ : 1; epoch_ <= t_.epochs && !stopped_; ++epoch_) {
      if (!resumed || epoch_ > resumed_epoch_) {
        next_epoch_order();
        position = 0;
      }
      const auto rows = static_cast<std::int64_t>(order_.size());
      const torch::Tensor order_tensor = torch::from_blob(order_.data(), {rows}, torch::kLong);
      for (; position < rows && !stopped_;) {
        const auto train_start = Clock::now();
        train_step(order_tensor.narrow(0, position, std::min<std::int64_t>(t_.batch_size, rows - position)));
        out.train_seconds += seconds_since(train_start);
        position += t_.batch_size;
        if (t_.eval_every > 0 && step_ % t_.eval_every == 0) validate(out);
        checkpoint_if_due(out, std::min(position, rows));
      }
      if (t_.eval_every == 0) validate(out);
    }
    if (t_.eval_every > 0 && step_ % t_.eval_every != 0 && !stopped_) {
      epoch_ = t_.epochs;
      validate(out);
    }
    if (best_state_.empty()) {
      out.best_index = static_cast<int>(out.history_step.size()) - 1;
    } else {
      restore_best();
    }
    out.samples_trained = samples_trained_;
    return out;
  }

  void score(std::span<const std::uint32_t> test_rows, TrainingOutcome& out) {
    const auto start = Clock::now();
    const std::vector<std::int64_t> index(test_rows.begin(), test_rows.end());
    const torch::Tensor outputs = predict_rows(*network_, data_, row_tensor(index), window_);
    for (const auto& head : data_.heads()) out.target_names.push_back(head.target);
    fill_scores(data_, standardizer_, test_rows, outputs, out);
    out.eval_seconds += seconds_since(start);
    out.network = network_;
    out.standardizer = standardizer_;
  }

 private:
  // At a step boundary: saves when asked to or when checkpoint_every steps have passed, and
  // stops when asked to. `position` is where the epoch's next batch starts.
  void checkpoint_if_due(const TrainingOutcome& out, std::int64_t position) {
    const CheckpointRequest request = checkpointing_.request ? checkpointing_.request() : CheckpointRequest::none;
    const bool periodic = checkpointing_.every_steps > 0 && step_ % checkpointing_.every_steps == 0;
    if (request == CheckpointRequest::none && !periodic) return;
    if (!checkpointing_.file.empty()) save_checkpoint(out, position);
    if (request == CheckpointRequest::save_and_stop) {
      throw TrainingInterrupted(fmt::format("training stopped on request at epoch {} step {}{}", epoch_, step_,
                                            checkpointing_.file.empty()
                                                ? ", without a checkpoint"
                                                : "; its checkpoint " + checkpointing_.file.string() + " resumes it"));
    }
  }

  // Serialised in memory first, so the file appears complete under its name or not at all.
  void save_checkpoint(const TrainingOutcome& out, std::int64_t position) {
    torch::serialize::OutputArchive archive;
    archive.write("format", c10::IValue(kCheckpointFormat));
    archive.write("identity", c10::IValue(checkpointing_.identity));
    const std::vector<torch::Tensor> state = network_->state();
    for (std::size_t i = 0; i < state.size(); ++i) archive.write(fmt::format("network/{}", i), state[i].detach());
    optimizer_->save(archive, "optimizer/");
    archive.write("best/count", c10::IValue(static_cast<std::int64_t>(best_state_.size())));
    for (std::size_t i = 0; i < best_state_.size(); ++i) archive.write(fmt::format("best/{}", i), best_state_[i]);
    archive.write("best/loss", c10::IValue(best_loss_));
    archive.write("best/index", c10::IValue(static_cast<std::int64_t>(out.best_index)));
    archive.write("evaluations_since_best", c10::IValue(static_cast<std::int64_t>(evaluations_since_best_)));
    archive.write("stopped", c10::IValue(stopped_));
    archive.write("epoch", c10::IValue(static_cast<std::int64_t>(epoch_)));
    archive.write("step", c10::IValue(step_));
    archive.write("position", c10::IValue(position));
    archive.write("order", saved_values(order_, torch::kLong));
    std::ostringstream rng;
    rng << order_rng_;
    archive.write("order_rng", c10::IValue(rng.str()));
    {
      auto generator = at::detail::getDefaultCPUGenerator();
      const std::lock_guard lock(generator.mutex());
      archive.write("torch_rng", generator.get_state());
    }
    archive.write("samples_trained", c10::IValue(static_cast<std::int64_t>(samples_trained_)));
    archive.write("running_loss", c10::IValue(running_loss_));
    archive.write("running_samples", c10::IValue(running_samples_));
    archive.write("train_seconds", c10::IValue(out.train_seconds));
    archive.write("eval_seconds", c10::IValue(out.eval_seconds));
    archive.write("history/step", saved_values(out.history_step, torch::kLong));
    archive.write("history/epoch", saved_values(out.history_epoch, torch::kDouble));
    archive.write("history/train_loss", saved_values(out.train_loss, torch::kDouble));
    archive.write("history/validation_loss", saved_values(out.validation_loss, torch::kDouble));
    std::ostringstream bytes;
    archive.save_to(bytes);
    std::filesystem::create_directories(checkpointing_.file.parent_path());
    write_text_atomically(checkpointing_.file, bytes.str());
  }

  // Restores the state of a checkpoint written for this task; false (and a report saying
  // why) when there is none that fits.
  bool resume(TrainingOutcome& out, std::int64_t& position) {
    const auto report = [&](const std::string& line) {
      if (checkpointing_.report) checkpointing_.report(line);
    };
    if (checkpointing_.file.empty() || !std::filesystem::exists(checkpointing_.file)) return false;
    const std::string file = checkpointing_.file.string();
    torch::serialize::InputArchive archive;
    c10::IValue format, identity;
    try {
      archive.load_from(file);
      archive.read("format", format);
      archive.read("identity", identity);
    } catch (const c10::Error& e) {
      report(fmt::format("ignoring checkpoint {}: it cannot be read ({}); training from the start", file,
                         e.what_without_backtrace()));
      return false;
    }
    if (format.toInt() != kCheckpointFormat || identity.toStringRef() != checkpointing_.identity) {
      report(fmt::format("ignoring checkpoint {}: it was written for '{}' (format {}), not for '{}' (format {}); "
                         "training from the start",
                         file, identity.toStringRef(), format.toInt(), checkpointing_.identity, kCheckpointFormat));
      return false;
    }
    const auto read = [&](const std::string& key) {
      c10::IValue value;
      archive.read(key, value);
      return value;
    };
    const auto read_tensor = [&](const std::string& key) {
      torch::Tensor value;
      archive.read(key, value);
      return value;
    };
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> state = network_->state();
    for (std::size_t i = 0; i < state.size(); ++i) state[i].copy_(read_tensor(fmt::format("network/{}", i)));
    optimizer_->load(archive, "optimizer/");
    best_state_.clear();
    for (std::int64_t i = 0; i < read("best/count").toInt(); ++i) {
      best_state_.push_back(read_tensor(fmt::format("best/{}", i)));
    }
    best_loss_ = read("best/loss").toDouble();
    out.best_index = static_cast<int>(read("best/index").toInt());
    evaluations_since_best_ = static_cast<int>(read("evaluations_since_best").toInt());
    stopped_ = read("stopped").toBool();
    epoch_ = resumed_epoch_ = static_cast<int>(read("epoch").toInt());
    step_ = read("step").toInt();
    position = read("position").toInt();
    order_ = restored_values<std::int64_t>(read_tensor("order"));
    std::istringstream rng(read("order_rng").toStringRef());
    rng >> order_rng_;
    {
      auto generator = at::detail::getDefaultCPUGenerator();
      const std::lock_guard lock(generator.mutex());
      generator.set_state(read_tensor("torch_rng"));
    }
    samples_trained_ = static_cast<std::uint64_t>(read("samples_trained").toInt());
    running_loss_ = read("running_loss").toDouble();
    running_samples_ = read("running_samples").toDouble();
    out.train_seconds = read("train_seconds").toDouble();
    out.eval_seconds = read("eval_seconds").toDouble();
    out.history_step = restored_values<std::int64_t>(read_tensor("history/step"));
    out.history_epoch = restored_values<double>(read_tensor("history/epoch"));
    out.train_loss = restored_values<double>(read_tensor("history/train_loss"));
    out.validation_loss = restored_values<double>(read_tensor("history/validation_loss"));
    out.resumed_from_step = step_;
    report(fmt::format("resuming from checkpoint at epoch {} step {}", epoch_, step_));
    return true;
  }

  // This epoch's rows in batch order: the fitting rows reshuffled, or as many class-balanced
  // draws with replacement.
  void next_epoch_order() {
    if (balanced_) {
      order_ = balanced_->draw(fit_rows_.size(), order_rng_);
    } else {
      shuffle_in_place(order_, order_rng_);
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
  void train_step(const torch::Tensor& index) {
    const std::int64_t count = index.size(0);
    torch::Tensor inputs, lengths, targets;
    torch::Tensor starts;
    if (window_ > 0) {  // each row's random window replaces the whole sequence
      lengths = data_.lengths().index_select(0, index);
      starts = draw_window_starts(lengths, window_, order_rng_);
      inputs = gather_windows(data_.inputs(), index, starts, window_);
      lengths = lengths.clamp_max(window_);
      targets = targets_.index_select(0, index);
    } else if (count == t_.batch_size) {
      inputs = torch::index_select_out(batch_inputs_, data_.inputs(), 0, index);
      lengths = torch::index_select_out(batch_lengths_, data_.lengths(), 0, index);
      targets = torch::index_select_out(batch_targets_, targets_, 0, index);
    } else {
      inputs = data_.inputs().index_select(0, index);
      lengths = data_.lengths().index_select(0, index);
      targets = targets_.index_select(0, index);
    }
    if (reverse_inputs_.defined()) flip_strands(inputs, index, starts);

    optimizer_->zero_grad();
    const torch::Tensor loss = (*loss_)(network_->forward(inputs, lengths), targets);
    const double value = loss.item<double>();
    if (!std::isfinite(value)) {
      throw TrainingError(fmt::format("training loss became {} at epoch {} step {} (lr {}); lower "
                                      "training.lr or check the targets for extreme values",
                                      value, epoch_, step_ + 1, t_.lr));
    }
    loss.backward();
    optimizer_->step();
    ++step_;
    samples_trained_ += static_cast<std::uint64_t>(count);
    running_loss_ += value * static_cast<double>(count);
    running_samples_ += static_cast<double>(count);
  }

  // Reverse-complement augmentation: swaps in the other strand for a random subset of rows;
  // with crops, the window at the same start of the other strand, which is the reverse
  // complement of a forward window drawn just as uniformly.
  void flip_strands(torch::Tensor& inputs, const torch::Tensor& index, const torch::Tensor& starts) {
    std::vector<std::int64_t> flipped;
    const auto* rows = index.data_ptr<std::int64_t>();
    std::vector<std::int64_t> sources;
    for (std::int64_t i = 0; i < index.size(0); ++i) {
      if (static_cast<double>(order_rng_() >> 11) * 0x1.0p-53 < t_.reverse_complement) {
        flipped.push_back(i);
        sources.push_back(rows[i]);
      }
    }
    if (flipped.empty()) return;
    const torch::Tensor flipped_rows = row_tensor(flipped), source_rows = row_tensor(sources);
    inputs.index_copy_(0, flipped_rows,
                       starts.defined()
                           ? gather_windows(reverse_inputs_, source_rows, starts.index_select(0, flipped_rows), window_)
                           : reverse_inputs_.index_select(0, source_rows));
  }

  void validate(TrainingOutcome& out) {
    const auto start = Clock::now();
    const double train_loss = running_samples_ > 0 ? running_loss_ / running_samples_ : std::nan("");
    running_loss_ = running_samples_ = 0;
    double validation_loss = std::numeric_limits<double>::quiet_NaN();
    bool improved = false;
    if (validation_index_.numel() > 0) {
      const torch::Tensor outputs = predict_rows(*network_, data_, validation_index_, window_);
      {
        torch::NoGradGuard no_grad;
        validation_loss = (*loss_)(outputs, validation_targets_).item<double>();
      }
      if (!std::isfinite(validation_loss)) {
        throw TrainingError(fmt::format("validation loss became {} at epoch {} step {} (lr {}); lower "
                                        "training.lr or check the targets for extreme values",
                                        validation_loss, epoch_, step_, t_.lr));
      }
      improved = validation_loss < best_loss_;
      if (improved) {
        best_loss_ = validation_loss;
        evaluations_since_best_ = 0;
        out.best_index = static_cast<int>(out.history_step.size());
        snapshot();
      } else if (t_.patience > 0 && ++evaluations_since_best_ >= t_.patience) {
        stopped_ = true;
      }
    }
    out.history_step.push_back(step_);
    out.history_epoch.push_back(static_cast<double>(step_) / static_cast<double>(steps_per_epoch_));
    out.train_loss.push_back(train_loss);
    out.validation_loss.push_back(validation_loss);
    out.eval_seconds += seconds_since(start);
    if (progress_) progress_({epoch_, t_.epochs, step_, train_loss, validation_loss, improved, validation_index_.size(0)});
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
  std::mt19937_64 order_rng_;
  std::vector<std::int64_t> order_;  // this epoch's batch order over the fitting rows
  std::vector<std::uint32_t> fit_rows_, validation_rows_;
  std::optional<Standardizer> standardizer_;
  torch::Tensor targets_, validation_index_, validation_targets_, reverse_inputs_;
  torch::Tensor batch_inputs_, batch_lengths_, batch_targets_;
  std::int64_t window_ = 0;  // crop length the network trains on; 0: whole sequences
  std::optional<BalancedSampler> balanced_;
  std::shared_ptr<Network> network_;
  std::unique_ptr<MultitaskLoss> loss_;
  std::unique_ptr<FlatOptimizer> optimizer_;
  std::vector<torch::Tensor> best_state_;
  double best_loss_ = std::numeric_limits<double>::infinity();
  int evaluations_since_best_ = 0;
  bool stopped_ = false;
  int epoch_ = 0, resumed_epoch_ = 0;
  std::int64_t step_ = 0, steps_per_epoch_ = 1;
  std::uint64_t samples_trained_ = 0;
  double running_loss_ = 0, running_samples_ = 0;
};

}  // namespace

TrainingOutcome train_and_evaluate(const ExperimentSpec& spec, const EncodedData& data,
                                   std::span<const std::uint32_t> train_rows,
                                   std::span<const std::uint32_t> test_rows, std::uint64_t seed,
                                   const ProgressCallback& progress, const Checkpointing& checkpointing) {
  check_training_spec(spec.training, data);
  if (spec.data.targets.size() != data.heads().size()) {
    throw SpecError(fmt::format("the spec lists {} targets but the encoded data has {}",
                                spec.data.targets.size(), data.heads().size()));
  }
  TrainingRun run(spec, data, train_rows, seed, progress, checkpointing);
  TrainingOutcome out = run.run();
  run.score(test_rows, out);
  return out;
}

}  // namespace gridfold::worker
