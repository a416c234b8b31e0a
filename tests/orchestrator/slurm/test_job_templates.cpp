#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdlib>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "orchestrator/templates/script_template.hpp"
#include "tests/temp_dir.hpp"

using namespace gridfold;
using gridfold::testing::TempDir;

namespace {

const char* const kTrainTemplates[] = {"train.sbatch", "train-gpu.sbatch"};

// The values gridfold gives a training template, with a launcher and module lines of the test's choosing.
TemplateValues training_values(const std::string& launcher, std::vector<std::string> module_lines,
                               const std::string& experiment) {
  TemplateValues v;
  for (const char* name : {"job_name", "array", "log_dir", "time", "mem", "ntasks", "cpus_per_task", "gpus",
                           "ranks_per_gpu", "gpu_request", "signal_seconds", "element_offset", "tasks_per_element"}) {
    v.values[name] = "1";
  }
  v.values["experiment"] = experiment;
  v.values["worker"] = "gridfold-worker";
  v.values["launcher"] = launcher;
  v.blocks["sbatch_options"] = {};
  v.blocks["module_loads"] = std::move(module_lines);
  return v;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (std::size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    lines.push_back(text.substr(start, nl - start));
  }
  return lines;
}

// Index of the first line for which `match` holds, or lines.size().
template <typename F>
std::size_t first_line(const std::vector<std::string>& lines, F match) {
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (match(lines[i])) return i;
  }
  return lines.size();
}

}  // namespace

TEST_CASE("the training templates handle USR1 before module loads and the launcher start", "[template]") {
  for (const char* name : kTrainTemplates) {
    INFO(name);
    const auto lines = lines_of(
        render_template(load_template({}, name), name, training_values("fake-launcher", {"module load x"}, "/e")));
    const std::size_t trap = first_line(lines, [](const std::string& l) {
      return l.rfind("trap ", 0) == 0 && l.find("USR1") != std::string::npos;
    });
    const std::size_t modules = first_line(lines, [](const std::string& l) { return l == "module load x"; });
    const std::size_t launcher =
        first_line(lines, [](const std::string& l) { return l.rfind("fake-launcher gridfold-worker", 0) == 0; });
    REQUIRE(trap < lines.size());
    REQUIRE(modules < lines.size());
    REQUIRE(launcher < lines.size());
    CHECK(trap < modules);
    CHECK(trap < launcher);
  }
}

TEST_CASE("a USR1 while an element starts up does not kill the training script", "[template]") {
  for (const char* name : kTrainTemplates) {
    INFO(name);
    TempDir dir;
    // A launcher that is itself sent USR1 by the script handles it; it reports that it ran.
    const auto launcher = dir.write("fake-launcher", fmt::format("#!/bin/bash\n"
                                                                 "trap 'echo forwarded >> {0}/forwarded' USR1\n"
                                                                 "kill -USR1 $PPID\nsleep 0.2\necho ran > {0}/ran\n",
                                                                 dir.path().string()));
    std::filesystem::permissions(launcher, std::filesystem::perms::owner_exec, std::filesystem::perm_options::add);
    // A USR1 during the module loads (SLURM signals preempted or short jobs at any moment).
    const std::string script =
        render_template(load_template({}, name), name,
                        training_values(launcher.string(), {"kill -USR1 $$"}, dir.path().string()));
    const auto path = dir.write("job.sbatch", script);
    const int status = std::system(fmt::format("bash {} > {} 2>&1", path.string(), (dir / "job.out").string()).c_str());
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(std::filesystem::exists(dir / "ran"));
  }
}
