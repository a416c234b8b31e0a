// Submission in waves under a queue limit (orchestrator/slurm/waves.hpp), driven by a scripted
// fake of the SLURM commands.
#include <catch2/catch.hpp>

#include "orchestrator/slurm/experiment_status.hpp"
#include "orchestrator/slurm/resubmission.hpp"
#include "common/text_file.hpp"
#include "orchestrator/slurm/slurm_client.hpp"
#include "orchestrator/slurm/waves.hpp"
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

// 5 tasks, one per element, at most 4 jobs queued.
const std::string kSpec = R"(name: waves
data: {path: d.csv, targets: [y]}
resampling:
  outer: {kfold: {k: 5}}
slurm:
  tasks_per_element: 1
  max_queued: 4
)";

SubmitOptions options_for(const TestExperiment& e) {
  SubmitOptions o;
  o.experiment = e.layout().root();
  return o;
}

// The first round: nothing queued, so elements 0-1 (array 101), their pack job 102 and the
// chain job 103 fill the 4 slots.
WaveRound submit_first_wave(const TestExperiment& e) {
  ScriptedCommands slurm;
  slurm.always("^scontrol show config", printed("MaxArraySize = 2\n"))
      .always("^squeue -h -r -u ", printed(""))
      .once("^sbatch", printed("101\n"))
      .once("^sbatch", printed("102\n"))
      .once("^sbatch", printed("103\n"));
  return submit_waves(options_for(e), SlurmClient(slurm.runner()));
}

}  // namespace

TEST_CASE("without a limit every element goes in one wave, or in waves of pack_every", "[waves]") {
  const WaveRoundPlan all = plan_wave_round(0, 10, std::nullopt, 0);
  REQUIRE(all.waves.size() == 1);
  CHECK(all.waves[0].count == 10);
  CHECK_FALSE(all.chain);
  const WaveRoundPlan every4 = plan_wave_round(0, 10, std::nullopt, 4);
  REQUIRE(every4.waves.size() == 3);
  CHECK(every4.waves[2].first_element == 8);
  CHECK(every4.waves[2].count == 2);
  CHECK_FALSE(every4.chain);
}

TEST_CASE("under a limit a round takes what fits, keeping a slot for the chain job", "[waves]") {
  // 10 free slots, 20 elements left: 8 elements, their pack job and the chain job.
  const WaveRoundPlan limited = plan_wave_round(0, 20, 10, 0);
  REQUIRE(limited.waves.size() == 1);
  CHECK(limited.waves[0].count == 8);
  CHECK(limited.chain);
  // The last wave needs no chain job after it.
  const WaveRoundPlan last = plan_wave_round(12, 20, 9, 0);
  REQUIRE(last.waves.size() == 1);
  CHECK(last.waves[0].count == 8);
  CHECK_FALSE(last.chain);
  // pack_every 3 under 10 slots: waves of 3 and 3 (8 slots with their pack jobs), then 1 + 1 + chain.
  const WaveRoundPlan small = plan_wave_round(0, 20, 10, 3);
  REQUIRE(small.waves.size() == 2);
  CHECK(small.waves[1].first_element == 3);
  CHECK(small.chain);
  // Fewer than 3 free slots: no wave fits with its pack job and a chain job.
  CHECK(plan_wave_round(0, 20, 2, 0).waves.empty());
  CHECK(plan_wave_round(0, 20, 2, 0).chain);
}

