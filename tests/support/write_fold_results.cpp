// Writes synthetic fold results for the tasks of a planned experiment, the way the worker
// would, without training: for the pack and harvest benchmarks and for tests that need many
// results. Predictions are the truth plus noise whose level depends on the config, so configs
// rank differently; metrics come from common/metrics.hpp like the worker's.
//
// Usage: write_fold_results EXPERIMENT [--first F] [--tasks N] [--processes P] [--seed S]
// (tasks F to F+N-1 of the plan; N = 0: to the end)
#include <malloc.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "common/experiment_layout.hpp"
#include "common/fold_result.hpp"
#include "common/metrics.hpp"
#include "common/plan.hpp"

namespace {

using namespace gridfold;

struct Arguments {
  std::filesystem::path experiment;
  std::size_t first = 0;
  std::size_t tasks = 0;  // 0 = all from `first`
  int processes = 1;
  std::uint64_t seed = 1;
};

Arguments parse(int argc, char** argv) {
  if (argc < 2) {
    throw std::invalid_argument(
        "usage: write_fold_results EXPERIMENT [--first F] [--tasks N] [--processes P] [--seed S]");
  }
  Arguments a;
  a.experiment = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string option = argv[i];
    const std::string value = argv[i + 1];
    if (option == "--tasks")
      a.tasks = std::stoull(value);
    else if (option == "--first")
      a.first = std::stoull(value);
    else if (option == "--processes")
      a.processes = std::stoi(value);
    else if (option == "--seed")
      a.seed = std::stoull(value);
    else
      throw std::invalid_argument("unknown option " + option);
  }
  return a;
}

double truth_of(std::uint32_t sample, std::size_t target, TaskType task) {
  const double x = std::sin(0.37 * sample + static_cast<double>(target));
  return task == TaskType::binary ? (x > 0 ? 1.0 : 0.0) : x * (1.0 + static_cast<double>(target));
}

FoldResult make_result(const ExperimentPlan& plan, const ExperimentSpec& spec, std::size_t task_number,
                       std::mt19937_64& rng) {
  const Task& task = plan.tasks[task_number];
  FoldResult r = result_of_task(plan, task_number);
  const auto& test = r.sample_index;
  const double noise = 0.1 + 0.05 * static_cast<double>(task.config % 7);
  std::normal_distribution<double> normal(0.0, 1.0);
  const std::size_t targets = spec.data.targets.size();
  for (const auto& t : spec.data.targets) r.target_names.push_back(t.name);
  r.truth.resize(test.size() * targets);
  r.prediction.resize(test.size() * targets);
  for (std::size_t j = 0; j < targets; ++j) {
    const TaskType kind = spec.data.targets[j].task;
    if (kind != TaskType::regression && kind != TaskType::binary) {
      throw std::invalid_argument("write_fold_results writes regression and binary targets only");
    }
    std::vector<double> truth, prediction;
    for (std::size_t i = 0; i < test.size(); ++i) {
      const double y = truth_of(test[i], j, kind);
      const double p = kind == TaskType::binary ? 1.0 / (1.0 + std::exp(-(4.0 * (y - 0.5) + 4.0 * noise * normal(rng))))
                                                : y + noise * normal(rng);
      truth.push_back(y);
      prediction.push_back(p);
      r.truth[i * targets + j] = static_cast<float>(y);
      r.prediction[i * targets + j] = static_cast<float>(p);
    }
    r.metrics[spec.data.targets[j].name] =
        kind == TaskType::binary ? binary_metrics(truth, prediction) : regression_metrics(truth, prediction);
  }
  for (int epoch = 0; epoch < 50; ++epoch) {
    r.history_step.push_back(epoch * 100);
    r.history_epoch.push_back(epoch);
    r.train_loss.push_back(1.0 / (epoch + 1) + 0.01 * normal(rng));
    r.validation_loss.push_back(1.2 / (epoch + 1) + 0.01 * normal(rng));
  }
  r.best_index = 49;
  r.train_seconds = 12.5;
  r.eval_seconds = 0.5;
  r.total_seconds = 13.0;
  r.samples_trained = 50 * test.size();
  r.provenance.host = "synthetic";
  r.provenance.gridfold_version = GRIDFOLD_VERSION;
  r.provenance.started_at = r.provenance.finished_at = "2026-01-01T00:00:00Z";
  return r;
}

void write_share(const Arguments& a, int share) {
  const ExperimentLayout layout(a.experiment);
  const ExperimentPlan plan = read_plan(layout.plan());
  const SpecDocument doc = SpecDocument::load(layout.spec(), plan.spec_dir);
  const std::size_t end = a.tasks == 0 ? plan.tasks.size() : std::min(a.first + a.tasks, plan.tasks.size());
  std::mt19937_64 rng(a.seed * 7919 + a.first + static_cast<std::uint64_t>(share));
  for (std::size_t t = a.first + static_cast<std::size_t>(share); t < end; t += static_cast<std::size_t>(a.processes)) {
    const FoldResult r = make_result(plan, doc.base(), t, rng);
    write_fold_result(layout.result(r.config_id, r.outer_fold, r.inner_fold), r);
  }
}

}  // namespace

int main(int argc, char** argv) {
  // HDF5 allocates and frees a 1 MiB conversion buffer per string dataset; without these
  // glibc hands it back to the kernel every time and writing is several times slower.
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  try {
    const Arguments a = parse(argc, argv);
    std::vector<pid_t> children;
    for (int share = 1; share < a.processes; ++share) {
      const pid_t pid = fork();
      if (pid == 0) {
        write_share(a, share);
        std::_Exit(0);
      }
      children.push_back(pid);
    }
    write_share(a, 0);
    int failed = 0;
    for (const pid_t pid : children) {
      int status = 0;
      waitpid(pid, &status, 0);
      failed += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    return failed == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "write_fold_results: " << e.what() << "\n";
    return 1;
  }
}
