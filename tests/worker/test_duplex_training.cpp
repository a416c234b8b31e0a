#include <catch2/catch.hpp>

#include "common/dataset.hpp"
#include "common/resampling.hpp"
#include "common/spec.hpp"
#include "worker/encoded_data.hpp"
#include "worker/torch_runtime.hpp"
#include "worker/trainer.hpp"

using namespace gridfold;
using namespace gridfold::worker;

// The quality bar of the shipped multitask grid: its base configuration, on one outer fold.
TEST_CASE("training on the duplex data reaches R2 >= 0.98 on a fold", "[worker]") {
  use_threads(thread_count_for(0));
  const SpecDocument document = SpecDocument::load(GRIDFOLD_SOURCE_DIR "/grids/duplex_multitask.yaml");
  const ExperimentSpec& spec = document.base();
  const EncodedData data(load_dataset(spec.data), spec.data);
  const ResamplingPlan folds = make_resampling_plan(spec.resampling, data.size());
  const auto test = folds.outer_test[0];
  const TrainingOutcome out =
      train_and_evaluate(spec, data, folds.outer_train(0), std::vector<std::uint32_t>(test.begin(), test.end()),
                         spec.training.seed);
  for (const char* target : {"dG", "dH", "dS"}) {
    INFO(target);
    CHECK(out.metrics.at(target).at("r2") >= 0.98);
  }
  CHECK(out.metrics.at("Tm").at("r2") >= 0.95);
}
