// The decisions of submit, status and resubmit, driven by a scripted fake of the SLURM
// commands (tests/support/scripted_commands.hpp) instead of a cluster.
#include <catch2/catch.hpp>

#include <cmath>

#include "common/fold_result.hpp"
#include "orchestrator/slurm/experiment_status.hpp"
#include "orchestrator/slurm/resubmission.hpp"
#include "common/text_file.hpp"
#include "orchestrator/slurm/slurm_client.hpp"
#include "orchestrator/slurm/submission.hpp"
#include "tests/support/scripted_commands.hpp"
#include "tests/support/test_experiment.hpp"
#include "tests/temp_dir.hpp"

using namespace gridfold;
using gridfold::testing::printed;
using gridfold::testing::refused;
using gridfold::testing::ScriptedCommands;
using gridfold::testing::TempDir;
using gridfold::testing::TestExperiment;

namespace {

// 5 tasks, one per element: with MaxArraySize 2 they become arrays of elements 0-1, 2-3 and 4.
const std::string kSpec = R"(name: scripted
data: {path: d.csv, targets: [y]}
resampling:
  outer: {kfold: {k: 5}}
slurm:
  tasks_per_element: 1
)";

SubmitOptions submit_options(const TestExperiment& e) {
  SubmitOptions o;
  o.experiment = e.layout().root();
  return o;
}

ResubmitOptions resubmit_options(const TestExperiment& e) {
  ResubmitOptions o;
  o.submit = submit_options(e);
  return o;
}

// Submits the experiment as arrays 101 (elements 0-1), 102 (2-3) and 103 (4), pack job 104.
void submit_three_arrays(const TestExperiment& e) {
  ScriptedCommands slurm;
  slurm.always("^scontrol show config", printed("MaxArraySize            = 2\n"))
      .once("^sbatch", printed("101\n"))
      .once("^sbatch", printed("102\n"))
      .once("^sbatch", printed("103\n"))
      .once("^sbatch", printed("104\n"));
  submit_experiment(submit_options(e), SlurmClient(slurm.runner()));
}

