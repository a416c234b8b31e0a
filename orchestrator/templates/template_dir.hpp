// Where the built-in job templates and gridfold's own binaries are found at run time.
#pragma once

#include <filesystem>

namespace gridfold {

// The directory of the running gridfold executable.
std::filesystem::path executable_dir();

// $GRIDFOLD_TEMPLATE_DIR, else the installed share/gridfold/slurm_templates, else the
// source tree's slurm_templates (for a build tree).
std::filesystem::path builtin_template_dir();

// gridfold-worker next to this executable, else from PATH.
std::filesystem::path worker_executable();

}  // namespace gridfold
