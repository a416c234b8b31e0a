// A scripted fake of the external commands (sbatch, squeue, sacct, scontrol, scancel) for unit
// tests of the orchestration decisions without a cluster: commands matching a pattern get a
// scripted result, and every call is recorded in order. Modelled on HyperQueue's
// tests/autoalloc/mock. A command no rule answers fails the test loudly instead of being
// answered with a guess.
#pragma once

#include <deque>
#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

#include "orchestrator/process/command_runner.hpp"

namespace gridfold::testing {

class ScriptedCommands {
 public:
  // Answers every later command whose line (argv joined by spaces) contains a match of
  // `pattern` (ECMAScript regex) with `result`, until a rule added later takes over.
  ScriptedCommands& always(const std::string& pattern, CommandResult result) {
    rules_.insert(first_always_rule(), Rule{std::regex(pattern), std::move(result), false});
    return *this;
  }

  // Answers the next command matching `pattern` with `result`, once; several `once` rules for
  // one pattern answer in the order they were added, before any `always` rule.
  ScriptedCommands& once(const std::string& pattern, CommandResult result) {
    rules_.insert(first_always_rule(), Rule{std::regex(pattern), std::move(result), true});
    return *this;
  }

  // A runner for SlurmClient that answers from this script; it refers to this object, which
  // must outlive it. Throws std::logic_error for a command no rule matches.
  CommandRunner runner() {
    return [this](const std::vector<std::string>& argv) { return answer(argv); };
  }

  // Every command run so far, in order, as its line (argv joined by spaces).
  const std::vector<std::string>& calls() const { return calls_; }

  // The recorded calls whose line contains a match of `pattern`.
  std::vector<std::string> calls_matching(const std::string& pattern) const {
    const std::regex re(pattern);
    std::vector<std::string> out;
    for (const auto& c : calls_) {
      if (std::regex_search(c, re)) out.push_back(c);
    }
    return out;
  }

 private:
  struct Rule {
    std::regex pattern;
    CommandResult result;
    bool once = false;
  };

  std::deque<Rule>::iterator first_always_rule() {
    auto rule = rules_.begin();
    while (rule != rules_.end() && rule->once) ++rule;
    return rule;
  }

  CommandResult answer(const std::vector<std::string>& argv) {
    std::string line;
    for (const auto& a : argv) line += (line.empty() ? "" : " ") + a;
    calls_.push_back(line);
    for (auto rule = rules_.begin(); rule != rules_.end(); ++rule) {
      if (!std::regex_search(line, rule->pattern)) continue;
      CommandResult result = rule->result;
      if (rule->once) rules_.erase(rule);
      return result;
    }
    throw std::logic_error("unscripted command: " + line);
  }

  std::deque<Rule> rules_;  // `once` rules first, in order; then `always` rules, newest first
  std::vector<std::string> calls_;
};

// A successful command's result with this standard output.
inline CommandResult printed(std::string out) {
  return CommandResult{0, std::move(out), ""};
}

// A failed command's result with this standard error.
inline CommandResult refused(std::string err, int exit_code = 1) {
  return CommandResult{exit_code, "", std::move(err)};
}

}  // namespace gridfold::testing
