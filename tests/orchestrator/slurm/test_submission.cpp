#include <catch2/catch.hpp>

#include "orchestrator/templates/script_template.hpp"
#include "orchestrator/process/shell_quote.hpp"
#include "orchestrator/slurm/slurm_client.hpp"
#include "orchestrator/slurm/submission.hpp"

#include <algorithm>
#include <fstream>

#include "tests/support/test_experiment.hpp"
#include "tests/support/scripted_commands.hpp"
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
  const std::string config =
      "Configuration data as of 2026-11-26T01:00:00\nMailProg                = /bin/mail\n"
      "MaxArraySize            = 4\nMaxJobCount             = 10000\n";
  CHECK(parse_max_array_size(config) == 4);
  CHECK_THROWS_WITH(parse_max_array_size("MaxJobCount = 1\n"), Catch::Contains("no MaxArraySize"));
  CHECK_THROWS_WITH(parse_max_array_size("MaxArraySize = lots\n"), Catch::Contains("'lots'"));
}

TEST_CASE("sbatch --parsable output yields the job id", "[slurm]") {
  CHECK(parse_sbatch_job_id("1234\n") == "1234");
  CHECK(parse_sbatch_job_id("1234;cluster\n") == "1234");
  CHECK(parse_sbatch_job_id("sbatch: warning: something\n77\n") == "77");
  CHECK_THROWS_WITH(parse_sbatch_job_id("sbatch: error: Batch job submission failed\n"),
                    Catch::Contains("not a job id"));
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
                           "ranks_per_gpu", "gpu_request", "signal_seconds", "launcher", "worker", "experiment",
                           "element_offset", "tasks_per_element", "gridfold"}) {
    v.values[name] = "1";
  }
  v.blocks["sbatch_options"] = {};
  v.blocks["module_loads"] = {};
  for (const char* name : {"train.sbatch", "train-gpu.sbatch", "pack.sbatch", "wave.sbatch"}) {
    INFO(name);
    const std::string out = render_template(load_template({}, name), name, v);
    CHECK(out.find("{{") == std::string::npos);
    CHECK(out.rfind("#!/bin/bash", 0) == 0);
  }
}

namespace {

// 12 tasks, one per element: 12 array elements.
const std::string kThrottledSpec = R"(name: throttled
data: {path: d.csv, targets: [y]}
grid:
  training.lr: [0.1, 0.01, 0.001]
resampling:
  outer: {kfold: {k: 4}}
slurm:
  array_throttle: THROTTLE
)";

std::string throttled_spec(int throttle) {
  std::string text = kThrottledSpec;
  return text.replace(text.find("THROTTLE"), 8, std::to_string(throttle));
}

// A cluster whose scontrol reports MaxArraySize 5, whose sbatch hands out job ids 100, 101, ...
// and which records every command it is given.
// A cluster whose MaxArraySize is 5 and whose sbatch hands out job ids 100, 101, ...
testing::ScriptedCommands cluster_of_max_array_size_5() {
  testing::ScriptedCommands cluster;
  cluster.always("^scontrol show config",
                 testing::printed("MaxArraySize            = 5\nMaxJobCount             = 10000\n"));
  for (int id = 100; id < 120; ++id) cluster.once("^sbatch ", testing::printed(std::to_string(id) + "\n"));
  return cluster;
}

// The sbatch command line that submitted `script` ("" if none did).
std::string sbatch_call(const testing::ScriptedCommands& cluster, const std::filesystem::path& script) {
  for (const auto& c : cluster.calls()) {
    if (c.rfind("sbatch ", 0) == 0 && c.ends_with(" " + script.string())) return c;
  }
  return "";
}

// The --array value of a rendered script.
std::string array_line(const std::filesystem::path& script) {
  std::ifstream in(script);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("#SBATCH --array=", 0) == 0) return line.substr(16);
  }
  return "";
}

}  // namespace

TEST_CASE("the throttle holds for the whole experiment when it is split into several arrays", "[submit]") {
  TempDir dir;
  const testing::TestExperiment e(dir / "exp", throttled_spec(6), 40);
  testing::ScriptedCommands cluster = cluster_of_max_array_size_5();
  SubmitOptions options;
  options.experiment = e.layout().root();
  const Submission s = submit_experiment(options, SlurmClient(cluster.runner()));
  REQUIRE(s.arrays.size() == 3);  // 5 + 5 + 2 elements
  CHECK(array_line(s.arrays[0].script) == "0-4%2");
  CHECK(array_line(s.arrays[1].script) == "0-4%2");
  CHECK(array_line(s.arrays[2].script) == "0-1%2");
  for (const auto& a : s.arrays) {
    CHECK(a.throttle == 2);
    CHECK_FALSE(a.after);
  }
}

