#include <catch2/catch.hpp>

#include "orchestrator/templates/script_template.hpp"
#include "orchestrator/process/shell_quote.hpp"
#include "orchestrator/slurm/slurm_client.hpp"
#include "orchestrator/slurm/submission.hpp"

#include <fstream>
#include "tests/temp_dir.hpp"

using namespace gridfold;
using gridfold::testing::TempDir;

TEST_CASE("elements beyond MaxArraySize are split into several arrays", "[submit]") {
  const auto chunks = split_into_arrays(10, 4);
  REQUIRE(chunks.size() == 3);
  CHECK(chunks[0].first_element == 0);
  CHECK(chunks[0].count == 4);
  CHECK(chunks[1].first_element == 4);
  CHECK(chunks[2].first_element == 8);
  CHECK(chunks[2].count == 2);
  CHECK(split_into_arrays(4, 4).size() == 1);
  CHECK(split_into_arrays(0, 4).empty());
}

TEST_CASE("MaxArraySize is read from scontrol show config", "[slurm]") {
  const std::string config = "Configuration data as of 2026-11-26T01:00:00\nMailProg                = /bin/mail\n"
                             "MaxArraySize            = 4\nMaxJobCount             = 10000\n";
  CHECK(parse_max_array_size(config) == 4);
  CHECK_THROWS_WITH(parse_max_array_size("MaxJobCount = 1\n"), Catch::Contains("no MaxArraySize"));
  CHECK_THROWS_WITH(parse_max_array_size("MaxArraySize = lots\n"), Catch::Contains("'lots'"));
}

TEST_CASE("sbatch --parsable output yields the job id", "[slurm]") {
  CHECK(parse_sbatch_job_id("1234\n") == "1234");
  CHECK(parse_sbatch_job_id("1234;cluster\n") == "1234");
  CHECK(parse_sbatch_job_id("sbatch: warning: something\n77\n") == "77");
  CHECK_THROWS_WITH(parse_sbatch_job_id("sbatch: error: Batch job submission failed\n"), Catch::Contains("not a job id"));
}

TEST_CASE("a SLURM client reports a failing command with its stderr", "[slurm]") {
  std::vector<std::vector<std::string>> calls;
  const SlurmClient client([&](const std::vector<std::string>& argv) {
    calls.push_back(argv);
    return CommandResult{1, "", "sbatch: error: invalid partition specified: nope\n"};
  });
  CHECK_THROWS_WITH(client.submit("/x/train.sbatch", {"--dependency=afterany:1"}),
                    Catch::Contains("invalid partition specified: nope"));
  REQUIRE(calls.size() == 1);
  CHECK(calls[0] == std::vector<std::string>{"sbatch", "--parsable", "--dependency=afterany:1", "/x/train.sbatch"});
}

TEST_CASE("a template value can never become a command", "[template]") {
  TemplateValues v;
  v.values["experiment"] = "x; rm -rf ~";
  v.values["quote"] = "it's $(whoami) `id`";
  const std::string out = render_template("run --experiment {{experiment}} --note {{ quote }}\n", "t.sbatch", v);
  CHECK(out == "run --experiment 'x; rm -rf ~' --note 'it'\\''s $(whoami) `id`'\n");
  TempDir dir;
  const auto script = dir.write("s.sh", "printf '%s\\n' " + shell_quote(v.values["experiment"]) + " " +
                                            shell_quote(v.values["quote"]) + " > " + (dir / "out").string() + "\n");
  REQUIRE(std::system(("sh " + script.string()).c_str()) == 0);
  std::ifstream in(dir / "out");
  std::string first, second;
  std::getline(in, first);
  std::getline(in, second);
  CHECK(first == "x; rm -rf ~");
  CHECK(second == "it's $(whoami) `id`");
}

TEST_CASE("an unsafe value on an #SBATCH line is refused, not quoted", "[template]") {
  TemplateValues v;
  v.values["partition"] = "debug --wrap=evil";
  CHECK_THROWS_WITH(render_template("#SBATCH --partition={{partition}}\n", "t.sbatch", v),
                    Catch::Contains("t.sbatch:1") && Catch::Contains("cannot go on an #SBATCH line"));
}

TEST_CASE("an unknown placeholder names the template line and suggests the nearest", "[template]") {
  TemplateValues v;
  v.values["experiment"] = "/e";
  CHECK_THROWS_WITH(render_template("a\nrun {{experimnt}}\n", "mine.sbatch", v),
                    Catch::Contains("mine.sbatch:2") && Catch::Contains("did you mean 'experiment'?"));
}

TEST_CASE("a block placeholder expands to its generated lines", "[template]") {
  TemplateValues v;
  v.blocks["module_loads"] = {"module load cuda/12.1", "module load gcc"};
  v.blocks["empty"] = {};
  CHECK(render_template("a\n  {{module_loads}}\n{{empty}}\nb\n", "t", v) ==
        "a\nmodule load cuda/12.1\nmodule load gcc\nb\n");
}

TEST_CASE("every built-in template renders with the values gridfold provides", "[template]") {
  TemplateValues v;
  for (const char* name : {"job_name", "array", "log_dir", "time", "mem", "ntasks", "cpus_per_task", "gpus",
                           "signal_seconds", "launcher", "worker", "experiment", "element_offset", "tasks_per_element",
                           "gridfold"}) {
    v.values[name] = "1";
  }
  v.blocks["sbatch_options"] = {};
  v.blocks["module_loads"] = {};
  for (const char* name : {"train.sbatch", "train-gpu.sbatch", "pack.sbatch"}) {
    INFO(name);
    const std::string out = render_template(load_template({}, name), name, v);
    CHECK(out.find("{{") == std::string::npos);
    CHECK(out.rfind("#!/bin/bash", 0) == 0);
  }
}
