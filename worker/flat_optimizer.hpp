// Adam, AdamW and SGD over all parameters at once. The parameters and their gradients are
// moved into two contiguous buffers (each parameter becomes a view), so that zeroing the
// gradients is one operation and a step is a handful of vector operations instead of a
// handful per parameter tensor. The arithmetic is torch::optim's, element for element.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/spec.hpp"

namespace at {
class Tensor;
}
namespace torch::serialize {
class InputArchive;
class OutputArchive;
}  // namespace torch::serialize

namespace gridfold::worker {

class FlatOptimizer {
 public:
  // Takes over `parameters` (their values are kept); they must not be re-homed elsewhere.
  FlatOptimizer(const TrainingSpec& spec, const std::vector<at::Tensor>& parameters);
  FlatOptimizer(FlatOptimizer&&) noexcept;
  FlatOptimizer& operator=(FlatOptimizer&&) noexcept;
  ~FlatOptimizer();

  void zero_grad();
  void step();
  double lr() const;
  void set_lr(double lr);
  // The flat buffers every parameter and its gradient are views of, in the order of the
  // parameters given to the constructor: norms over all of them, or over a slice, are one
  // reduction. The gradients are those of the last backward until step() (which may reuse
  // them as scratch) and zero_grad().
  const at::Tensor& values() const;
  const at::Tensor& gradients() const;

  // The step count and moments under `prefix` (the parameter values belong to the network's
  // own state): with them a restored training takes exactly the steps it would have taken.
  void save(torch::serialize::OutputArchive& archive, const std::string& prefix) const;
  // Throws c10::Error when the archive lacks them or their sizes differ from this optimizer's.
  void load(torch::serialize::InputArchive& archive, const std::string& prefix);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace gridfold::worker
