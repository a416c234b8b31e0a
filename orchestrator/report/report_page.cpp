#include "orchestrator/report/report_page.hpp"

#include <fmt/format.h>

#include <cmath>

#include "common/text_file.hpp"
#include "orchestrator/report/base64.hpp"

namespace gridfold {
namespace {

using Table = ReportTable;

std::string number(double v) {
  return std::isnan(v) ? "–" : fmt::format("{:.4g}", v);
}

std::string relative_link(const std::filesystem::path& file, const std::filesystem::path& dir) {
  return file.lexically_relative(dir).generic_string();
}

std::string config_params(const HarvestReport& r, std::uint32_t config) {
  std::vector<std::string> params;
  for (const auto& [path, value] : r.configs[config].params) params.push_back(path + " = " + value.yaml);
  return params.empty() ? "(no grid parameters)" : fmt::format("{}", fmt::join(params, ", "));
}

std::vector<std::pair<std::string, std::string>> counts(const ReportPage& page) {
  const HarvestReport& r = *page.harvest;
  std::vector<std::pair<std::string, std::string>>
      out{{"configs", std::to_string(r.configs.size())},
          {"outer folds", std::to_string(r.outer_folds)},
          {"inner folds per outer fold", std::to_string(r.inner_folds)},
          {"tasks", std::to_string(page.tasks)},
          {"results found",
           fmt::format("{} of {} ({} outer, {} inner; {} loose, {} archived)", r.outer_results + r.inner_results,
                       page.tasks, r.outer_results, r.inner_results, r.loose, r.archived)}};
  if (r.unplanned > 0) out.emplace_back("ignored", fmt::format("{} results of configs no longer planned", r.unplanned));
  if (r.stale > 0) {
    out.emplace_back("stale",
                     fmt::format("{} results made from another spec, data or gridfold version, left out", r.stale));
  }
  return out;
}

Table ranked_table(const ReportPage& page, const HarvestTarget& t) {
  const HarvestReport& r = *page.harvest;
  const std::string& metric = t.ranking.metric;
  Table table;
  std::vector<std::string> header{"rank", "config", "id"};
  header.insert(header.end(), r.param_paths.begin(), r.param_paths.end());
  for (const char* column : {"mean", "std", "min", "max"}) header.push_back(fmt::format("{} {}", metric, column));
  header.push_back("outer results");
  table.push_back(header);
  for (const auto& row : t.ranking.rows) {
    if (table.size() > page.top) break;
    std::vector<std::string> cells{std::to_string(row.rank), std::to_string(row.config), r.configs[row.config].id};
    for (const auto& path : r.param_paths) {
      const auto value = r.configs[row.config].params.find(path);
      cells.push_back(value == r.configs[row.config].params.end() ? "" : value->second.yaml);
    }
    const auto stats = row.metrics.find(metric);
    const Stats s = stats == row.metrics.end() ? Stats{} : stats->second;
    for (const double v : {s.mean, s.sd, s.min, s.max}) cells.push_back(number(v));
    cells.push_back(std::to_string(row.outer_results));
    table.push_back(cells);
  }
  return table;
}

// The best config's boundary scores of a per_position target: overall and per class.
std::string boundary_finding(const ConfigRanking::Row& best, int tolerance) {
  std::vector<std::string> scores;
  for (const auto& [metric, s] : best.metrics) {
    const bool boundary = metric == "f1" || metric == "precision" || metric == "recall" || metric.starts_with("f1_") ||
                          metric.starts_with("precision_") || metric.starts_with("recall_");
    if (boundary) scores.push_back(fmt::format("{} {} ± {}", metric, number(s.mean), number(s.sd)));
  }
  return fmt::format("Boundaries within {} positions, best config: {}.", tolerance, fmt::join(scores, ", "));
}

// One sentence on the best config (two for a per_position target), and one on the nested
// estimate when there is one, with a warning when unfinished inner tasks limited its choices.
std::vector<std::string> target_findings(const HarvestReport& r, const HarvestTarget& t) {
  std::vector<std::string> out;
  const std::string& metric = t.ranking.metric;
  const auto& best = t.ranking.rows.front();
  const auto stats = best.metrics.find(metric);
  if (stats == best.metrics.end() || std::isnan(stats->second.mean)) {
    out.push_back("Best config: none yet (no config has a defined score).");
  } else {
    const Stats& s = stats->second;
    out.push_back(fmt::format("Best config: {} ({}), {}: {} {} ± {} over {} outer folds ({} is better).", best.config,
                              r.configs[best.config].id, config_params(r, best.config), metric, number(s.mean),
                              number(s.sd), s.count, t.ranking.larger_is_better ? "larger" : "smaller"));
    if (t.task == TaskType::per_position) out.push_back(boundary_finding(best, t.tolerance));
  }
  if (t.nested) {
    const Stats& e = t.nested->estimate;
    std::vector<std::string> chosen;
    for (const auto& f : t.nested->folds) {
      chosen.push_back(f.chosen ? fmt::format("fold {}: config {}", f.outer_fold, *f.chosen)
                                : fmt::format("fold {}: none", f.outer_fold));
    }
    out.push_back(
        fmt::format("Nested estimate (config chosen by inner folds, scored on the outer test fold): "
                    "{} {} ± {} over {} outer folds; chosen: {}.",
                    metric, number(e.mean), number(e.sd), e.count, fmt::join(chosen, ", ")));
    if (const std::string warning = incomplete_inner_warning(*t.nested); !warning.empty()) {
      out.push_back(fmt::format("Warning: {}.", warning));
    }
  }
  return out;
}

constexpr const char* kStyle = R"(
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 1100px;
       padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.7em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 1em 0; font-size: .9em; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: left; }
th { background: #f2f2f2; } tr:nth-child(2) td { font-weight: 600; background: #eef5fb; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: .9em; color: #555; } .note { color: #8a5300; }
)";

std::string html_table(const Table& table) {
  std::string out = "<table>\n<tr>";
  for (const auto& cell : table.front()) out += "<th>" + html_escape(cell) + "</th>";
  out += "</tr>\n";
  for (std::size_t i = 1; i < table.size(); ++i) {
    out += "<tr>";
    for (const auto& cell : table[i]) out += "<td>" + html_escape(cell) + "</td>";
    out += "</tr>\n";
  }
  return out + "</table>\n";
}

// Markdown punctuation that could start a link, emphasis, HTML or a table cell.
std::string markdown_escape(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (std::string_view("\\`*_[]<>|#").find(c) != std::string_view::npos) out += '\\';
    out += c == '\n' ? ' ' : c;
  }
  return out;
}

