// The root of the errors gridfold throws on purpose, with one class per exit-code category:
// every specific error (SpecError, DataError, h5::Error, SlurmError, ...) derives from one
// of them, so the CLI edge maps a category to an exit code rather than listing classes.
#pragma once

#include <stdexcept>
#include <string>

#include "common/exit_codes.hpp"

namespace gridfold {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
  // The exit code a command that fails with this error ends with.
  virtual ExitCode exit_code() const noexcept = 0;
};

// The user's spec, data, experiment directory or archive is invalid: exit 3.
class BadInputError : public Error {
 public:
  using Error::Error;
  ExitCode exit_code() const noexcept override { return kExitBadInput; }
};

// SLURM, MPI or another program gridfold runs refused or failed: exit 4.
class ClusterError : public Error {
 public:
  using Error::Error;
  ExitCode exit_code() const noexcept override { return kExitCluster; }
};

// Another process holds a lock the command needs; trying later may succeed: exit 6.
class BusyError : public Error {
 public:
  using Error::Error;
  ExitCode exit_code() const noexcept override { return kExitBusy; }
};

// Reading or writing failed for a reason outside the input's content (a full disk, a
// permission, a file system without locks): exit 5.
class IoError : public Error {
 public:
  using Error::Error;
  ExitCode exit_code() const noexcept override { return kExitInternal; }
};

// A broken promise inside gridfold, i.e. a bug: exit 5.
class InternalError : public Error {
 public:
  using Error::Error;
  ExitCode exit_code() const noexcept override { return kExitInternal; }
};

}  // namespace gridfold
