// The report's two pages: index.html (one self-contained file: inline CSS, plots embedded as
// PNG data URIs, so it still shows everything when copied alone off scratch storage) and
// summary.md (links to the PNG files). Both give the experiment, its counts, the ranked
// configs of every target, the best config, the nested estimate and the plots.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "orchestrator/report/gnuplot_figure.hpp"
#include "orchestrator/harvest/harvest_report.hpp"

namespace gridfold {

// A table both pages render: the first row is the header.
using ReportTable = std::vector<std::vector<std::string>>;

struct ReportSection {
  std::string heading;
  std::vector<std::string> notes;  // plain text, e.g. why a plot is missing
  ReportTable table;               // after the notes; empty = none
  std::vector<DrawnFigure> figures;
};

struct ReportPage {
  const HarvestReport* harvest = nullptr;
  std::size_t tasks = 0;  // in the plan
  std::size_t top = 20;   // ranked configs listed per target
  std::vector<ReportSection> sections;
  std::vector<std::filesystem::path> tables;  // harvest's files, linked from both pages
};

// Links are relative to `dir`, where the pages are written; the PNGs are read from disk.
std::string render_index_html(const ReportPage& page, const std::filesystem::path& dir);
std::string render_summary_markdown(const ReportPage& page, const std::filesystem::path& dir);

std::string html_escape(std::string_view text);

}  // namespace gridfold
