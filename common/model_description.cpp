#include "common/model_description.hpp"

#include <algorithm>

namespace gridfold {

ModelFile describe_model(const ExperimentPlan& plan, const Config& config, const std::string& spec_text,
                         const ExperimentSpec& resolved, const Dataset& data, FinalModelStrategy strategy) {
  ModelFile m;
  m.experiment = plan.name;
  m.config_id = config.id;
  m.strategy = strategy;
  m.spec_text = spec_text;
  m.spec_dir = plan.spec_dir;
  for (const auto& [path, value] : config.params) m.params.emplace_back(path, value.yaml);

  const DataSpec& d = resolved.data;
  m.alphabet = d.alphabet;
  m.id_column = d.id_column;
  if (data.sequences.empty()) {
    m.feature_columns = d.feature_columns;
  } else {
    m.sequence_column = d.sequence_column.empty() ? "sequence" : d.sequence_column;
    for (const auto& s : data.sequences) {
      m.sequence_length = std::max(m.sequence_length, static_cast<std::int64_t>(s.size()));
    }
  }
  for (std::size_t t = 0; t < d.targets.size(); ++t) {
    const TargetSpec& target = d.targets[t];
    // Multiclass labels may come from the data (sorted distinct labels); a per_position
    // target's classes are the spec's, one per label digit.
    const bool from_data = t < data.classes.size() && !data.classes[t].empty();
    m.targets.push_back({target.name, target.task, from_data ? data.classes[t] : target.classes});
  }
  return m;
}

}  // namespace gridfold