std::string markdown_table(const Table& table) {
  std::string out;
  const auto row = [](const std::vector<std::string>& cells) {
    std::string line = "|";
    for (const auto& cell : cells) line += " " + markdown_escape(cell) + " |";
    return line + "\n";
  };
  out += row(table.front());
  out += "|";
  for (std::size_t i = 0; i < table.front().size(); ++i) out += " --- |";
  out += "\n";
  for (std::size_t i = 1; i < table.size(); ++i) out += row(table[i]);
  return out;
}

std::string figure_links_html(const DrawnFigure& f, const std::filesystem::path& dir) {
  std::vector<std::string> links{fmt::format("<a href=\"{}\">SVG</a>", html_escape(relative_link(f.svg, dir))),
                                 fmt::format("<a href=\"{}\">gnuplot script</a>",
                                             html_escape(relative_link(f.script, dir)))};
  for (const auto& d : f.data) {
    links.push_back(
        fmt::format("<a href=\"{}\">{}</a>", html_escape(relative_link(d, dir)), html_escape(d.filename().string())));
  }
  return fmt::format("{}", fmt::join(links, " · "));
}

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string render_index_html(const ReportPage& page, const std::filesystem::path& dir) {
  const HarvestReport& r = *page.harvest;
  const std::string title = "gridfold report: " + r.experiment;
  std::string out = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{0}</title>\n"
      "<style>{1}</style>\n</head>\n<body>\n<h1>{0}</h1>\n<table>\n",
      html_escape(title), kStyle);
  for (const auto& [name, value] : counts(page)) {
    out += fmt::format("<tr><th>{}</th><td>{}</td></tr>\n", html_escape(name), html_escape(value));
  }
  out += "</table>\n";
  if (!page.tables.empty()) {
    std::vector<std::string> links;
    for (const auto& t : page.tables) {
      links.push_back(
          fmt::format("<a href=\"{}\">{}</a>", html_escape(relative_link(t, dir)), html_escape(t.filename().string())));
    }
    out += fmt::format("<p>Harvest tables: {}</p>\n", fmt::join(links, " · "));
  }
  for (const HarvestTarget& t : r.targets) {
    out += fmt::format("<h2>Target {} ({}), ranked by {}</h2>\n", html_escape(t.name), to_string(t.task),
                       html_escape(t.ranking.metric));
    for (const auto& finding : target_findings(r, t)) out += "<p>" + html_escape(finding) + "</p>\n";
    const Table table = ranked_table(page, t);
    out += fmt::format("<p>Top {} of {} configs:</p>\n", table.size() - 1, t.ranking.rows.size());
    out += html_table(table);
  }
  for (const ReportSection& s : page.sections) {
    out += "<h2>" + html_escape(s.heading) + "</h2>\n";
    for (const auto& note : s.notes) out += "<p class=\"note\">" + html_escape(note) + "</p>\n";
    if (!s.table.empty()) out += html_table(s.table);
    for (const DrawnFigure& f : s.figures) {
      out += fmt::format(
          "<figure id=\"{}\">\n<img src=\"data:image/png;base64,{}\" alt=\"{}\">\n"
          "<figcaption>{} ({})</figcaption>\n</figure>\n",
          html_escape(f.name), base64_encode(read_text_file(f.png)), html_escape(f.caption), html_escape(f.caption),
          figure_links_html(f, dir));
    }
  }
  return out + "</body>\n</html>\n";
}

