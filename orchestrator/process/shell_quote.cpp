#include "orchestrator/process/shell_quote.hpp"

namespace gridfold {

bool is_shell_safe(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                      c == '-' || c == '.' || c == '/' || c == ':' || c == '=' || c == '@' || c == '%' || c == '+' ||
                      c == ',';
    if (!safe) return false;
  }
  return true;
}

std::string shell_quote(std::string_view text) {
  if (is_shell_safe(text)) return std::string(text);
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  out += '\'';
  return out;
}

}  // namespace gridfold