const ElementStatus& element(const ExperimentStatus& s, std::size_t number) {
  for (const auto& e : s.elements) {
    if (e.element == number) return e;
  }
  FAIL("element " << number << " is not in the status");
  throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("submit splits the elements at MaxArraySize and the pack job waits for every array", "[submit][scripted]") {
  TempDir dir;
  const TestExperiment e(dir / "exp", kSpec, 20);
  ScriptedCommands slurm;
  slurm.always("^scontrol show config", printed("MaxJobCount = 10000\nMaxArraySize            = 2\n"))
      .once("^sbatch", printed("101\n"))
      .once("^sbatch", printed("102\n"))
      .once("^sbatch", printed("103;cluster\n"))
      .once("^sbatch", printed("104\n"));
  const Submission s = submit_experiment(submit_options(e), SlurmClient(slurm.runner()));

  const auto sbatch = slurm.calls_matching("^sbatch");
  REQUIRE(sbatch.size() == 4);
  CHECK_THAT(sbatch[0], Catch::EndsWith("train-000.sbatch"));
  CHECK_THAT(sbatch[2], Catch::EndsWith("train-002.sbatch"));
  CHECK_THAT(sbatch[3], Catch::Contains("--dependency=afterany:101:102:103 ") && Catch::EndsWith("pack.sbatch"));
  REQUIRE(s.arrays.size() == 3);
  CHECK(read_text_file(s.arrays[0].script).find("#SBATCH --array=0-1\n") != std::string::npos);
  CHECK(read_text_file(s.arrays[1].script).find("--element-offset 2 ") != std::string::npos);
  CHECK(read_text_file(s.arrays[2].script).find("#SBATCH --array=0\n") != std::string::npos);
  CHECK(read_text_file(s.arrays[2].script).find("--element-offset 4 ") != std::string::npos);

  const auto recorded = read_submissions(e.layout());
  REQUIRE(recorded.size() == 1);
  CHECK(recorded[0].pack_job_id == "104");
  CHECK(job_ids(recorded) == std::vector<std::string>{"101", "102", "103", "104"});
}

TEST_CASE("a submission sbatch refuses midway records exactly the jobs it submitted", "[submit][scripted]") {
  TempDir dir;
  const TestExperiment e(dir / "exp", kSpec, 20);
  ScriptedCommands slurm;
  slurm.always("^scontrol show config", printed("MaxArraySize = 2\n"))
      .once("^sbatch", printed("101\n"))
      .always("^sbatch", refused("sbatch: error: QOSMaxSubmitJobPerUserLimit\n"));
  CHECK_THROWS_WITH(submit_experiment(submit_options(e), SlurmClient(slurm.runner())),
                    Catch::Contains("QOSMaxSubmitJobPerUserLimit"));
  CHECK(slurm.calls_matching("^sbatch").size() == 2);  // no pack job after the refusal

  const auto recorded = read_submissions(e.layout());
  REQUIRE(recorded.size() == 1);
  CHECK(job_ids(recorded) == std::vector<std::string>{"101"});

  SECTION("cancel cancels the submitted array and nothing else") {
    ScriptedCommands cancel;
    cancel.always("^scancel", printed(""));
    CHECK(cancel_experiment(e.layout(), SlurmClient(cancel.runner())) == std::vector<std::string>{"101"});
    CHECK(cancel.calls() == std::vector<std::string>{"scancel 101"});
  }

  SECTION("status shows the elements never submitted as not run, not as failed") {
    ScriptedCommands status;
    status.always("^sacct", refused("sacct: error: Slurm accounting storage is disabled\n"))
        .always("^squeue", printed("101_0|RUNNING|n1\n101_1|PENDING|\n"));
    const ExperimentStatus s = collect_status(e.layout(), SlurmClient(status.runner()));
    CHECK(status.calls_matching(" -j 101$").size() == 2);  // squeue and sacct asked for the real job only
    CHECK(s.failed_elements().empty());
    CHECK(s.element_counts.at(ElementState::running) == 1);
    CHECK(s.element_counts.at(ElementState::pending) == 1);
  }

  SECTION("resubmit submits the elements never submitted and a pack job after everything") {
    ScriptedCommands again;
    again.always("^sacct", printed("101_0|RUNNING|0:0|n1\n101_1|PENDING|0:0|None assigned\n"))
        .always("^squeue", printed("101_0|RUNNING|n1\n101_1|PENDING|\n"))
        .once("^sbatch", printed("201\n"))
        .once("^sbatch", printed("202\n"))
        .once("^sbatch", printed("203\n"));
    const auto s = resubmit_experiment(resubmit_options(e), SlurmClient(again.runner()));
    REQUIRE(s);
    REQUIRE(s->arrays.size() == 2);
    CHECK(s->arrays[0].chunk.first_element == 2);
    CHECK(s->arrays[0].indices == std::vector<std::size_t>{0, 1});
    CHECK(s->arrays[1].chunk.first_element == 4);
    CHECK(s->arrays[1].indices == std::vector<std::size_t>{0});
    CHECK_THAT(again.calls_matching("^sbatch").back(), Catch::Contains("--dependency=afterany:101:201:202 "));
    CHECK(s->pack_job_id == "203");
  }
}

TEST_CASE("status takes ended elements from accounting and active ones from squeue", "[status][scripted]") {
  TempDir dir;
  const TestExperiment e(dir / "exp", kSpec, 20);
  submit_three_arrays(e);
  ScriptedCommands slurm;
  // Accounting lags: it still has 102_1 pending, which squeue already shows running.
  slurm
      .always("^sacct", printed("101_0|COMPLETED|0:0|n1\n101_1|FAILED|2:0|n2\n102_0|TIMEOUT|0:0|n1\n"
                                "102_1|PENDING|0:0|None assigned\n103_0|PENDING|0:0|None assigned\n"
                                "104|PENDING|0:0|None assigned\n"))
      .always("^squeue", printed("102_1|RUNNING|n2\n103_0|PENDING|\n104|PENDING|\n"));
  const ExperimentStatus s = collect_status(e.layout(), SlurmClient(slurm.runner()));
  CHECK(slurm.calls_matching("^sacct .* -j 101,102,103,104$").size() == 1);
  CHECK(s.accounting);
  CHECK(element(s, 0).state == ElementState::completed);
  CHECK(element(s, 1).state == ElementState::failed);
  CHECK(element(s, 1).exit_code == "2:0");
  CHECK(element(s, 2).state == ElementState::timeout);
  CHECK(element(s, 3).state == ElementState::running);
  CHECK(element(s, 4).state == ElementState::pending);
  CHECK(s.failed_elements().size() == 2);
  CHECK(s.pack_job_id == "104");
  CHECK(s.pack_state == "pending");
}

TEST_CASE("without accounting, status judges ended elements by their results on disk", "[status][scripted]") {
  TempDir dir;
  const TestExperiment e(dir / "exp", kSpec, 20);
  submit_three_arrays(e);
  e.write_result(0);
  ScriptedCommands slurm;
  slurm.always("^sacct", refused("sacct: error: Slurm accounting storage is disabled\n"))
      .always("^squeue", printed("103_0|RUNNING|n1\n104|PENDING|\n"));
  const ExperimentStatus s = collect_status(e.layout(), SlurmClient(slurm.runner()));
  CHECK_FALSE(s.accounting);
  CHECK(element(s, 0).state == ElementState::completed);
  CHECK(element(s, 1).state == ElementState::failed);
  CHECK(element(s, 1).slurm_state == "ended (no accounting)");
  CHECK(element(s, 4).state == ElementState::running);
  CHECK(s.tasks_done == 1);
  CHECK(render_line(s).find("accounting off") != std::string::npos);

  SECTION("sacct failing for another reason is a cluster error") {
    ScriptedCommands broken;
    broken.always("^sacct", refused("sacct: error: slurmdbd: connection refused\n")).always("^squeue", printed(""));
    CHECK_THROWS_AS(collect_status(e.layout(), SlurmClient(broken.runner())), SlurmError);
  }
}

TEST_CASE("resubmit reruns only elements without results that SLURM no longer holds", "[resubmit][scripted]") {
  TempDir dir;
  const TestExperiment e(dir / "exp", kSpec, 20);
  submit_three_arrays(e);
  e.write_result(0);
  ScriptedCommands slurm;
  // Element 0 has its result, 1 failed, 2 timed out, 3 is pending again (requeued) and 4 runs;
  // the pack job still waits.
  slurm.always("^sacct", printed("101_0|COMPLETED|0:0|n1\n101_1|FAILED|1:0|n2\n102_0|TIMEOUT|0:0|n1\n"))
      .always("^squeue", printed("102_1|PENDING|\n103_0|RUNNING|n1\n104|PENDING|\n"));

  SECTION("the failed and timed-out elements go again, and the pending pack job waits for them") {
    slurm.once("^sbatch", printed("201\n")).once("^sbatch", printed("202\n")).always("^scontrol update", printed(""));
    const auto s = resubmit_experiment(resubmit_options(e), SlurmClient(slurm.runner()));
    REQUIRE(s);
    REQUIRE(s->arrays.size() == 2);
    CHECK(s->arrays[0].chunk.first_element == 0);
    CHECK(s->arrays[0].indices == std::vector<std::size_t>{1});
    CHECK(s->arrays[1].chunk.first_element == 2);
    CHECK(s->arrays[1].indices == std::vector<std::size_t>{0});  // not 1: that one is pending
    CHECK(read_text_file(s->arrays[0].script).find("#SBATCH --array=1\n") != std::string::npos);
    CHECK(slurm.calls_matching("^sbatch").size() == 2);  // no second pack job
    CHECK(slurm.calls_matching("^scontrol update") ==
          std::vector<std::string>{"scontrol update JobId=104 Dependency=afterany:102:103:201:202"});
    CHECK(s->pack_job_id == "104");
  }

  SECTION("sbatch refusing midway leaves the pending pack job on record, waiting for what was submitted") {
    slurm.once("^sbatch", printed("201\n"))
        .once("^sbatch", refused("sbatch: error: Batch job submission failed: Job violates accounting/QOS policy\n"))
        .always("^scontrol update", printed(""));
    CHECK_THROWS_WITH(resubmit_experiment(resubmit_options(e), SlurmClient(slurm.runner())),
                      Catch::Contains("QOS policy"));
    CHECK(slurm.calls_matching("^scontrol update") ==
          std::vector<std::string>{"scontrol update JobId=104 Dependency=afterany:102:103:201"});
    const auto recorded = read_submissions(e.layout());
    REQUIRE(recorded.size() == 2);
    CHECK(job_ids(recorded) == std::vector<std::string>{"101", "102", "103", "104", "201"});

    // The next resubmit, with element 1 pending under 201, sends only element 2 and keeps
    // the one pack job.
    ScriptedCommands later;
    later.always("^sacct", printed("101_0|COMPLETED|0:0|n1\n101_1|FAILED|1:0|n2\n102_0|TIMEOUT|0:0|n1\n"))
        .always("^squeue", printed("102_1|PENDING|\n103_0|RUNNING|n1\n104|PENDING|\n201_1|PENDING|\n"))
        .once("^sbatch", printed("301\n"))
        .always("^scontrol update", printed(""));
    const auto s = resubmit_experiment(resubmit_options(e), SlurmClient(later.runner()));
    REQUIRE(s);
    REQUIRE(s->arrays.size() == 1);
    CHECK(s->arrays[0].chunk.first_element == 2);
    CHECK(s->arrays[0].indices == std::vector<std::size_t>{0});
    CHECK(later.calls_matching("^sbatch").size() == 1);
    CHECK(later.calls_matching("^scontrol update") ==
          std::vector<std::string>{"scontrol update JobId=104 Dependency=afterany:102:103:201:301"});
  }
}

TEST_CASE("resubmit never reruns a task that a race eliminated", "[resubmit][scripted][race]") {
  TempDir dir;
  // 2 configs x 6 splits, one task per element: round 0 is elements 0-9 (splits 0-4 of both
  // configs), round 1 elements 10 (config 0, split 5) and 11 (config 1, split 5).
  const TestExperiment e(dir / "exp",
                         "name: race\ndata: {path: d.csv, targets: [y]}\n"
                         "resampling: {outer: {repeated_holdout: {n: 6, test_fraction: 0.2}}}\n"
                         "search: {strategy: race, rounds: [5]}\n"
                         "grid:\n  training.lr: [0.1, 0.001]\nslurm: {tasks_per_element: 1}\n",
                         50);
  ScriptedCommands submit;
  submit.always("^scontrol show config", printed("MaxArraySize            = 100\n"))
      .once("^sbatch", printed("101\n"))
      .once("^sbatch", printed("102\n"));
  submit_experiment(submit_options(e), SlurmClient(submit.runner()));
  for (std::size_t t = 0; t < 10; ++t) {
    FoldResult r = e.result(t);
    const Task& task = e.plan().tasks[t];
    r.metrics["y"]["r2"] = (task.config == 1 ? 0.2 : 0.8) + 0.05 * std::sin(1.3 * task.outer_fold) +
                           0.02 * std::cos(2.9 * task.outer_fold + 1.9 * task.config);
    write_fold_result(e.layout().result(r.config_id, r.outer_fold, r.inner_fold), r);
  }
  // The elements of round 1 were killed before their tasks ran; no decision was recorded.
  ScriptedCommands slurm;
  std::string accounted;
  for (int i = 0; i < 10; ++i) accounted += "101_" + std::to_string(i) + "|COMPLETED|0:0|n1\n";
  accounted += "101_10|NODE_FAIL|0:0|n1\n101_11|NODE_FAIL|0:0|n1\n";
  slurm.always("^sacct", printed(accounted))
      .always("^squeue", printed("102|PENDING|\n"))
      .once("^sbatch", printed("201\n"))
      .always("^scontrol update", printed(""));
  const auto s = resubmit_experiment(resubmit_options(e), SlurmClient(slurm.runner()));
  REQUIRE(s);
  REQUIRE(s->arrays.size() == 1);
  CHECK(s->arrays[0].indices == std::vector<std::size_t>{10});  // not 11: config 1 is eliminated
  CHECK(std::filesystem::exists(e.layout().root() / "race" / "outer" / "round01.json"));
}
