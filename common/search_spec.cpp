#include "common/search_spec.hpp"

#include <stdexcept>

#include "common/spec.hpp"

namespace gridfold {

std::string default_ranking_metric(TaskType task) {
  switch (task) {
    case TaskType::regression:
      return "r2";
    case TaskType::binary:
      return "auroc";
    case TaskType::multiclass:
      return "accuracy";
    case TaskType::per_position:
      return "f1";
  }
  throw std::logic_error("unknown task type");
}

}  // namespace gridfold