TEST_CASE("a throttle below the number of arrays chains arrays so that no more elements run at once", "[submit]") {
  TempDir dir;
  const testing::TestExperiment e(dir / "exp", throttled_spec(2), 40);
  testing::ScriptedCommands cluster = cluster_of_max_array_size_5();
  SubmitOptions options;
  options.experiment = e.layout().root();
  const Submission s = submit_experiment(options, SlurmClient(cluster.runner()));
  REQUIRE(s.arrays.size() == 3);
  CHECK(array_line(s.arrays[0].script) == "0-4%1");
  CHECK(array_line(s.arrays[1].script) == "0-4%1");
  CHECK(array_line(s.arrays[2].script) == "0-1%1");
  // Two lanes of %1: arrays 0 and 1 run side by side, array 2 after array 0.
  CHECK_FALSE(s.arrays[0].after);
  CHECK_FALSE(s.arrays[1].after);
  REQUIRE(s.arrays[2].after);
  CHECK(*s.arrays[2].after == 0);
  CHECK_THAT(sbatch_call(cluster, s.arrays[2].script), Catch::Contains("--dependency=afterany:" + s.arrays[0].job_id));
  CHECK(sbatch_call(cluster, s.arrays[0].script) == "sbatch --parsable " + s.arrays[0].script.string());
}

TEST_CASE("the throttle is shared out with the remainder going to the first arrays", "[submit]") {
  const auto lanes = share_throttle(7, 3);
  REQUIRE(lanes.size() == 3);
  CHECK(lanes[0].throttle == 3);
  CHECK(lanes[1].throttle == 2);
  CHECK(lanes[2].throttle == 2);
  for (const auto& l : lanes) CHECK_FALSE(l.after);
  const auto chained = share_throttle(2, 5);
  REQUIRE(chained.size() == 5);
  for (const auto& l : chained) CHECK(l.throttle == 1);
  CHECK_FALSE(chained[1].after);
  CHECK(*chained[2].after == 0);
  CHECK(*chained[3].after == 1);
  CHECK(*chained[4].after == 2);
  const auto unthrottled = share_throttle(0, 2);
  CHECK(unthrottled[0].throttle == 0);
  CHECK(unthrottled[1].throttle == 0);
  CHECK_FALSE(unthrottled[1].after);
  CHECK(share_throttle(4, 1)[0].throttle == 4);
}

TEST_CASE("a dry run shows the split the cluster's MaxArraySize makes", "[submit]") {
  TempDir dir;
  const testing::TestExperiment e(dir / "exp", throttled_spec(0), 40);
  testing::ScriptedCommands cluster = cluster_of_max_array_size_5();
  SubmitOptions options;
  options.experiment = e.layout().root();
  options.dry_run = true;
  const Submission s = submit_experiment(options, SlurmClient(cluster.runner()));
  CHECK(s.arrays.size() == 3);
  CHECK(render_text(s).find("MaxArraySize 5") != std::string::npos);
  for (const auto& c : cluster.calls()) CHECK(c.rfind("scontrol ", 0) == 0);
}

TEST_CASE("a dry run without an answering cluster shows one array and says why", "[submit]") {
  TempDir dir;
  const testing::TestExperiment e(dir / "exp", throttled_spec(0), 40);
  testing::ScriptedCommands cluster = cluster_of_max_array_size_5();
  cluster.always("^scontrol show config",
                 testing::refused("slurm_load_ctl_conf error: Unable to contact slurm controller\n"));
  SubmitOptions options;
  options.experiment = e.layout().root();
  options.dry_run = true;
  const Submission s = submit_experiment(options, SlurmClient(cluster.runner()));
  CHECK(s.arrays.size() == 1);
  const std::string text = render_text(s);
  CHECK(text.find("Unable to contact slurm controller") != std::string::npos);
  CHECK(text.find("may split") != std::string::npos);
}

TEST_CASE("a resubmission's time limit must leave room for the USR1 before it", "[submit]") {
  TempDir dir;
  const testing::TestExperiment e(dir / "exp", throttled_spec(0), 40);
  testing::ScriptedCommands cluster = cluster_of_max_array_size_5();
  SubmitOptions options;
  options.experiment = e.layout().root();
  options.dry_run = true;
  options.time = "2";  // 120 s, and USR1 comes 120 s before the limit
  const std::vector<ArrayRequest> one{ArrayRequest{ArrayChunk{0, 12}, {3}}};
  CHECK_THROWS_AS(submit_arrays(e.layout(), e.plan(), e.spec(), one, options, SlurmClient(cluster.runner()), {}),
                  SpecError);
  CHECK_THROWS_WITH(submit_arrays(e.layout(), e.plan(), e.spec(), one, options, SlurmClient(cluster.runner()), {}),
                    Catch::Contains("'2' (120 s)") && Catch::Contains("slurm.signal_seconds (120 s)"));
  options.time = "3";
  CHECK(submit_arrays(e.layout(), e.plan(), e.spec(), one, options, SlurmClient(cluster.runner()), {}).arrays.size() ==
        1);
}
