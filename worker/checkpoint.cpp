#include "worker/checkpoint.hpp"

#include <fmt/format.h>
#include <torch/torch.h>

#include <mutex>
#include <sstream>

#include "common/atomic_file.hpp"
#include "worker/flat_optimizer.hpp"
#include "worker/models.hpp"
#include "worker/trainer.hpp"

namespace gridfold::worker {
namespace {

// Bumped whenever the checkpoint's contents change; older checkpoints are then ignored.
// 2 added the training diagnostics.
constexpr std::int64_t kCheckpointFormat = 2;

template <typename T>
torch::Tensor saved_values(const std::vector<T>& values, torch::ScalarType type) {
  return torch::from_blob(const_cast<T*>(values.data()), {static_cast<std::int64_t>(values.size())}, type).clone();
}

template <typename T>
std::vector<T> restored_values(const torch::Tensor& tensor) {
  const torch::Tensor values = tensor.contiguous();
  return std::vector<T>(values.data_ptr<T>(), values.data_ptr<T>() + values.numel());
}

// The diagnostics series and firings so far: the rules judge the whole series, so a resumed
// training fires what an uninterrupted one would. The group names come from the network.
void save_diagnostics(torch::serialize::OutputArchive& archive, const TrainingDiagnostics& d) {
  const DiagnosticSeries& s = d.series;
  archive.write("diagnostics/step", saved_values(s.step, torch::kLong));
  archive.write("diagnostics/gradient_norm", saved_values(s.gradient_norm, torch::kDouble));
  archive.write("diagnostics/weight_norm", saved_values(s.weight_norm, torch::kDouble));
  archive.write("diagnostics/update_ratio", saved_values(s.update_ratio, torch::kDouble));
  archive.write("diagnostics/learning_rate", saved_values(s.learning_rate, torch::kDouble));
  archive.write("diagnostics/dead_relu", saved_values(s.dead_relu, torch::kDouble));
  archive.write("diagnostics/group_gradient_norm", saved_values(s.group_gradient_norm, torch::kFloat));
  archive.write("diagnostics/group_weight_norm", saved_values(s.group_weight_norm, torch::kFloat));
  archive.write("diagnostics/group_update_ratio", saved_values(s.group_update_ratio, torch::kFloat));
  std::vector<std::int64_t> rule, validation, epoch, step, action;
  std::vector<double> value;
  for (const RuleFiring& f : d.firings) {
    rule.push_back(static_cast<std::int64_t>(f.rule));
    validation.push_back(f.validation);
    epoch.push_back(f.epoch);
    step.push_back(f.step);
    action.push_back(static_cast<std::int64_t>(f.action));
    value.push_back(f.value);
  }
  archive.write("diagnostics/firing_rule", saved_values(rule, torch::kLong));
  archive.write("diagnostics/firing_validation", saved_values(validation, torch::kLong));
  archive.write("diagnostics/firing_epoch", saved_values(epoch, torch::kLong));
  archive.write("diagnostics/firing_step", saved_values(step, torch::kLong));
  archive.write("diagnostics/firing_action", saved_values(action, torch::kLong));
  archive.write("diagnostics/firing_value", saved_values(value, torch::kDouble));
}

template <typename Read>
void restore_diagnostics(const Read& read_tensor, TrainingDiagnostics& d) {
  DiagnosticSeries& s = d.series;
  s.step = restored_values<std::int64_t>(read_tensor("diagnostics/step"));
  s.gradient_norm = restored_values<double>(read_tensor("diagnostics/gradient_norm"));
  s.weight_norm = restored_values<double>(read_tensor("diagnostics/weight_norm"));
  s.update_ratio = restored_values<double>(read_tensor("diagnostics/update_ratio"));
  s.learning_rate = restored_values<double>(read_tensor("diagnostics/learning_rate"));
  s.dead_relu = restored_values<double>(read_tensor("diagnostics/dead_relu"));
  s.group_gradient_norm = restored_values<float>(read_tensor("diagnostics/group_gradient_norm"));
  s.group_weight_norm = restored_values<float>(read_tensor("diagnostics/group_weight_norm"));
  s.group_update_ratio = restored_values<float>(read_tensor("diagnostics/group_update_ratio"));
  const auto rule = restored_values<std::int64_t>(read_tensor("diagnostics/firing_rule"));
  const auto validation = restored_values<std::int64_t>(read_tensor("diagnostics/firing_validation"));
  const auto epoch = restored_values<std::int64_t>(read_tensor("diagnostics/firing_epoch"));
  const auto step = restored_values<std::int64_t>(read_tensor("diagnostics/firing_step"));
  const auto action = restored_values<std::int64_t>(read_tensor("diagnostics/firing_action"));
  const auto value = restored_values<double>(read_tensor("diagnostics/firing_value"));
  d.firings.clear();
  for (std::size_t i = 0; i < rule.size(); ++i) {
    d.firings.push_back({static_cast<DiagnosticRule>(rule[i]), validation.at(i), epoch.at(i), step.at(i), value.at(i),
                         static_cast<RuleAction>(action.at(i))});
  }
}

}  // namespace

void save_checkpoint(const Checkpointing& checkpointing, Network& network, const FlatOptimizer& optimizer,
                     const std::vector<at::Tensor>& best_weights, const TrainingState& state,
                     const TrainingOutcome& outcome) {
  torch::serialize::OutputArchive archive;
  archive.write("format", c10::IValue(kCheckpointFormat));
  archive.write("identity", c10::IValue(checkpointing.identity));
  const std::vector<torch::Tensor> weights = network.state();
  // Every tensor is written from the CPU and read back onto the CPU (map location) before it
  // is copied to the network's device: a checkpoint made on a GPU node resumes on a CPU node.
  for (std::size_t i = 0; i < weights.size(); ++i) {
    archive.write(fmt::format("network/{}", i), weights[i].detach().cpu());
  }
  optimizer.save(archive, "optimizer/");
  archive.write("best/count", c10::IValue(static_cast<std::int64_t>(best_weights.size())));
  for (std::size_t i = 0; i < best_weights.size(); ++i) archive.write(fmt::format("best/{}", i), best_weights[i].cpu());
  archive.write("best/loss", c10::IValue(state.best_loss));
  archive.write("best/index", c10::IValue(static_cast<std::int64_t>(outcome.best_index)));
  archive.write("evaluations_since_best", c10::IValue(static_cast<std::int64_t>(state.evaluations_since_best)));
  archive.write("stopped", c10::IValue(state.stopped));
  archive.write("epoch", c10::IValue(static_cast<std::int64_t>(state.epoch)));
  archive.write("step", c10::IValue(state.step));
  archive.write("position", c10::IValue(state.position));
  archive.write("order", saved_values(state.order, torch::kLong));
  std::ostringstream rng;
  rng << state.order_rng;
  archive.write("order_rng", c10::IValue(rng.str()));
  {
    auto generator = at::detail::getDefaultCPUGenerator();
    const std::lock_guard lock(generator.mutex());
    archive.write("torch_rng", generator.get_state());
  }
  // Dropout on a GPU draws from that device's generator; a resume on the same kind of device
  // then continues the same random stream.
  if (!weights.empty() && weights.front().is_cuda()) {
    auto generator = at::globalContext().defaultGenerator(weights.front().device());
    const std::lock_guard lock(generator.mutex());
    archive.write("torch_cuda_rng", generator.get_state());
  }
  archive.write("samples_trained", c10::IValue(static_cast<std::int64_t>(state.samples_trained)));
  archive.write("running_loss", c10::IValue(state.running_loss));
  archive.write("running_samples", c10::IValue(state.running_samples));
  archive.write("train_seconds", c10::IValue(outcome.train_seconds));
  archive.write("eval_seconds", c10::IValue(outcome.eval_seconds));
  archive.write("history/step", saved_values(outcome.history_step, torch::kLong));
  archive.write("history/epoch", saved_values(outcome.history_epoch, torch::kDouble));
  archive.write("history/train_loss", saved_values(outcome.train_loss, torch::kDouble));
  archive.write("history/validation_loss", saved_values(outcome.validation_loss, torch::kDouble));
  save_diagnostics(archive, outcome.diagnostics);
  std::ostringstream bytes;
  archive.save_to(bytes);
  std::filesystem::create_directories(checkpointing.file.parent_path());
  write_text_atomically(checkpointing.file, bytes.str());
}

bool restore_checkpoint(const Checkpointing& checkpointing, Network& network, FlatOptimizer& optimizer,
                        std::vector<at::Tensor>& best_weights, TrainingState& state, TrainingOutcome& outcome) {
  const auto report = [&](const std::string& line) {
    if (checkpointing.report) checkpointing.report(line);
  };
  if (checkpointing.file.empty() || !std::filesystem::exists(checkpointing.file)) return false;
  const std::string file = checkpointing.file.string();
  torch::serialize::InputArchive archive;
  c10::IValue format, identity;
  try {
    archive.load_from(file, torch::Device(torch::kCPU));
    archive.read("format", format);
    archive.read("identity", identity);
  } catch (const c10::Error& e) {
    report(fmt::format("ignoring checkpoint {}: it cannot be read ({}); training from the start", file,
                       e.what_without_backtrace()));
    return false;
  }
  if (format.toInt() != kCheckpointFormat || identity.toStringRef() != checkpointing.identity) {
    report(
        fmt::format("ignoring checkpoint {}: it was written for '{}' (format {}), not for '{}' (format {}); "
                    "training from the start",
                    file, identity.toStringRef(), format.toInt(), checkpointing.identity, kCheckpointFormat));
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
  std::vector<torch::Tensor> weights = network.state();
  for (std::size_t i = 0; i < weights.size(); ++i) weights[i].copy_(read_tensor(fmt::format("network/{}", i)));
  optimizer.load(archive, "optimizer/");
  best_weights.clear();
  for (std::int64_t i = 0; i < read("best/count").toInt(); ++i) {
    const auto index = static_cast<std::size_t>(i);
    best_weights.push_back(read_tensor(fmt::format("best/{}", i))
                               .to(index < weights.size() ? weights[index].device() : torch::Device(torch::kCPU)));
  }
  state.best_loss = read("best/loss").toDouble();
  outcome.best_index = static_cast<int>(read("best/index").toInt());
  state.evaluations_since_best = static_cast<int>(read("evaluations_since_best").toInt());
  state.stopped = read("stopped").toBool();
  state.epoch = static_cast<int>(read("epoch").toInt());
  state.step = read("step").toInt();
  state.position = read("position").toInt();
  state.order = restored_values<std::int64_t>(read_tensor("order"));
  std::istringstream rng(read("order_rng").toStringRef());
  rng >> state.order_rng;
  {
    auto generator = at::detail::getDefaultCPUGenerator();
    const std::lock_guard lock(generator.mutex());
    generator.set_state(read_tensor("torch_rng"));
  }
  c10::IValue cuda_rng;
  if (!weights.empty() && weights.front().is_cuda() && archive.try_read("torch_cuda_rng", cuda_rng)) {
    auto generator = at::globalContext().defaultGenerator(weights.front().device());
    const std::lock_guard lock(generator.mutex());
    generator.set_state(cuda_rng.toTensor());
  }
  state.samples_trained = static_cast<std::uint64_t>(read("samples_trained").toInt());
  state.running_loss = read("running_loss").toDouble();
  state.running_samples = read("running_samples").toDouble();
  outcome.train_seconds = read("train_seconds").toDouble();
  outcome.eval_seconds = read("eval_seconds").toDouble();
  outcome.history_step = restored_values<std::int64_t>(read_tensor("history/step"));
  outcome.history_epoch = restored_values<double>(read_tensor("history/epoch"));
  outcome.train_loss = restored_values<double>(read_tensor("history/train_loss"));
  outcome.validation_loss = restored_values<double>(read_tensor("history/validation_loss"));
  restore_diagnostics(read_tensor, outcome.diagnostics);
  outcome.resumed_from_step = state.step;
  report(fmt::format("resuming from checkpoint at epoch {} step {}", state.epoch, state.step));
  return true;
}

}  // namespace gridfold::worker
