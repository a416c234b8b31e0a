// Checkpoints of a task's training: where they are kept and when they are saved
// (Checkpointing), what they hold (TrainingState with the weights, optimizer and history),
// the file format, and the checks that a checkpoint belongs to this task and spec before it
// is resumed. A resumed training ends exactly as an uninterrupted one would.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace at {
class Tensor;
}

namespace gridfold::worker {

class FlatOptimizer;
class Network;
struct TrainingOutcome;

// What the trainer should do at a step boundary, asked once per step.
enum class CheckpointRequest { none, save, save_and_stop };

// Where a task keeps its training state between attempts. The checkpoint holds everything
// the rest of the training depends on (weights, optimizer, best weights, early stopping,
// epoch, step, that epoch's batch order, every random generator, the history so far), so a
// resumed task ends exactly as an uninterrupted one would. An empty `file` disables it.
struct Checkpointing {
  std::filesystem::path file;
  // Names the task and the spec text: a checkpoint that carries another identity belongs to
  // another spec or task and is ignored (and reported), never resumed.
  std::string identity;
  int every_steps = 0;  // also save every N steps; 0: only when requested
  std::function<CheckpointRequest()> request;
  std::function<void(const std::string&)> report;  // resuming, or ignoring a checkpoint
};

// Where a training stands at a step boundary, besides its weights, optimizer moments and
// history: with these restored, the next step is the one the interrupted training would
// have taken.
struct TrainingState {
  int epoch = 0;                    // 1-based epoch in progress
  std::int64_t step = 0;            // steps taken
  std::vector<std::int64_t> order;  // this epoch's batch order over the fitting rows
  std::int64_t position = 0;        // where this epoch's next batch starts in `order`
  std::mt19937_64 order_rng;        // SeedStream::batch_order: epoch order, crops, strand flips
  double best_loss = std::numeric_limits<double>::infinity();  // best validation loss so far
  int evaluations_since_best = 0;                              // validations without improvement (early stopping)
  bool stopped = false;                                        // early stopping ended the training
  std::uint64_t samples_trained = 0;
  double running_loss = 0, running_samples = 0;  // loss sum and rows since the last validation
};

// Writes the checkpoint to checkpointing.file (creating its folder): the identity, the
// network's state, the optimizer, the best weights, `state`, torch's default CPU generator
// (and the GPU's, for a network on a GPU) and the history in `outcome` (best index, times,
// loss history, diagnostics). Every tensor is written from the CPU, so the file does not depend on the
// device it was made on. Serialised in memory first, so the file appears complete under its
// name or not at all.
void save_checkpoint(const Checkpointing& checkpointing, Network& network, const FlatOptimizer& optimizer,
                     const std::vector<at::Tensor>& best_weights, const TrainingState& state,
                     const TrainingOutcome& outcome);

// Restores what save_checkpoint wrote into the same places (the network's and optimizer's
// tensors in place, on whatever device they are: the file is read onto the CPU and copied
// there; outcome.resumed_from_step too) and reports that training resumes; true
// then. False, with nothing changed, when checkpointing.file is empty or missing, and false
// with a report saying why when the file cannot be read or was written for another identity
// or format. Throws c10::Error, with the state partly restored, when a checkpoint of this
// identity and format does not fit the network or optimizer.
bool restore_checkpoint(const Checkpointing& checkpointing, Network& network, FlatOptimizer& optimizer,
                        std::vector<at::Tensor>& best_weights, TrainingState& state, TrainingOutcome& outcome);

}  // namespace gridfold::worker
