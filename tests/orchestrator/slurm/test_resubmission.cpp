#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "common/errors.hpp"
#include "common/exit_codes.hpp"
#include "common/planned_experiment.hpp"
#include "orchestrator/slurm/experiment_status.hpp"
#include "orchestrator/slurm/resubmission.hpp"
#include "tests/temp_dir.hpp"

using namespace gridfold;
using gridfold::testing::TempDir;

namespace {

// One submission of `arrays` (job id, first element, element count), every index submitted.
Submission submitted(std::size_t tasks_per_element,
                     const std::vector<std::tuple<std::string, std::size_t, std::size_t>>& arrays) {
  Submission s;
  s.tasks_per_element = tasks_per_element;
  for (const auto& [id, first, count] : arrays) {
    SubmittedArray a;
    a.job_id = id;
    a.chunk = ArrayChunk{first, count};
    for (std::size_t i = 0; i < count; ++i) a.indices.push_back(i);
    s.arrays.push_back(a);
  }
  return s;
}

ElementStatus element(std::size_t index, const std::string& job_id, ElementState state) {
  ElementStatus e;
  e.element = index;
  e.job_id = job_id;
  e.state = state;
  return e;
}

// The SLURM indices requested per array offset.
std::map<std::size_t, std::vector<std::size_t>> requested(const RerunPlan& plan) {
  std::map<std::size_t, std::vector<std::size_t>> out;
  for (const auto& r : plan.requests) out[r.chunk.first_element] = r.indices;
  return out;
}

}  // namespace

TEST_CASE("elements with a missing result that SLURM no longer holds are rerun at their own index", "[resubmit]") {
  RerunFacts facts;
  facts.submissions = {submitted(1, {{"10", 0, 3}, {"11", 3, 3}})};
  facts.task_done = {true, false, true, false, false, true};
  facts.elements = {element(1, "10", ElementState::timeout), element(3, "11", ElementState::failed),
                    element(4, "11", ElementState::running)};
  const RerunPlan plan = plan_reruns(facts, false);
  const auto indices = requested(plan);
  REQUIRE(indices.size() == 2);
  CHECK(indices.at(0) == std::vector<std::size_t>{1});
  CHECK(indices.at(3) == std::vector<std::size_t>{0});  // element 3 is index 0 of the array at offset 3
  CHECK(plan.pack.still_active_arrays == std::vector<std::string>{"11"});
  CHECK(plan.pack.pending_pack_job.empty());
}

TEST_CASE("an element still pending or running is never submitted twice", "[resubmit]") {
  RerunFacts facts;
  facts.submissions = {submitted(1, {{"10", 0, 2}})};
  facts.task_done = {false, false};
  facts.elements = {element(0, "10", ElementState::pending), element(1, "10", ElementState::requeued)};
  CHECK(plan_reruns(facts, false).requests.empty());
}

TEST_CASE("failed-only reruns leave out elements that completed or that SLURM never reported", "[resubmit]") {
  RerunFacts facts;
  facts.submissions = {submitted(1, {{"10", 0, 4}})};
  facts.task_done = {false, false, false, false};
  facts.elements = {element(0, "10", ElementState::out_of_memory), element(1, "10", ElementState::completed),
                    element(2, "10", ElementState::cancelled)};
  CHECK(requested(plan_reruns(facts, true)).at(0) == std::vector<std::size_t>{0, 2});
  CHECK(requested(plan_reruns(facts, false)).at(0) == std::vector<std::size_t>{0, 1, 2, 3});
}

TEST_CASE("an element reruns when any of its tasks lacks a result, the last one covering the rest", "[resubmit]") {
  RerunFacts facts;
  facts.submissions = {submitted(2, {{"10", 0, 3}})};
  facts.task_done = {true, true, true, false, false};  // element 2 holds task 4 only
  CHECK(requested(plan_reruns(facts, false)).at(0) == std::vector<std::size_t>{1, 2});
  facts.task_done = {true, true, true, true, true};
  CHECK(plan_reruns(facts, false).requests.empty());
}

TEST_CASE("an element keeps the array offset of its first submission across resubmissions", "[resubmit]") {
  RerunFacts facts;
  Submission again = submitted(1, {{"20", 3, 3}});
  again.arrays[0].indices = {1};
  facts.submissions = {submitted(1, {{"10", 0, 3}, {"11", 3, 3}}), again};
  facts.task_done = {true, true, true, true, false, true};
  facts.elements = {element(4, "20", ElementState::node_fail)};
  CHECK(requested(plan_reruns(facts, false)).at(3) == std::vector<std::size_t>{1});
}

TEST_CASE("a pending pack job is extended, an active array is waited for once", "[resubmit]") {
  RerunFacts facts;
  facts.submissions = {submitted(1, {{"10", 0, 3}})};
  facts.task_done = {false, false, false};
  facts.elements = {element(0, "10", ElementState::running), element(1, "10", ElementState::pending),
                    element(2, "10", ElementState::failed)};
  facts.pack_job_id = "12";
  facts.pack_state = "pending";
  const RerunPlan plan = plan_reruns(facts, false);
  CHECK(plan.pack.still_active_arrays == std::vector<std::string>{"10"});
  CHECK(plan.pack.pending_pack_job == "12");
  facts.pack_state = "running";
  CHECK(plan_reruns(facts, false).pack.pending_pack_job.empty());
}

TEST_CASE("every command on a directory that is not an experiment says so", "[resubmit]") {
  TempDir dir;
  const std::string expected =
      fmt::format("{} is not a gridfold experiment directory (no plan.h5); run gridfold plan first",
                  dir.path().string());
  const SlurmClient never([](const std::vector<std::string>& argv) -> CommandResult {
    FAIL("no SLURM command expected: " << argv[0]);
    return {};
  });
  const auto is_bad_input = [&](auto&& command) {
    try {
      command();
      FAIL("accepted a directory without plan.h5");
    } catch (const Error& e) {
      CHECK(std::string(e.what()) == expected);
      CHECK(e.exit_code() == kExitBadInput);
    }
  };
  is_bad_input([&] { collect_status(ExperimentLayout(dir.path()), never); });
  is_bad_input([&] { cancel_experiment(ExperimentLayout(dir.path()), never); });
  is_bad_input([&] {
    ResubmitOptions options;
    options.submit.experiment = dir.path();
    resubmit_experiment(options, never);
  });
  is_bad_input([&] { PlannedExperiment{dir.path()}; });  // pack, harvest, report, finalize
}

TEST_CASE("gridfold status on a directory that is not an experiment exits 3 and says why", "[resubmit]") {
  TempDir dir;
  const auto log = dir / "status.log";
  const int status = std::system(
      fmt::format("{}/bin/gridfold status {} > {} 2>&1", GRIDFOLD_BINARY_DIR, dir.path().string(), log.string())
          .c_str());
  std::ostringstream output;
  output << std::ifstream(log).rdbuf();
  INFO(output.str());
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == kExitBadInput);
  CHECK(output.str().find("is not a gridfold experiment directory (no plan.h5); run gridfold plan first") !=
        std::string::npos);
}
