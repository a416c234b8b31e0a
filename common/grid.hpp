// Grid expansion: the cartesian product of the grid's axes (zip groups vary together),
// minus excluded combinations. Deterministic, and a configuration's id is a hash of its full
// resolved config (canonical_config), so adding a value to a grid keeps the ids (and results)
// of the others, while any change to what a config trains (training.epochs, a model key
// outside the grid) gives it a new id.
#pragma once

#include <string>
#include <vector>

#include "common/spec.hpp"

namespace gridfold {

struct Config {
  std::string id;          // 16 hex digits, config_id(canonical)
  ParamAssignment params;  // the grid's values
  std::string canonical;   // canonical_config of the spec with `params` applied
};

// Stable across runs, platforms and gridfold versions: FNV-1a 64 of the canonical config text.
std::string config_id(const std::string& canonical_config_text);

// The grid's parameter paths in axis order (the columns of the config table).
std::vector<std::string> grid_paths(const GridSpec& grid);

// All configurations of the document's grid in row-major order over the axes (last axis
// fastest), each resolved to its canonical config. A grid with no axes yields one
// configuration with no parameters. Throws SpecError when two configurations train the same
// thing (a grid value equal to what another axis value resolves to).
std::vector<Config> expand_grid(const SpecDocument& doc);

}  // namespace gridfold
