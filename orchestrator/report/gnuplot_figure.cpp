#include "orchestrator/report/gnuplot_figure.hpp"

#include <fmt/format.h>

#include "common/atomic_file.hpp"
#include "orchestrator/process/command_runner.hpp"

namespace gridfold {
namespace {

// Large enough for readable axis labels in a browser at 100 % zoom, and the same aspect in
// both formats so that the SVG is a drop-in replacement for the PNG.
constexpr int kWidth = 1000, kHeight = 750;
constexpr const char* kFont = "sans,14";

}  // namespace

std::string gnuplot_string(std::string_view text) {
  std::string out = "'";
  for (const char c : text) {
    out += c;
    if (c == '\'') out += '\'';
    // A newline would end the command; the title stays on one line instead.
    if (c == '\n') out.back() = ' ';
  }
  return out + "'";
}

DrawnFigure draw_figure(const GnuplotFigure& figure, const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  DrawnFigure drawn{figure.name,
                    figure.caption,
                    dir / (figure.name + ".png"),
                    dir / (figure.name + ".svg"),
                    dir / (figure.name + ".gp"),
                    {}};
  for (const auto& [file, text] : figure.data) {
    write_text_atomically(dir / file, text);
    drawn.data.push_back(dir / file);
  }
  // noenhanced: target and parameter names such as dG_37 or training.lr are printed as written,
  // not as sub- and superscripts.
  const std::string script = fmt::format(
      "# Drawn by gridfold report. Edit and redraw with: gnuplot {name}.gp (in this directory)\n"
      "set terminal pngcairo size {w},{h} noenhanced font {font}\n"
      "set output {png}\n"
      "{commands}"
      "set terminal svg size {w},{h} noenhanced dynamic font {font}\n"
      "set output {svg}\n"
      "replot\n"
      "unset output\n",
      fmt::arg("name", figure.name), fmt::arg("w", kWidth), fmt::arg("h", kHeight),
      fmt::arg("font", gnuplot_string(kFont)), fmt::arg("png", gnuplot_string(figure.name + ".png")),
      fmt::arg("svg", gnuplot_string(figure.name + ".svg")), fmt::arg("commands", figure.commands));
  write_text_atomically(drawn.script, script);

  const std::filesystem::path absolute_dir = std::filesystem::absolute(dir);
  const CommandResult r = run_command({"gnuplot", "-e", "cd " + gnuplot_string(absolute_dir.string()),
                                       std::filesystem::absolute(drawn.script).string()});
  if (r.exit_code != 0 || !std::filesystem::exists(drawn.png) || std::filesystem::file_size(drawn.png) == 0) {
    throw GnuplotError(
        fmt::format("gnuplot failed to draw {} (exit code {}): {}", drawn.script.string(), r.exit_code, r.err));
  }
  return drawn;
}

}  // namespace gridfold
