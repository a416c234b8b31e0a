#include "common/config_text.hpp"

#include <fmt/format.h>

#include <vector>

#include "common/checksum.hpp"
#include "common/dataset.hpp"
#include "common/file_bytes.hpp"

namespace gridfold {
namespace {

// Shortest text that reads back as the same double, so 0.001 and 1e-3 agree.
std::string number(double v) {
  return fmt::format("{}", v);
}
std::string flag(bool v) {
  return v ? "true" : "false";
}

std::string file_checksum(const std::filesystem::path& file, const std::string& what) {
  std::vector<std::byte> bytes;
  try {
    if (!read_file_bytes(file, bytes)) {
      throw DataError(fmt::format("{}: {} does not exist", file.string(), what));
    }
  } catch (const DataError&) {
    throw;
  } catch (const std::exception& e) {
    throw DataError(fmt::format("{} ({})", e.what(), what));
  }
  return checksum_hex(xxh64(bytes));
}

class Lines {
 public:
  template <typename T>
  void add(const std::string& key, const T& value) {
    text_ += fmt::format("{}={}\n", key, value);
  }
  std::string take() { return std::move(text_); }

 private:
  std::string text_;
};

}  // namespace

std::string canonical_config(const ExperimentSpec& spec) {
  Lines out;
  const DataSpec& d = spec.data;
  out.add("data.format", to_string(d.format));
  out.add("data.sequence_column", d.sequence_column);
  out.add("data.feature_columns", fmt::format("[{}]", fmt::join(d.feature_columns, ", ")));
  out.add("data.id_column", d.id_column);
  out.add("data.alphabet", to_string(d.alphabet));
  for (std::size_t i = 0; i < d.targets.size(); ++i) {
    const TargetSpec& t = d.targets[i];
    out.add(fmt::format("data.targets[{}]", i),
            fmt::format("{{name: {}, task: {}, classes: [{}], pos_weight: {}, weight: {}, tolerance: {}}}", t.name,
                        to_string(t.task), fmt::join(t.classes, ", "), number(t.pos_weight), number(t.weight),
                        t.tolerance));
    // Listed only when used, so that every other target keeps its config text.
    if (t.focal_gamma > 0) out.add(fmt::format("data.targets[{}].focal_gamma", i), number(t.focal_gamma));
  }
  out.add("data.standardize_targets", flag(d.standardize_targets));

  const ModelSpec& m = spec.model;
  out.add("model.family", to_string(m.family));
  out.add("model.filters", fmt::format("[{}]", fmt::join(m.filters, ", ")));
  out.add("model.kernel_size", m.kernel_size);
  out.add("model.dilation", m.dilation);
  out.add("model.dilation_growth", flag(m.dilation_growth));
  if (!m.dilations.empty()) out.add("model.dilations", fmt::format("[{}]", fmt::join(m.dilations, ", ")));
  out.add("model.batch_norm", flag(m.batch_norm));
  out.add("model.block_pooling", to_string(m.block_pooling));
  out.add("model.pool_size", m.pool_size);
  out.add("model.global_pooling", to_string(m.global_pooling));
  out.add("model.dense", fmt::format("[{}]", fmt::join(m.dense, ", ")));
  out.add("model.dropout", number(m.dropout));
  out.add("model.hidden_size", m.hidden_size);
  out.add("model.lstm_layers", m.lstm_layers);
  out.add("model.bidirectional", flag(m.bidirectional));
  if (!m.script_path.empty()) out.add("model.script_checksum", file_checksum(m.script_path, "the TorchScript model"));
  // Only transformers list these, so the configs of every other family keep their texts and
  // their results stay current.
  if (m.family == ModelFamily::transformer) {
    out.add("model.kmer", m.kmer);
    out.add("model.layers", m.layers);
    out.add("model.heads", m.heads);
    out.add("model.d_model", m.d_model);
    out.add("model.ff", m.ff);
  }

  const TrainingSpec& t = spec.training;
  out.add("training.epochs", t.epochs);
  out.add("training.batch_size", t.batch_size);
  out.add("training.optimizer", to_string(t.optimizer));
  out.add("training.lr", number(t.lr));
  out.add("training.weight_decay", number(t.weight_decay));
  out.add("training.momentum", number(t.momentum));
  out.add("training.patience", t.patience);
  out.add("training.validation_fraction", number(t.validation_fraction));
  out.add("training.eval_every", t.eval_every);
  out.add("training.eval_max_samples", t.eval_max_samples);
  out.add("training.checkpoint_every", t.checkpoint_every);
  out.add("training.seed", t.seed);
  out.add("training.crop_length", t.crop_length);
  out.add("training.reverse_complement", number(t.reverse_complement));
  out.add("training.balanced_sampling", flag(t.balanced_sampling));
  // Rules that only record leave the training as it was; a stopping rule can end it early.
  // Only the latter join the text, so specs without stopping rules keep their config ids.
  const std::string stop_rules = canonical_stop_rules(spec.diagnostics);
  if (!stop_rules.empty()) out.add("diagnostics.stop", fmt::format("{{{}}}", stop_rules));
  return out.take();
}

std::string canonical_resampling(const ResamplingSpec& r) {
  auto scheme = [](const FoldScheme& s) {
    return s.kind == FoldScheme::Kind::kfold
               ? fmt::format("{{kfold: {{k: {}}}}}", s.k)
               : fmt::format("{{repeated_holdout: {{n: {}, test_fraction: {}}}}}", s.n, number(s.test_fraction));
  };
  Lines out;
  out.add("resampling.outer", scheme(r.outer));
  out.add("resampling.inner", r.inner ? scheme(*r.inner) : std::string("none"));
  out.add("resampling.stratify_by", r.stratify_by);
  // The column form keeps the text of plans made before similarity grouping, so that their
  // results still match.
  out.add("resampling.group_by",
          r.group_by_similarity ? fmt::format("{{similarity: {{kmer: {}, threshold: {}}}}}",
                                              r.group_by_similarity->kmer, number(r.group_by_similarity->threshold))
                                : r.group_by);
  out.add("resampling.seed", r.seed);
  return out.take();
}

std::string data_checksum(const DataSpec& data) {
  std::string sum = file_checksum(data.path, "the data file");
  if (!data.labels.empty()) sum += "+" + file_checksum(data.labels, "the label table");
  return sum;
}

}  // namespace gridfold
