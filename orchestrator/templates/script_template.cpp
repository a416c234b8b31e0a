#include "orchestrator/templates/script_template.hpp"

#include <fmt/format.h>

#include <sstream>

#include "common/text_file.hpp"
#include "common/text_match.hpp"
#include "orchestrator/process/shell_quote.hpp"
#include "orchestrator/templates/template_dir.hpp"

namespace gridfold {
namespace {

std::vector<std::string> known_names(const TemplateValues& v) {
  std::vector<std::string> names;
  for (const auto& [k, _] : v.values) names.push_back(k);
  for (const auto& [k, _] : v.blocks) names.push_back(k);
  return names;
}

[[noreturn]] void unknown_placeholder(const std::string& where, const std::string& name, const TemplateValues& v) {
  const auto names = known_names(v);
  std::string hint;
  if (auto near = closest_match(name, names)) hint = fmt::format(" (did you mean '{}'?)", *near);
  throw TemplateError(
      fmt::format("{}: unknown placeholder '{{{{{}}}}}'{}; known: {}", where, name, hint, fmt::join(names, ", ")));
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

std::string render_line(const std::string& line, const std::string& where, const TemplateValues& v) {
  const bool directive = line.rfind("#SBATCH", 0) == 0;
  std::string out;
  std::size_t pos = 0;
  while (true) {
    const auto open = line.find("{{", pos);
    if (open == std::string::npos) break;
    const auto close = line.find("}}", open + 2);
    if (close == std::string::npos) throw TemplateError(fmt::format("{}: '{{{{' without a closing '}}}}'", where));
    out += line.substr(pos, open - pos);
    const std::string name = trim(line.substr(open + 2, close - open - 2));
    const auto it = v.values.find(name);
    if (it == v.values.end()) {
      if (v.blocks.contains(name)) {
        throw TemplateError(
            fmt::format("{}: block placeholder '{{{{{}}}}}' must stand alone on its line", where, name));
      }
      unknown_placeholder(where, name, v);
    }
    if (directive) {
      if (!is_shell_safe(it->second)) {
        throw TemplateError(
            fmt::format("{}: value '{}' of '{}' cannot go on an #SBATCH line (only letters, digits "
                        "and _ - . / : = @ % + , are allowed there)",
                        where, it->second, name));
      }
      out += it->second;
    } else {
      out += shell_quote(it->second);
    }
    pos = close + 2;
  }
  out += line.substr(pos);
  return out;
}

}  // namespace

std::string render_template(const std::string& text, const std::string& source, const TemplateValues& v) {
  std::istringstream in(text);
  std::string line, out;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    const std::string where = fmt::format("{}:{}", source, number);
    const std::string t = trim(line);
    if (t.size() > 4 && t.starts_with("{{") && t.ends_with("}}") && t.find("{{", 2) == std::string::npos) {
      const std::string name = trim(t.substr(2, t.size() - 4));
      if (auto b = v.blocks.find(name); b != v.blocks.end()) {
        for (const auto& generated : b->second) out += generated + "\n";
        continue;
      }
    }
    out += render_line(line, where, v) + "\n";
  }
  return out;
}

std::string load_template(const std::filesystem::path& user_template, const std::string& builtin_name) {
  const std::filesystem::path file = user_template.empty() ? builtin_template_dir() / builtin_name : user_template;
  try {
    return read_text_file(file);
  } catch (const UnreadableFileError& e) {
    throw TemplateError(fmt::format("{}{}", e.what(),
                                    user_template.empty() ? " (set GRIDFOLD_TEMPLATE_DIR to the slurm_templates folder)"
                                                          : " (slurm.template in the spec)"));
  }
}

}  // namespace gridfold
