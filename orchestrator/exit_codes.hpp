// Exit codes of the gridfold CLI; documented in docs/cli.md so that scripts can branch on them.
#pragma once

namespace gridfold {

enum ExitCode : int {
  kExitOk = 0,
  kExitTasksFailed = 1,   // the command ran, but some tasks or jobs failed
  kExitUsage = 2,         // bad command line
  kExitBadInput = 3,      // invalid spec, data or experiment directory
  kExitCluster = 4,       // SLURM or MPI refused or failed
  kExitInternal = 5,      // I/O error or a bug
  kExitBusy = 6,          // another process holds the experiment's lock (e.g. a running pack)
};

}  // namespace gridfold
