#include "worker/task_runner.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>

#include "common/atomic_file.hpp"
#include "common/checksum.hpp"
#include "common/compute_device.hpp"
#include "common/config_text.hpp"
#include "common/dataset.hpp"
#include "common/fold_result.hpp"
#include "common/result_inventory.hpp"
#include "common/spec.hpp"
#include "common/text_file.hpp"
#include "worker/checkpoint.hpp"
#include "worker/encoded_data.hpp"
#include "worker/network_weights.hpp"
#include "worker/torch_runtime.hpp"
#include "worker/trainer.hpp"

namespace gridfold::worker {
namespace {

using Clock = std::chrono::steady_clock;

std::string utc_now() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "unknown";
  return name;
}

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

// Everything load_dataset reads; two specs with the same key load the same samples.
std::string data_key(const DataSpec& d) {
  std::string key = fmt::format("{}|{}|{}|{}|{}|{}|{}|{}", d.path.string(), to_string(d.format), d.sequence_column,
                                fmt::join(d.feature_columns, ","), d.id_column, d.labels.string(),
                                to_string(d.alphabet), d.targets.size());
  for (const auto& t : d.targets) key += fmt::format("|{}:{}:{}", t.name, to_string(t.task), fmt::join(t.classes, ","));
  return key;
}

// Process-wide, so that a rank running many tasks of one experiment loads its data once.
const EncodedData& encoded_data_for(const DataSpec& spec) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<EncodedData>> cache;
  const std::lock_guard lock(mutex);
  auto& slot = cache[data_key(spec)];
  if (!slot) slot = std::make_unique<EncodedData>(load_dataset(spec), spec);
  return *slot;
}

// The data file's checksum, once per process and data file: results record it as what they
// were trained on, so it must be the file's content now, not what the planner saw.
const std::string& data_checksum_for(const DataSpec& spec) {
  static std::mutex mutex;
  static std::map<std::string, std::string> cache;
  const std::lock_guard lock(mutex);
  auto [slot, added] = cache.try_emplace(data_key(spec));
  if (added) slot->second = data_checksum(spec);
  return slot->second;
}

// A stale result (another spec, data, fold or gridfold version) would be overwritten by the
// rerun; it is moved under superseded/ instead, keeping its name and adding its fingerprint.
void set_aside_stale_result(const ExperimentLayout& layout, const std::filesystem::path& file,
                            const std::string& config_id) {
  const std::string digest = result_file_fingerprint(file);
  const std::filesystem::path dir = layout.superseded_dir() / "stale" / config_id;
  std::filesystem::create_directories(dir);
  std::filesystem::rename(file, dir / fmt::format("{}.{}.h5", file.stem().string(),
                                                  digest.empty() ? "unverifiable" : digest));
}

std::string fold_label(const Task& task) {
  if (task.inner_fold < 0) return fmt::format("outer {}", task.outer_fold);
  return fmt::format("outer {} inner {}", task.outer_fold, task.inner_fold);
}

// Distinct per fold, equal across configurations: configs compared on one fold then see the
// same validation split and batch order, so their differences are their own.
std::uint64_t fold_seed(std::uint64_t seed, const Task& task) {
  return seed ^ (static_cast<std::uint64_t>(task.outer_fold) << 32) ^
         static_cast<std::uint64_t>(static_cast<std::int64_t>(task.inner_fold) + 1);
}

// A checkpoint fits a task only when the experiment, config, fold, seed, frozen spec text and
// result fingerprint (data, folds, gridfold version) are all the same; any change starts afresh.
std::string checkpoint_identity(const ExperimentLayout& layout, const ExperimentPlan& plan, const Task& task,
                                const std::string& config_id, std::uint64_t seed) {
  const std::string spec_text = read_text_file(layout.spec());
  return fmt::format("{} config {} {} seed {} spec {} fingerprint {}", plan.name, config_id, fold_label(task), seed,
                     checksum_hex(xxh64(std::as_bytes(std::span(spec_text.data(), spec_text.size())))),
                     expected_fingerprint(plan, task_index(plan, task.config, task.outer_fold, task.inner_fold))
                         .digest());
}

