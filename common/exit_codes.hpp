// Exit codes of gridfold and gridfold-worker, in one place; docs/cli.md documents them so that
// scripts and job templates can branch on them.
#pragma once

namespace gridfold {

enum ExitCode : int {
  kExitOk = 0,
  kExitTasksFailed = 1,  // the command ran, but some tasks or jobs failed
  kExitUsage = 2,        // bad command line
  kExitBadInput = 3,     // invalid spec, data or experiment directory
  kExitCluster = 4,      // SLURM or MPI refused or failed
  kExitInternal = 5,     // I/O error (a write failed, a disk is full) or a bug
  kExitBusy = 6,         // another process holds a lock the command needs (e.g. a running pack)
  // gridfold-worker only:
  kExitWorkerSetup = 2,    // the worker could not start: bad command line, spec, plan or data
  kExitWorkerStopped = 7,  // stopped by SIGTERM after checkpointing; rerunning resumes
};

}  // namespace gridfold
