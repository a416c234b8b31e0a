// Grid expansion: the cartesian product of the grid's axes (zip groups vary together),
// minus excluded combinations. Deterministic, and a configuration's id depends only on its
// parameter values, so adding a value to a grid keeps the ids (and results) of the others.
#pragma once

#include <string>
#include <vector>

#include "common/spec.hpp"

namespace gridfold {

struct Config {
  std::string id;  // 16 hex digits, a stable hash of the parameter values
  ParamAssignment params;
};

// Stable across runs, platforms and gridfold versions: FNV-1a 64 over "path=value\n"
// lines in path order.
std::string config_id(const ParamAssignment& params);

// The grid's parameter paths in axis order (the columns of the config table).
std::vector<std::string> grid_paths(const GridSpec& grid);

// All configurations in row-major order over the axes (last axis fastest). A grid with
// no axes yields one configuration with no parameters.
std::vector<Config> expand_grid(const GridSpec& grid);

}  // namespace gridfold
