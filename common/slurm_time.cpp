#include "common/slurm_time.hpp"

#include <charconv>
#include <vector>

namespace gridfold {
namespace {

// A field of up to 9 digits (no sign, no overflow), or nothing.
std::optional<long long> digits(const std::string& text) {
  if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  long long n = 0;
  std::from_chars(text.data(), text.data() + text.size(), n);
  return n;
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (std::size_t at; (at = text.find(sep, start)) != std::string::npos; start = at + 1) {
    parts.push_back(text.substr(start, at - start));
  }
  parts.push_back(text.substr(start));
  return parts;
}

}  // namespace

std::optional<long long> slurm_time_seconds(const std::string& text) {
  const auto dash = text.find('-');
  long long days = 0;
  std::string clock = text;
  if (dash != std::string::npos) {
    const auto d = digits(text.substr(0, dash));
    if (!d) return std::nullopt;
    days = *d;
    clock = text.substr(dash + 1);
  }
  std::vector<long long> fields;
  for (const auto& part : split(clock, ':')) {
    const auto n = digits(part);
    if (!n) return std::nullopt;
    fields.push_back(*n);
  }
  if (fields.size() > 3) return std::nullopt;
  long long hours = 0, minutes = 0, seconds = 0;
  if (dash != std::string::npos) {
    // With days the fields are hours[:minutes[:seconds]].
    hours = fields[0];
    if (fields.size() > 1) minutes = fields[1];
    if (fields.size() > 2) seconds = fields[2];
  } else if (fields.size() == 1) {
    minutes = fields[0];
  } else if (fields.size() == 2) {
    minutes = fields[0];
    seconds = fields[1];
  } else {
    hours = fields[0];
    minutes = fields[1];
    seconds = fields[2];
  }
  return ((days * 24 + hours) * 60 + minutes) * 60 + seconds;
}

}  // namespace gridfold
