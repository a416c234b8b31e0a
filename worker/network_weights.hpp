// A network's state as a model file keeps it (common/model_file.hpp), and back.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "common/encoding.hpp"
#include "common/model_file.hpp"
#include "worker/models.hpp"

namespace gridfold::worker {

// Copies the network's parameters and buffers, the standardisation of its regression
// outputs over `target_count` targets (none: targets were not standardised), and the
// per_position targets' decision thresholds (TrainingOutcome::thresholds; kept only when a
// target has some).
ModelWeights weights_of(Network& network, const std::optional<Standardizer>& standardizer, std::size_t target_count,
                        const std::vector<std::vector<double>>& thresholds);

// Overwrites the network's state with `weights`, matched by name. Throws SpecError naming
// the first tensor that is missing, unexpected or of another shape: the weights belong to
// another architecture.
void load_weights(Network& network, const ModelWeights& weights);

// The standardisation saved with `weights`, or none.
std::optional<Standardizer> standardizer_of(const ModelWeights& weights);

}  // namespace gridfold::worker
