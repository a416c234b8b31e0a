#include "orchestrator/slurm/slurm_client.hpp"

#include <fmt/format.h>

#include <charconv>
#include <sstream>

namespace gridfold {
namespace {

std::string trimmed(std::string s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

bool all_digits(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

}  // namespace

int parse_max_array_size(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const auto eq = line.find('=');
    if (eq == std::string::npos || trimmed(line.substr(0, eq)) != "MaxArraySize") continue;
    const std::string value = trimmed(line.substr(eq + 1));
    int n = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc() || end != value.data() + value.size() || n < 1) {
      throw SlurmError(fmt::format("scontrol show config: MaxArraySize '{}' is not a positive number", value));
    }
    return n;
  }
  throw SlurmError("scontrol show config printed no MaxArraySize line");
}

std::string parse_sbatch_job_id(const std::string& output) {
  std::string id = trimmed(output);
  // --parsable prints "jobid" or "jobid;cluster"; sbatch may warn on earlier lines.
  if (const auto nl = id.rfind('\n'); nl != std::string::npos) id = trimmed(id.substr(nl + 1));
  id = id.substr(0, id.find(';'));
  if (!all_digits(id)) throw SlurmError(fmt::format("sbatch --parsable printed '{}', not a job id", trimmed(output)));
  return id;
}

namespace {

// A sacctmgr limit field: empty when unset.
std::optional<int> limit_field(const std::string& field) {
  const std::string value = trimmed(field);
  if (value.empty()) return std::nullopt;
  int n = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc() || end != value.data() + value.size() || n < 0) {
    throw SlurmError(fmt::format("sacctmgr printed the submit limit '{}', not a number", value));
  }
  return n;
}

std::optional<int> smaller(std::optional<int> a, std::optional<int> b) {
  if (!a) return b;
  if (!b) return a;
  return std::min(*a, *b);
}

}  // namespace

std::pair<std::optional<int>, std::string> parse_assoc_submit_limit(const std::string& output) {
  std::pair<std::optional<int>, std::string> out;
  std::istringstream in(output);
  std::string line;
  while (std::getline(in, line)) {
    if (trimmed(line).empty()) continue;
    const auto bar = line.find('|');
    out.first = smaller(out.first, limit_field(line.substr(0, bar)));
    if (bar != std::string::npos && out.second.empty()) {
      out.second = trimmed(line.substr(bar + 1, line.find('|', bar + 1) - bar - 1));
    }
  }
  return out;
}

std::optional<int> parse_qos_submit_limit(const std::string& output) {
  std::optional<int> limit;
  std::istringstream in(output);
  std::string line;
  while (std::getline(in, line)) {
    if (!trimmed(line).empty()) limit = smaller(limit, limit_field(line.substr(0, line.find('|'))));
  }
  return limit;
}

CommandResult SlurmClient::checked(const std::vector<std::string>& argv) const {
  CommandResult r = runner_(argv);
  if (r.exit_code != 0) {
    throw SlurmError(fmt::format("'{}' failed with exit code {}: {}", quote_for_display(argv), r.exit_code,
                                 trimmed(r.err.empty() ? r.out : r.err)));
  }
  return r;
}

int SlurmClient::max_array_size() const {
  return parse_max_array_size(checked({"scontrol", "show", "config"}).out);
}

std::string SlurmClient::submit(const std::filesystem::path& script,
                                const std::vector<std::string>& sbatch_args) const {
  std::vector<std::string> argv{"sbatch", "--parsable"};
  argv.insert(argv.end(), sbatch_args.begin(), sbatch_args.end());
  argv.push_back(script.string());
  return parse_sbatch_job_id(checked(argv).out);
}

void SlurmClient::cancel(const std::vector<std::string>& job_ids) const {
  if (job_ids.empty()) return;
  std::vector<std::string> argv{"scancel"};
  argv.insert(argv.end(), job_ids.begin(), job_ids.end());
  checked(argv);
}

std::vector<ElementRecord> SlurmClient::queued(const std::vector<std::string>& job_ids) const {
  if (job_ids.empty()) return {};
  const CommandResult r =
      runner_({"squeue", "-h", "-r", "-o", "%i|%T|%N", "-j", fmt::format("{}", fmt::join(job_ids, ","))});
  // squeue fails for ids it has already forgotten; those are sacct's to report.
  if (r.exit_code != 0 && r.err.find("Invalid job id") == std::string::npos) {
    throw SlurmError(fmt::format("squeue failed with exit code {}: {}", r.exit_code, trimmed(r.err)));
  }
  return parse_squeue(r.out);
}

std::optional<std::vector<ElementRecord>> SlurmClient::accounted(const std::vector<std::string>& job_ids) const {
  if (job_ids.empty()) return std::vector<ElementRecord>{};
  const CommandResult r = runner_({"sacct", "-n", "-P", "-X", "-o", "JobID,State,ExitCode,NodeList", "-j",
                                   fmt::format("{}", fmt::join(job_ids, ","))});
  if (r.exit_code != 0) {
    if (r.err.find("accounting storage is disabled") != std::string::npos) {
      return std::nullopt;
    }
    throw SlurmError(fmt::format("sacct failed with exit code {}: {}", r.exit_code, trimmed(r.err)));
  }
  return parse_sacct(r.out);
}

std::size_t SlurmClient::queued_job_count(const std::string& user) const {
  const std::string out = checked({"squeue", "-h", "-r", "-u", user, "-o", "%i"}).out;
  std::size_t n = 0;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) n += trimmed(line).empty() ? 0 : 1;
  return n;
}

std::optional<int> SlurmClient::submit_job_limit(const std::string& user, const std::string& qos) const {
  const CommandResult assoc =
      runner_({"sacctmgr", "-n", "-P", "show", "assoc", "where", "user=" + user, "format=MaxSubmitJobs,DefaultQOS"});
  // Without accounting both queries fail, and there is no limit to read.
  const auto [assoc_limit, default_qos] =
      assoc.exit_code == 0 ? parse_assoc_submit_limit(assoc.out) : std::pair<std::optional<int>, std::string>{};
  const std::string name = !qos.empty() ? qos : !default_qos.empty() ? default_qos : "normal";
  const CommandResult q =
      runner_({"sacctmgr", "-n", "-P", "show", "qos", "where", "name=" + name, "format=MaxSubmitJobsPerUser"});
  return smaller(assoc_limit, q.exit_code == 0 ? parse_qos_submit_limit(q.out) : std::nullopt);
}

void SlurmClient::set_dependency(const std::string& job_id, const std::vector<std::string>& after_any) const {
  checked(
      {"scontrol", "update", "JobId=" + job_id, "Dependency=afterany:" + fmt::format("{}", fmt::join(after_any, ":"))});
}

}  // namespace gridfold