TEST_CASE("submit queues the first wave with its pack job and a chain job after the wave", "[waves][scripted]") {
  TempDir dir;
  const TestExperiment e(dir / "exp", kSpec, 20);
  ScriptedCommands slurm;
  slurm.always("^scontrol show config", printed("MaxArraySize = 2\n"))
      .always("^squeue -h -r -u ", printed(""))
      .once("^sbatch", printed("101\n"))
      .once("^sbatch", printed("102\n"))
      .once("^sbatch", printed("103\n"));
  const WaveRound round = submit_waves(options_for(e), SlurmClient(slurm.runner()));

  const auto sbatch = slurm.calls_matching("^sbatch");
  REQUIRE(sbatch.size() == 3);
  CHECK_THAT(sbatch[0], Catch::EndsWith("train-000.sbatch"));
  CHECK_THAT(sbatch[1], Catch::Contains("--dependency=afterany:101 ") && Catch::EndsWith("pack.sbatch"));
  CHECK_THAT(sbatch[2], Catch::Contains("--dependency=afterany:101 ") && Catch::EndsWith("wave.sbatch"));
  CHECK_THAT(read_text_file(e.layout().slurm_dir() / "wave.sbatch"), Catch::Contains(" submit --next-wave "));
  REQUIRE(round.submissions.size() == 1);
  CHECK(read_text_file(round.submissions[0].arrays[0].script).find("#SBATCH --array=0-1\n") != std::string::npos);

  const auto state = read_wave_state(e.layout());
  REQUIRE(state);
  REQUIRE(state->waves.size() == 1);
  CHECK(state->next_element() == 2);
  CHECK(state->chain_job_id == "103");
  CHECK(state->max_queued == 4);
}

TEST_CASE("the chain job submits the next wave, whose pack job waits for the previous one", "[waves][scripted]") {
  TempDir dir;
  const TestExperiment e(dir / "exp", kSpec, 20);
  submit_first_wave(e);

  ScriptedCommands slurm;
  // Queued now: the chain job itself; the first pack job is still pending.
  slurm.always("^scontrol show config", printed("MaxArraySize = 2\n"))
      .always("^squeue -h -r -u ", printed("103\n"))
      .always("^squeue -h -r -o \\S+ -j 102$", printed("102|PENDING|\n"))
      .once("^sbatch", printed("201\n"))
      .once("^sbatch", printed("202\n"))
      .once("^sbatch", printed("203\n"));
  const WaveRound round = submit_waves(options_for(e), SlurmClient(slurm.runner()), "103");
  // 3 free slots, 3 elements left: one element, its pack job and the next chain job.
  const auto sbatch = slurm.calls_matching("^sbatch");
  REQUIRE(sbatch.size() == 3);
  CHECK_THAT(sbatch[1], Catch::Contains("--dependency=afterany:102:201 "));
  CHECK_THAT(sbatch[2], Catch::Contains("--dependency=afterany:201 ") && Catch::EndsWith("wave.sbatch"));
  REQUIRE(round.submissions.size() == 1);
  CHECK(round.submissions[0].arrays[0].chunk.first_element == 2);
  const auto state = read_wave_state(e.layout());
  CHECK(state->next_element() == 3);
  CHECK(state->chain_job_id == "203");

  SECTION("a chain job that is no longer the experiment's submits nothing") {
    ScriptedCommands stale;
    const WaveRound nothing = submit_waves(options_for(e), SlurmClient(stale.runner()), "103");
    CHECK(nothing.submissions.empty());
    CHECK(stale.calls_matching("^sbatch").empty());
  }
}

TEST_CASE("cancel stops the chain: its job is cancelled and, if it runs anyway, submits nothing", "[waves][scripted]") {
  TempDir dir;
  const TestExperiment e(dir / "exp", kSpec, 20);
  submit_first_wave(e);
  ScriptedCommands cancel;
  cancel.always("^scancel", printed(""));
  CHECK(cancel_experiment(e.layout(), SlurmClient(cancel.runner())) == std::vector<std::string>{"101", "102", "103"});
  CHECK(read_wave_state(e.layout())->stopped);

  ScriptedCommands late;  // the chain job started just before scancel reached it
  const WaveRound round = submit_waves(options_for(e), SlurmClient(late.runner()), "103");
  CHECK(round.submissions.empty());
  CHECK(late.calls_matching("^sbatch").empty());
  CHECK_THAT(round.note, Catch::Contains("stopped"));
}

