#include "orchestrator/templates/template_dir.hpp"

#include <cstdlib>

namespace gridfold {
namespace fs = std::filesystem;

fs::path executable_dir() {
  return fs::read_symlink("/proc/self/exe").parent_path();
}

fs::path builtin_template_dir() {
  if (const char* env = std::getenv("GRIDFOLD_TEMPLATE_DIR"); env && *env) return env;
  const fs::path installed = executable_dir().parent_path() / "share" / "gridfold" / "slurm_templates";
  if (fs::is_directory(installed)) return installed;
  return fs::path(GRIDFOLD_SOURCE_DIR) / "slurm_templates";
}

fs::path worker_executable() {
  const fs::path beside = executable_dir() / "gridfold-worker";
  if (fs::exists(beside)) return beside;
  return "gridfold-worker";
}

}  // namespace gridfold
