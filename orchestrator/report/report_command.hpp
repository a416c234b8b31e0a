// `gridfold report`: harvests an experiment and turns the harvest into plots drawn by gnuplot
// and two pages, index.html and summary.md (outputs in docs/report.md).
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace gridfold {

struct ReportOptions {
  std::filesystem::path experiment;
  std::filesystem::path out;  // empty = <experiment>/report
  std::string metric;         // ranking metric, as for harvest; empty = the task type's default
  std::size_t top = 20;       // ranked configs listed per target
};

struct ReportSummary {
  std::filesystem::path out_dir, index_html, summary_md;
  std::vector<std::filesystem::path> files;  // everything written, pages last
  std::size_t figures = 0;
  double seconds = 0;
};

ReportSummary make_report(const ReportOptions& options);

// Both end with the path of index.html.
std::string render_text(const ReportSummary& summary);
std::string render_json(const ReportSummary& summary);

}  // namespace gridfold
