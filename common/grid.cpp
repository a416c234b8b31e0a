#include "common/grid.hpp"

#include <unordered_set>

#include <fmt/format.h>

#include "common/config_text.hpp"

namespace gridfold {

std::string config_id(const std::string& canonical_config_text) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&h](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 0x100000001b3ull;
    }
  };
  mix(canonical_config_text);
  return fmt::format("{:016x}", h);
}

std::vector<std::string> grid_paths(const GridSpec& grid) {
  std::vector<std::string> paths;
  for (const auto& axis : grid.axes) paths.insert(paths.end(), axis.paths.begin(), axis.paths.end());
  return paths;
}

namespace {

bool excluded(const ParamAssignment& params, const std::vector<ParamAssignment>& excludes) {
  for (const auto& rule : excludes) {
    bool all = true;
    for (const auto& [path, value] : rule) {
      const auto it = params.find(path);
      if (it == params.end() || !(it->second == value)) {
        all = false;
        break;
      }
    }
    if (all) return true;
  }
  return false;
}

}  // namespace

std::vector<Config> expand_grid(const SpecDocument& doc) {
  const GridSpec& grid = doc.base().grid;
  std::size_t total = 1;
  for (const auto& axis : grid.axes) total *= axis.values.size();
  std::vector<Config> configs;
  configs.reserve(total);
  std::vector<std::size_t> step(grid.axes.size(), 0);
  std::unordered_set<std::string> ids;
  for (std::size_t n = 0; n < total; ++n) {
    ParamAssignment params;
    for (std::size_t a = 0; a < grid.axes.size(); ++a) {
      const GridAxis& axis = grid.axes[a];
      for (std::size_t j = 0; j < axis.paths.size(); ++j) params.emplace(axis.paths[j], axis.values[step[a]][j]);
    }
    if (!excluded(params, grid.excludes)) {
      std::string canonical = canonical_config(doc.resolve(params));
      Config c{config_id(canonical), std::move(params), std::move(canonical)};
      if (!ids.insert(c.id).second) {
        throw SpecError(
            fmt::format("{}: grid: two configurations train the same thing (config id {}); "
                        "remove the duplicate value",
                        doc.base().source.string(), c.id));
      }
      configs.push_back(std::move(c));
    }
    for (std::size_t a = grid.axes.size(); a-- > 0;) {
      if (++step[a] < grid.axes[a].values.size()) break;
      step[a] = 0;
    }
  }
  return configs;
}

}  // namespace gridfold
