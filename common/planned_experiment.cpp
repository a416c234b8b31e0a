#include "common/planned_experiment.hpp"

#include <fmt/format.h>

#include "common/errors.hpp"

namespace gridfold {

void require_planned(const ExperimentLayout& layout) {
  if (std::filesystem::is_regular_file(layout.plan())) return;
  throw BadInputError(fmt::format("{} is not a gridfold experiment directory (no plan.h5); run gridfold plan first",
                                  layout.root().string()));
}

}  // namespace gridfold
