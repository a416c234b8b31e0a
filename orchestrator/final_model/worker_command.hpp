// The model commands run their networks in gridfold-worker (the only program with Torch), as
// a subprocess whose output goes straight to the user.
#pragma once

#include <string>
#include <vector>

#include "common/errors.hpp"

namespace gridfold {

// A gridfold-worker subprocess failed; its exit code is passed on.
class WorkerError : public Error {
 public:
  WorkerError(const std::string& what, int exit_code) : Error(what), exit_code_(exit_code) {}
  ExitCode exit_code() const noexcept override { return static_cast<ExitCode>(exit_code_); }

 private:
  int exit_code_;
};

// Runs `gridfold-worker arguments...`. Throws WorkerError naming `what` ("refit of config
// c0001") with the worker's exit code when it fails; the worker has printed why.
void run_worker(const std::vector<std::string>& arguments, const std::string& what);

// --threads for the worker: `requested`, or every core when it is 0.
int worker_threads(int requested);

}  // namespace gridfold