TEST_CASE("submit run again continues a chain whose job died, and waits for one still queued", "[waves][scripted]") {
  TempDir dir;
  const TestExperiment e(dir / "exp", kSpec, 20);
  submit_first_wave(e);

  SECTION("the chain job is still queued: nothing is submitted") {
    ScriptedCommands slurm;
    slurm.always("^squeue -h -r -o \\S+ -j 103$", printed("103|PENDING|\n"));
    const WaveRound round = submit_waves(options_for(e), SlurmClient(slurm.runner()));
    CHECK(round.submissions.empty());
    CHECK(slurm.calls_matching("^sbatch").empty());
  }
  SECTION("the chain job is gone: the rest goes, all of it fitting in the emptied queue") {
    ScriptedCommands slurm;
    slurm.always("^scontrol show config", printed("MaxArraySize = 2\n"))
        .always("^squeue -h -r -o \\S+ -j", printed(""))
        .always("^squeue -h -r -u ", printed(""))
        .once("^sbatch", printed("301\n"))
        .once("^sbatch", printed("302\n"))
        .once("^sbatch", printed("303\n"));
    const WaveRound round = submit_waves(options_for(e), SlurmClient(slurm.runner()));
    REQUIRE(round.submissions.size() == 1);
    CHECK(round.submissions[0].arrays[0].chunk.first_element == 2);  // elements 0-1 are not sent twice
    CHECK(round.submissions[0].pack_job_id == "303");
    const auto state = read_wave_state(e.layout());
    CHECK(state->complete());
    CHECK(state->chain_job_id.empty());  // nothing left for a chain job to submit
  }
}

TEST_CASE("resubmit under a queue limit submits only the elements that fit", "[waves][resubmit][scripted]") {
  TempDir dir;
  const TestExperiment e(dir / "exp", kSpec, 20);
  submit_first_wave(e);
  // Both elements of wave 0 failed; the chain job and another job of the user are queued, so
  // 2 of the 4 slots are free: one rerun element and its pack job.
  ScriptedCommands slurm;
  slurm.always("^sacct", printed("101_0|FAILED|1:0|n1\n101_1|FAILED|1:0|n1\n102|COMPLETED|0:0|n1\n"))
      .always("^squeue -h -r -o", printed("103|PENDING|\n"))
      .always("^squeue -h -r -u ", printed("103\n999\n"))
      .once("^sbatch", printed("401\n"))
      .once("^sbatch", printed("402\n"));
  ResubmitOptions o;
  o.submit = options_for(e);
  const auto s = resubmit_experiment(o, SlurmClient(slurm.runner()));
  REQUIRE(s);
  REQUIRE(s->arrays.size() == 1);
  CHECK(s->arrays[0].indices == std::vector<std::size_t>{0});
  CHECK_THAT(s->split_note, Catch::Contains("1 more elements"));
}

TEST_CASE("the submit limit is the smallest of the association's and the QOS's", "[waves][slurm]") {
  CHECK(parse_assoc_submit_limit("|normal\n") == std::pair<std::optional<int>, std::string>{std::nullopt, "normal"});
  CHECK(parse_assoc_submit_limit("50|\n20|gf\n") == std::pair<std::optional<int>, std::string>{20, "gf"});
  CHECK(parse_qos_submit_limit("6|\n") == 6);
  CHECK(parse_qos_submit_limit("|\n") == std::nullopt);
  CHECK_THROWS_WITH(parse_qos_submit_limit("lots\n"), Catch::Contains("'lots'"));

  ScriptedCommands slurm;
  slurm.always("^sacctmgr -n -P show assoc where user=u ", printed("10|gf\n"))
      .always("^sacctmgr -n -P show qos where name=gf ", printed("6\n"));
  CHECK(SlurmClient(slurm.runner()).submit_job_limit("u", "") == 6);
  ScriptedCommands off;
  off.always("^sacctmgr", refused("sacctmgr: error: Problem talking to the database: Connection refused\n"));
  CHECK(SlurmClient(off.runner()).submit_job_limit("u", "") == std::nullopt);
}
