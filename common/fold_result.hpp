// The result of one task, one HDF5 file per fold (schema in docs/result-schema.md).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/metrics.hpp"
#include "common/model_file.hpp"
#include "common/plan.hpp"
#include "common/position_labels.hpp"
#include "common/result_fingerprint.hpp"
#include "common/training_diagnostics.hpp"

namespace gridfold {

struct Provenance {
  std::string host;
  std::string gridfold_version;
  std::string torch_version;
  // What the task trained on: "cpu" or "cuda:N" (the rank's visible device); empty in results
  // of gridfold versions before it was recorded.
  std::string device;
  std::string slurm_job_id, slurm_array_job_id, slurm_array_task_id;  // empty outside SLURM
  std::string slurm_node;                                             // SLURMD_NODENAME: nodes can share a host name
  int mpi_rank = 0, mpi_size = 1;
  std::string started_at, finished_at;  // ISO 8601 UTC
};

struct FoldResult {
  std::string experiment;
  std::string config_id;
  std::uint32_t config_index = 0;
  int outer_fold = 0;
  int inner_fold = -1;
  std::uint64_t task = 0;
  std::vector<std::pair<std::string, std::string>> params;  // dotted path, YAML value

  std::vector<std::string> target_names;
  std::map<std::string, MetricValues> metrics;  // target -> metric -> value (test set)

  // Test-set predictions in original units: [sample][target], NaN where the truth is missing.
  std::vector<std::uint32_t> sample_index;  // dataset rows
  std::vector<float> truth, prediction;
  // Per test sample, its highest similarity to the training part (group_by similarity only;
  // empty otherwise and in older results).
  std::vector<float> train_similarity;
  // per_position targets (NaN in truth and prediction): their classes at every test position.
  std::vector<PositionLabels> positions;

  // Learning curve: one entry per evaluation (per epoch unless eval_every is set).
  std::vector<std::int64_t> history_step;
  std::vector<double> history_epoch;  // fractional epochs at each evaluation
  std::vector<double> train_loss, validation_loss;
  int best_index = -1;  // entry whose weights were kept (early stopping)
  // Series measured at each evaluation and the rules that fired; empty when the spec disabled
  // diagnostics and in results written before gridfold recorded them (no /diagnostics group).
  TrainingDiagnostics diagnostics;

  double train_seconds = 0, eval_seconds = 0, total_seconds = 0;
  std::uint64_t samples_trained = 0;
  Provenance provenance;
  // What produced the result; empty in results of schema versions before 4 (unverifiable).
  ResultFingerprint fingerprint;
  // The trained network, kept only with output.save_models (for ensemble final models).
  std::optional<ModelWeights> weights;
};

// A result that names its task: experiment, config, folds, task number, parameters, the
// test rows as sample_index with their train_similarity, and the fingerprint the plan expects. Its producer fills in
// the rest (and must have trained on exactly what the fingerprint says).
FoldResult result_of_task(const ExperimentPlan& plan, std::size_t task_index);

// The layout version written into every result; readers refuse versions they do not know.
// 2 added provenance/slurm_node; 3 added /positions (per-position classes) and the optional
// /model (output.save_models); 4 added /fingerprint. Versions 2 and 3 still read, without
// them; having no fingerprint, they never count as the result of a task (stale).
inline constexpr std::int64_t kFoldResultSchemaVersion = 4;
inline constexpr std::int64_t kOldestFoldResultSchemaVersion = 2;

// Writes atomically (temporary name, close, fsync, rename); throws h5::WriteError when HDF5
// cannot write or close the file.
void write_fold_result(const std::filesystem::path& final_path, const FoldResult& result);
FoldResult read_fold_result(const std::filesystem::path& file);
FoldResult read_fold_result_image(const void* data, std::size_t size, const std::string& name);
// True when the file opens and carries the completion marker written last.
bool is_complete_fold_result(const std::filesystem::path& file);

}  // namespace gridfold
