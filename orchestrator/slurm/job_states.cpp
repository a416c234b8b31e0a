#include "orchestrator/slurm/job_states.hpp"

#include <fmt/format.h>

#include <charconv>
#include <sstream>
#include <stdexcept>

namespace gridfold {
namespace {

struct StateName {
  ElementState state;
  const char* slurm;
  const char* ours;
};

const StateName kStates[] = {
    {ElementState::pending, "PENDING", "pending"},
    {ElementState::running, "RUNNING", "running"},
    {ElementState::running, "COMPLETING", "running"},
    {ElementState::running, "CONFIGURING", "running"},
    {ElementState::running, "SUSPENDED", "running"},
    {ElementState::completed, "COMPLETED", "completed"},
    {ElementState::failed, "FAILED", "failed"},
    {ElementState::failed, "BOOT_FAIL", "failed"},
    {ElementState::failed, "DEADLINE", "failed"},
    {ElementState::timeout, "TIMEOUT", "timeout"},
    {ElementState::out_of_memory, "OUT_OF_MEMORY", "out_of_memory"},
    {ElementState::cancelled, "CANCELLED", "cancelled"},
    {ElementState::cancelled, "REVOKED", "cancelled"},
    {ElementState::node_fail, "NODE_FAIL", "node_fail"},
    {ElementState::preempted, "PREEMPTED", "preempted"},
    {ElementState::requeued, "REQUEUED", "requeued"},
    {ElementState::requeued, "REQUEUE_HOLD", "requeued"},
    {ElementState::requeued, "REQUEUE_FED", "requeued"},
    {ElementState::unknown, "", "unknown"},
};

std::size_t to_index(const std::string& text, const std::string& line) {
  std::size_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) {
    throw std::runtime_error(fmt::format("cannot read the array index '{}' in SLURM's line '{}'", text, line));
  }
  return v;
}

std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> out;
  std::string field;
  std::istringstream in(line);
  while (std::getline(in, field, sep)) out.push_back(field);
  if (!line.empty() && line.back() == sep) out.emplace_back();
  return out;
}

ElementRecord element_range(const std::string& job, std::size_t first, std::size_t last) {
  ElementRecord r;
  r.job_id = job;
  r.first_index = first;
  r.last_index = last;
  return r;
}

// "123_4", "123_[4-9%2]", "123_[4,6-7]" (one record per part), or "123" (not an array).
std::vector<ElementRecord> records_of(const std::string& id, const std::string& line) {
  const auto underscore = id.find('_');
  if (underscore == std::string::npos) return {element_range(id, 0, 0)};
  const std::string job = id.substr(0, underscore);
  std::string rest = id.substr(underscore + 1);
  if (rest.empty() || rest.front() != '[') {
    const std::size_t i = to_index(rest, line);
    return {element_range(job, i, i)};
  }
  rest = rest.substr(1, rest.find_first_of("%]") - 1);
  std::vector<ElementRecord> out;
  for (const auto& part : split(rest, ',')) {
    const auto dash = part.find('-');
    const std::size_t first = to_index(part.substr(0, dash), line);
    const std::size_t last = dash == std::string::npos ? first : to_index(part.substr(dash + 1), line);
    out.push_back(element_range(job, first, last));
  }
  return out;
}

std::vector<ElementRecord> parse_lines(const std::string& output, std::size_t min_fields,
                                       void (*fill)(ElementRecord&, const std::vector<std::string>&)) {
  std::vector<ElementRecord> out;
  std::istringstream in(output);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto fields = split(line, '|');
    if (fields.size() < min_fields) {
      throw std::runtime_error(fmt::format("unexpected line from SLURM: '{}'", line));
    }
    for (auto& r : records_of(fields[0], line)) {
      fill(r, fields);
      out.push_back(std::move(r));
    }
  }
  return out;
}

}  // namespace

std::string to_string(ElementState s) {
  for (const auto& n : kStates) {
    if (n.state == s) return n.ours;
  }
  return "unknown";
}

ElementState element_state_from_slurm(const std::string& state) {
  const std::string word = state.substr(0, state.find(' '));
  for (const auto& n : kStates) {
    if (word == n.slurm) return n.state;
  }
  return ElementState::unknown;
}

bool is_active(ElementState s) {
  return s == ElementState::pending || s == ElementState::running || s == ElementState::requeued;
}

bool is_failure(ElementState s) {
  return s == ElementState::failed || s == ElementState::timeout || s == ElementState::out_of_memory ||
         s == ElementState::cancelled || s == ElementState::node_fail || s == ElementState::preempted;
}

std::vector<ElementRecord> parse_squeue(const std::string& output) {
  return parse_lines(output, 2, [](ElementRecord& r, const std::vector<std::string>& f) {
    r.slurm_state = f[1];
    r.state = element_state_from_slurm(f[1]);
    if (f.size() > 2) r.node_list = f[2];
  });
}

std::vector<ElementRecord> parse_sacct(const std::string& output) {
  return parse_lines(output, 3, [](ElementRecord& r, const std::vector<std::string>& f) {
    r.slurm_state = f[1];
    r.state = element_state_from_slurm(f[1]);
    r.exit_code = f[2];
    if (f.size() > 3) r.node_list = f[3];
  });
}

}  // namespace gridfold
