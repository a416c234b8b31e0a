// The SLURM commands gridfold uses, with their output parsed. The command runner is
// injectable so that parsing is unit-tested; integration tests use the real commands.
#pragma once

#include <filesystem>
#include <optional>
#include <utility>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/errors.hpp"
#include "orchestrator/process/command_runner.hpp"
#include "orchestrator/slurm/job_states.hpp"

namespace gridfold {

class SlurmError : public ClusterError {
 public:
  using ClusterError::ClusterError;
};

class SlurmClient {
 public:
  explicit SlurmClient(CommandRunner runner = run_command) : runner_(std::move(runner)) {}

  // MaxArraySize from `scontrol show config`: array indices must stay below it.
  int max_array_size() const;

  // `sbatch --parsable [args] script`; returns the job id.
  std::string submit(const std::filesystem::path& script, const std::vector<std::string>& sbatch_args) const;

  void cancel(const std::vector<std::string>& job_ids) const;

  // One squeue call for all jobs: their pending and running elements.
  std::vector<ElementRecord> queued(const std::vector<std::string>& job_ids) const;

  // One sacct call for all jobs; nothing when the cluster keeps no accounting.
  std::optional<std::vector<ElementRecord>> accounted(const std::vector<std::string>& job_ids) const;

  // The runner this client's commands go through. Submission asks the worker for its
  // runtime through it too, so a test's scripted runner answers that as well.
  const CommandRunner& runner() const { return runner_; }

  // The jobs `user` has queued or running, each array element counted once (`squeue -r`), as
  // SLURM counts them against MaxSubmitJobs.
  std::size_t queued_job_count(const std::string& user) const;

  // The most jobs `user` may have queued at once under accounting: the smallest of the
  // association's MaxSubmitJobs and MaxSubmitJobsPerUser of `qos` (empty: the association's
  // default QOS, else "normal"). Nothing when no limit is set or accounting does not answer.
  std::optional<int> submit_job_limit(const std::string& user, const std::string& qos) const;

  // Adds jobs to a pending job's afterany dependency (a resubmission the pack job must wait for).
  void set_dependency(const std::string& job_id, const std::vector<std::string>& after_any) const;

 private:
  CommandResult checked(const std::vector<std::string>& argv) const;
  CommandRunner runner_;
};

// Parsers, exposed for unit tests.
int parse_max_array_size(const std::string& scontrol_show_config);
std::string parse_sbatch_job_id(const std::string& sbatch_parsable_output);
// `sacctmgr -n -P show assoc where user=U format=MaxSubmitJobs,DefaultQOS` output: the
// smallest MaxSubmitJobs (if any) and the first default QOS named (empty if none).
std::pair<std::optional<int>, std::string> parse_assoc_submit_limit(const std::string& sacctmgr_output);
// `sacctmgr -n -P show qos where name=Q format=MaxSubmitJobsPerUser` output.
std::optional<int> parse_qos_submit_limit(const std::string& sacctmgr_output);

}  // namespace gridfold