// The device a task of `spec` trains on (common/compute_device.hpp), reported with its reason
// so that the log says what each task ran on and why.
ComputeDevice device_for(const ExperimentSpec& spec, const TaskOptions& options, const std::string& prefix) {
  const ComputeDevice device =
      choose_device(spec.training.device, cuda_runtime(), local_rank_from(std::getenv), spec.slurm.ranks_per_gpu);
  if (options.report) options.report(fmt::format("{}: training on {} ({})", prefix, device.name, device.reason));
  return device;
}

std::string format_loss(double value) {
  return std::isnan(value) ? "-" : fmt::format("{:.4g}", value);
}

// Rate-limits training progress into report lines.
class ProgressLines {
 public:
  ProgressLines(const TaskOptions& options, std::string prefix) : options_(options), prefix_(std::move(prefix)) {}

  void operator()(const TrainingProgress& p) {
    if (!options_.report) return;
    const auto now = Clock::now();
    const bool last = p.epoch >= p.epochs;
    if (reported_ && !last &&
        std::chrono::duration<double>(now - last_report_).count() < options_.report_interval_seconds) {
      return;
    }
    reported_ = true;
    last_report_ = now;
    options_.report(fmt::format("{}: epoch {}/{} train {} val {}{}", prefix_, p.epoch, p.epochs,
                                format_loss(p.train_loss), format_loss(p.validation_loss), p.improved ? " *" : ""));
  }

 private:
  const TaskOptions& options_;
  std::string prefix_;
  bool reported_ = false;
  Clock::time_point last_report_;
};

std::string test_summary(const TrainingOutcome& outcome) {
  std::vector<std::string> parts;
  for (const auto& name : outcome.target_names) {
    const auto found = outcome.metrics.find(name);
    if (found == outcome.metrics.end()) continue;
    for (const char* metric : {"r2", "auroc", "macro_f1"}) {
      const auto value = found->second.find(metric);
      if (value != found->second.end()) {
        parts.push_back(fmt::format("{} {} {:.4f}", name, metric, value->second));
        break;
      }
    }
  }
  return fmt::format("{}", fmt::join(parts, ", "));
}

FoldResult fold_result(const ExperimentPlan& plan, std::size_t task_index, TrainingOutcome outcome) {
  FoldResult r = result_of_task(plan, task_index);
  r.target_names = std::move(outcome.target_names);
  r.metrics = std::move(outcome.metrics);
  r.truth = std::move(outcome.truth);
  r.prediction = std::move(outcome.prediction);
  r.positions = std::move(outcome.positions);
  r.history_step = std::move(outcome.history_step);
  r.history_epoch = std::move(outcome.history_epoch);
  r.train_loss = std::move(outcome.train_loss);
  r.validation_loss = std::move(outcome.validation_loss);
  r.best_index = outcome.best_index;
  r.diagnostics = std::move(outcome.diagnostics);
  r.train_seconds = outcome.train_seconds;
  r.eval_seconds = outcome.eval_seconds;
  r.samples_trained = outcome.samples_trained;
  return r;
}

void write_failure(const std::filesystem::path& file, std::size_t task_index, const Task& task,
                   const std::string& config_id, const std::string& reason) {
  write_text_atomically(file, fmt::format("task: {}\nconfig: {}\nouter_fold: {}\ninner_fold: {}\nhost: {}\n"
                                          "time: {}\nreason: {}\n",
                                          task_index, config_id, task.outer_fold, task.inner_fold, host_name(),
                                          utc_now(), reason));
}

}  // namespace

