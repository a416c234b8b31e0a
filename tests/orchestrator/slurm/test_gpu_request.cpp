#include <catch2/catch.hpp>

#include <fstream>
#include <string>

#include "common/worker_runtime.hpp"
#include "orchestrator/slurm/gpu_request.hpp"
#include "orchestrator/slurm/slurm_client.hpp"
#include "orchestrator/slurm/submission.hpp"
#include "tests/support/scripted_commands.hpp"
#include "tests/support/test_experiment.hpp"
#include "tests/temp_dir.hpp"

using namespace gridfold;
using gridfold::testing::TempDir;

namespace {

// 4 tasks; GPUS, RANKS, SHARE and DEVICE are replaced by each test.
const std::string kGpuSpec = R"(name: gpu
data: {path: d.csv, targets: [y]}
training: {device: DEVICE}
resampling:
  outer: {kfold: {k: 4}}
slurm:
  gpus: GPUS
  ntasks: RANKS
  ranks_per_gpu: SHARE
)";

std::string gpu_spec(int gpus, int ranks = 1, int share = 1, const std::string& device = "auto") {
  std::string text = kGpuSpec;
  for (const auto& [key, value] : {std::pair<std::string, std::string>{"GPUS", std::to_string(gpus)},
                                   {"RANKS", std::to_string(ranks)},
                                   {"SHARE", std::to_string(share)},
                                   {"DEVICE", device}}) {
    text.replace(text.find(key), key.size(), value);
  }
  return text;
}

WorkerRuntime runtime(bool cuda) {
  WorkerRuntime r;
  r.gridfold_version = "0.1.0";
  r.torch_version = "1.13.1";
  r.cuda_compiled = cuda;
  r.cuda_version = cuda ? "12.1" : "";
  return r;
}

// A cluster that accepts every sbatch, and a worker that reports `worker`.
testing::ScriptedCommands cluster_with_worker(const WorkerRuntime& worker) {
  testing::ScriptedCommands cluster;
  cluster.always("^scontrol show config", testing::printed("MaxArraySize            = 1001\n"));
  cluster.always("^sbatch ", testing::printed("100\n"));
  cluster.always("gridfold-worker --version --json$", testing::printed(worker_runtime_json(worker)));
  return cluster;
}

// An experiment of `spec` (40 samples) to submit to a cluster whose worker reports `worker`.
struct GpuSubmission {
  GpuSubmission(const std::string& spec, const WorkerRuntime& worker)
      : experiment(dir / "exp", spec, 40), cluster(cluster_with_worker(worker)) {
    options.experiment = experiment.layout().root();
  }
  Submission submit() { return submit_experiment(options, SlurmClient(cluster.runner())); }

  TempDir dir;
  testing::TestExperiment experiment;
  testing::ScriptedCommands cluster;
  SubmitOptions options;
};

std::string gpu_line(const std::filesystem::path& script) {
  std::ifstream in(script);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("#SBATCH --gpus", 0) == 0) return line.substr(8);
  }
  return "";
}

}  // namespace

TEST_CASE("the worker's runtime report reads back as it was written", "[gpu]") {
  WorkerRuntime r = runtime(true);
  r.visible_devices = 2;
  r.cuda_visible_devices = "0,1";
  const WorkerRuntime back = parse_worker_runtime(worker_runtime_json(r), "w");
  CHECK(back.gridfold_version == "0.1.0");
  CHECK(back.torch_version == "1.13.1");
  CHECK(back.cuda_compiled);
  CHECK(back.cuda_version == "12.1");
  CHECK(back.visible_devices == 2);
  CHECK(back.cuda_visible_devices == "0,1");
  CHECK_THROWS_AS(parse_worker_runtime("gridfold-worker 0.1.0\n", "w --version --json"), WorkerRuntimeError);
  CHECK_THROWS_WITH(parse_worker_runtime("{\"gridfold\": 1}", "w --version --json"),
                    Catch::Contains("w --version --json did not print"));
}

TEST_CASE("submit refuses GPUs for a worker without CUDA, says how to fix it, and submits nothing", "[gpu]") {
  GpuSubmission g(gpu_spec(1), runtime(false));
  try {
    g.submit();
    FAIL("expected GpuRequestError");
  } catch (const GpuRequestError& e) {
    const std::string message = e.what();
    CHECK(e.exit_code() == kExitBadInput);
    CHECK_THAT(message, Catch::Contains("slurm.gpus is 1") && Catch::Contains("without CUDA") &&
                            Catch::Contains("sit idle") && Catch::Contains("CMAKE_PREFIX_PATH") &&
                            Catch::Contains("--allow-cpu"));
  }
  CHECK(g.cluster.calls_matching("^sbatch").empty());
  CHECK(read_submissions(g.experiment.layout()).empty());
}

TEST_CASE("a dry run of a GPU experiment is refused the same way", "[gpu]") {
  GpuSubmission g(gpu_spec(1), runtime(false));
  g.options.dry_run = true;
  CHECK_THROWS_AS(g.submit(), GpuRequestError);
}

TEST_CASE("with --allow-cpu a GPU experiment is submitted and the note says it trains on the CPU", "[gpu]") {
  GpuSubmission g(gpu_spec(1), runtime(false));
  g.options.allow_cpu = true;
  const Submission s = g.submit();
  REQUIRE(s.arrays.size() == 1);
  CHECK(gpu_line(s.arrays[0].script) == "--gpus-per-task=1");
  CHECK_THAT(render_text(s), Catch::Contains("--allow-cpu given, so the tasks train on the CPU"));
  CHECK(read_submissions(g.experiment.layout()).back().gpu_note == s.gpu_note);
}

TEST_CASE("training.device cuda with a worker without CUDA is refused even with --allow-cpu", "[gpu]") {
  GpuSubmission g(gpu_spec(1, 1, 1, "cuda"), runtime(false));
  g.options.allow_cpu = true;
  CHECK_THROWS_WITH(g.submit(), Catch::Contains("training.device is cuda") && Catch::Contains("every task would fail"));
}

TEST_CASE("a worker with CUDA gets its GPUs, and ranks sharing a GPU ask for one per share", "[gpu]") {
  GpuSubmission g(gpu_spec(1, 3, 2), runtime(true));
  const Submission s = g.submit();
  REQUIRE(s.arrays.size() == 1);
  CHECK(gpu_line(s.arrays[0].script) == "--gpus=2");
  CHECK_THAT(s.gpu_note, Catch::Contains("CUDA 12.1"));
}

TEST_CASE("an experiment without GPUs never asks the worker", "[gpu]") {
  GpuSubmission g(gpu_spec(0), runtime(false));
  g.submit();
  CHECK(g.cluster.calls_matching("--version").empty());
}

TEST_CASE("a worker that cannot report its runtime stops the GPU submission with its error", "[gpu]") {
  GpuSubmission g(gpu_spec(1), runtime(true));
  g.cluster.always("gridfold-worker --version --json$",
                   testing::refused("error while loading shared libraries\n", 127));
  CHECK_THROWS_WITH(g.submit(), Catch::Contains("exit code 127") && Catch::Contains("shared libraries"));
}
