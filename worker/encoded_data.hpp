// A dataset encoded once into tensors, shared by every task of a process that trains on it:
// batches are then row selections, never re-encodings.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "common/dataset.hpp"
#include "common/spec.hpp"
#include "worker/models.hpp"

namespace at {
class Tensor;
}

namespace gridfold::worker {

class EncodedData {
 public:
  // Keeps `dataset`: its raw targets are the truth that metrics are computed against.
  // Throws DataError when the data cannot feed a model (no inputs, bad class labels).
  EncodedData(Dataset dataset, const DataSpec& spec);
  EncodedData(EncodedData&&) noexcept;
  EncodedData& operator=(EncodedData&&) noexcept;
  ~EncodedData();

  const Dataset& dataset() const;
  const DataSpec& spec() const;
  std::size_t size() const;
  const InputShape& input_shape() const;
  const std::vector<OutputHead>& heads() const;  // one per target, in spec order
  bool per_position() const;                     // targets are per-position labels

  // [N][C][L] one-hot sequences (zero past each length) or [N][F] features, float32.
  const at::Tensor& inputs() const;
  // [N] int64 true sequence lengths (the padding mask); all 1 for feature data.
  const at::Tensor& lengths() const;
  // [N][T] as in Dataset (NaN = missing), or [N][T][L] for per-position targets (NaN past
  // each sequence's end and where a label is not a digit).
  const at::Tensor& targets() const;
  // inputs() of the reverse-complemented sequences, encoded on first use (augmentation).
  const at::Tensor& reverse_complement_inputs() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gridfold::worker
