// Figures drawn by gnuplot from a script and data files written into the report directory,
// so that a user can edit the script and redraw (`gnuplot NAME.gp` in that directory).
// gnuplot runs without a shell; every PNG comes with an SVG of the same plot.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/errors.hpp"

namespace gridfold {

// gnuplot ran but drew nothing (a script error); the message holds its stderr.
class GnuplotError : public ClusterError {
 public:
  using ClusterError::ClusterError;
};

struct GnuplotFigure {
  std::string name;     // file stem: NAME.gp, NAME.png, NAME.svg
  std::string caption;  // shown under the figure on the page
  // Data files (name -> whitespace-separated columns) that `commands` plots by name.
  std::vector<std::pair<std::string, std::string>> data;
  // Everything after the terminal and output are set; must draw with a single `plot`, which
  // is replotted for the SVG.
  std::string commands;
};

struct DrawnFigure {
  std::string name, caption;
  std::filesystem::path png, svg, script;
  std::vector<std::filesystem::path> data;
};

// Writes the data files and the script into `dir` (atomically) and runs gnuplot there.
DrawnFigure draw_figure(const GnuplotFigure& figure, const std::filesystem::path& dir);

// `text` as a gnuplot single-quoted string literal: nothing in it is interpreted.
std::string gnuplot_string(std::string_view text);

}  // namespace gridfold