TaskOutcome run_task(const ExperimentLayout& layout, const ExperimentPlan& plan, std::size_t task_index,
                     const TaskOptions& options) {
  if (task_index >= plan.tasks.size()) {
    throw std::out_of_range(
        fmt::format("task {} is outside the plan of {} (tasks 0..{})", task_index, plan.name, plan.tasks.size() - 1));
  }
  const auto start = Clock::now();
  const Task& task = plan.tasks[task_index];
  const Config& config = plan.configs.at(task.config);
  TaskOutcome outcome;
  outcome.task = task_index;
  outcome.file = layout.result(config.id, task.outer_fold, task.inner_fold);
  const bool result_exists = is_complete_fold_result(outcome.file);
  if (result_exists && result_file_fingerprint(outcome.file) == expected_fingerprint(plan, task_index).digest()) {
    // A kill between writing the result and removing the checkpoint leaves it behind.
    std::error_code ignored;
    std::filesystem::remove(layout.checkpoint(config.id, task.outer_fold, task.inner_fold), ignored);
    outcome.status = TaskOutcome::Status::skipped;
    return outcome;
  }

  const std::string started_at = utc_now();
  const std::string prefix = fmt::format("task {} config {} {}", task_index, config.id, fold_label(task));
  try {
    const SpecDocument document = SpecDocument::load(layout.spec(), plan.spec_dir);
    const ExperimentSpec spec = document.resolve(config.params);
    use_threads(thread_count_for(options.threads > 0 ? options.threads : spec.training.threads));
    const ComputeDevice device = device_for(spec, options, prefix);
    outcome.device = device.name;

    const EncodedData& data = encoded_data_for(spec.data);
    if (data.size() != plan.sample_count) {
      throw DataError(
          fmt::format("{} now holds {} samples but the plan was made for {}; the data changed "
                      "since planning, plan the experiment again",
                      spec.data.path.string(), data.size(), plan.sample_count));
    }
    if (data_checksum_for(spec.data) != plan.data_checksum) {
      throw DataError(
          fmt::format("{} has checksum {} but the plan was made for {}; the data changed since "
                      "planning, plan the experiment again with gridfold plan --replan",
                      spec.data.path.string(), data_checksum_for(spec.data),
                      plan.data_checksum.empty() ? "unrecorded data (a plan of an older gridfold)"
                                                 : plan.data_checksum));
    }
    if (result_exists) set_aside_stale_result(layout, outcome.file, config.id);
    const std::vector<std::uint32_t> train = train_rows(plan, task);
    const auto test_span = test_rows(plan, task);
    const std::vector<std::uint32_t> test(test_span.begin(), test_span.end());

    ProgressLines progress(options, prefix);
    const std::uint64_t seed = fold_seed(spec.training.seed, task);
    Checkpointing checkpointing;
    checkpointing.file = layout.checkpoint(config.id, task.outer_fold, task.inner_fold);
    checkpointing.identity = checkpoint_identity(layout, plan, task, config.id, seed);
    checkpointing.every_steps = spec.training.checkpoint_every;
    checkpointing.request = options.checkpoint_request;
    checkpointing.report = [&](const std::string& line) {
      if (options.report) options.report(fmt::format("{}: {}", prefix, line));
    };
    TrainingOutcome trained =
        train_and_evaluate(spec, data, train, test, seed, std::ref(progress), checkpointing, device);
    outcome.message = test_summary(trained);
    if (const auto rule = trained.diagnostics.stopped_by()) {
      outcome.message += fmt::format(" (stopped by rule {})", to_string(*rule));
    }
    std::optional<ModelWeights> weights;
    if (spec.output.save_models)
      weights = weights_of(*trained.network, trained.standardizer, spec.data.targets.size(), trained.thresholds);
    FoldResult result = fold_result(plan, task_index, std::move(trained));
    result.weights = std::move(weights);
    result.total_seconds = std::chrono::duration<double>(Clock::now() - start).count();
    result.provenance = {host_name(),
                         GRIDFOLD_VERSION,
                         torch_version(),
                         device.name,
                         environment("SLURM_JOB_ID"),
                         environment("SLURM_ARRAY_JOB_ID"),
                         environment("SLURM_ARRAY_TASK_ID"),
                         environment("SLURMD_NODENAME"),
                         options.mpi_rank,
                         options.mpi_size,
                         started_at,
                         utc_now()};
    write_fold_result(outcome.file, result);
    // A failure file from an earlier attempt no longer describes this task.
    std::error_code ignored;
    std::filesystem::remove(layout.failure(config.id, task.outer_fold, task.inner_fold), ignored);
    // Only now: until the result is durable, the checkpoint is what saves the work.
    std::filesystem::remove(checkpointing.file, ignored);
    outcome.status = TaskOutcome::Status::trained;
  } catch (const TrainingInterrupted& e) {
    outcome.status = TaskOutcome::Status::interrupted;
    outcome.message = e.what();
  } catch (const std::exception& e) {
    outcome.status = TaskOutcome::Status::failed;
    outcome.message = e.what();
    outcome.file = layout.failure(config.id, task.outer_fold, task.inner_fold);
    write_failure(outcome.file, task_index, task, config.id, outcome.message);
  }
  outcome.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return outcome;
}

}  // namespace gridfold::worker
