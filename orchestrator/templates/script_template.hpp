// Job-script templates (slurm_templates/*.sbatch; syntax in docs/templates.md).
//
// `{{name}}` is replaced by a value. In the script body the value is shell-quoted, so no
// value can become a command; on `#SBATCH` lines, which sbatch reads without a shell, a
// value must consist of shell-safe characters or rendering fails. A placeholder alone on
// its line may instead name a block: lines that gridfold generated itself (the optional
// #SBATCH options, `module load` lines).
#pragma once

#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/errors.hpp"

namespace gridfold {

class TemplateError : public BadInputError {
 public:
  using BadInputError::BadInputError;
};

struct TemplateValues {
  std::map<std::string, std::string> values;
  std::map<std::string, std::vector<std::string>> blocks;
};

// `source` names the template in error messages (file:line).
std::string render_template(const std::string& text, const std::string& source, const TemplateValues& values);

// The template text: a user's file, or the built-in one of that name from slurm_templates/.
std::string load_template(const std::filesystem::path& user_template, const std::string& builtin_name);

}  // namespace gridfold