std::string render_summary_markdown(const ReportPage& page, const std::filesystem::path& dir) {
  const HarvestReport& r = *page.harvest;
  std::string out = fmt::format("# gridfold report: {}\n\n", markdown_escape(r.experiment));
  for (const auto& [name, value] : counts(page)) out += fmt::format("- {}: {}\n", name, markdown_escape(value));
  if (!page.tables.empty()) {
    std::vector<std::string> links;
    for (const auto& t : page.tables) {
      links.push_back(fmt::format("[{}](<{}>)", markdown_escape(t.filename().string()), relative_link(t, dir)));
    }
    out += fmt::format("- harvest tables: {}\n", fmt::join(links, ", "));
  }
  for (const HarvestTarget& t : r.targets) {
    out += fmt::format("\n## Target {} ({}), ranked by {}\n\n", markdown_escape(t.name), to_string(t.task),
                       markdown_escape(t.ranking.metric));
    for (const auto& finding : target_findings(r, t)) out += markdown_escape(finding) + "\n\n";
    const Table table = ranked_table(page, t);
    out += fmt::format("Top {} of {} configs:\n\n", table.size() - 1, t.ranking.rows.size());
    out += markdown_table(table);
  }
  for (const ReportSection& s : page.sections) {
    out += "\n## " + markdown_escape(s.heading) + "\n\n";
    for (const auto& note : s.notes) out += "*" + markdown_escape(note) + "*\n\n";
    if (!s.table.empty()) out += markdown_table(s.table) + "\n";
    for (const DrawnFigure& f : s.figures) {
      out += fmt::format("![{}](<{}>)\n\n[SVG](<{}>) · [gnuplot script](<{}>)\n\n", markdown_escape(f.caption),
                         relative_link(f.png, dir), relative_link(f.svg, dir), relative_link(f.script, dir));
    }
  }
  return out;
}

}  // namespace gridfold
