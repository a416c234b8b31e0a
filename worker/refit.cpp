#include "worker/refit.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>

#include "common/dataset.hpp"
#include "common/model_description.hpp"
#include "common/spec.hpp"
#include "worker/encoded_data.hpp"
#include "worker/network_weights.hpp"
#include "worker/torch_runtime.hpp"
#include "worker/trainer.hpp"

namespace gridfold::worker {

ModelFile refit_config(const ExperimentLayout& layout, const ExperimentPlan& plan, const std::string& config_id,
                       const RefitOptions& options) {
  const auto config =
      std::find_if(plan.configs.begin(), plan.configs.end(), [&](const Config& c) { return c.id == config_id; });
  if (config == plan.configs.end()) {
    throw SpecError(fmt::format("config {} is not in the plan of '{}' ({} configs; gridfold harvest lists them)",
                                config_id, plan.name, plan.configs.size()));
  }
  const SpecDocument document = SpecDocument::load(layout.spec(), plan.spec_dir);
  const ExperimentSpec spec = document.resolve(config->params);
  use_threads(thread_count_for(options.threads > 0 ? options.threads : spec.training.threads));

  const EncodedData data(load_dataset(spec.data), spec.data);
  if (data.size() != plan.sample_count) {
    throw DataError(
        fmt::format("{} now holds {} samples but the plan was made for {}; the data changed since "
                    "planning, plan the experiment again",
                    spec.data.path.string(), data.size(), plan.sample_count));
  }
  ModelFile model = describe_model(plan, *config, document.text(), spec, data.dataset(), FinalModelStrategy::refit);

  std::vector<std::uint32_t> rows(data.size());
  std::iota(rows.begin(), rows.end(), std::uint32_t{0});
  const auto progress = [&](const TrainingProgress& p) {
    if (!options.report) return;
    options.report(fmt::format("refit config {}: epoch {}/{} train {:.4g} val {:.4g}{}", config_id, p.epoch, p.epochs,
                               p.train_loss, p.validation_loss, p.improved ? " *" : ""));
  };
  const TrainingOutcome trained = train_and_evaluate(spec, data, rows, {}, spec.training.seed, progress);
  model.members.push_back(
      weights_of(*trained.network, trained.standardizer, spec.data.targets.size(), trained.thresholds));
  return model;
}

}  // namespace gridfold::worker
