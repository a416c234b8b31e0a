// The experiment spec: the typed form of an experiment YAML (see docs/spec.md).
//
// A spec is read once into a SpecDocument; every configuration of the grid is the
// document with some dotted parameters overridden (`model.filters: 64`), resolved
// into an ExperimentSpec. Every error names the file, the YAML line:column, the
// offending value and what would be valid.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/errors.hpp"
#include "common/search_spec.hpp"
#include "common/training_diagnostics.hpp"

namespace gridfold {

struct SourceLocation {
  std::string file;
  int line = 0;             // 1-based; 0 when unknown
  int column = 0;           // 1-based
  std::string str() const;  // "file:line:column"
};

class SpecError : public BadInputError {
 public:
  using BadInputError::BadInputError;
};

// One value a grid assigns to a parameter, kept as canonical flow YAML ("64", "0.001",
// "[64, 64]", "adam") so that equal values compare and hash equal.
struct ParamValue {
  std::string yaml;
  SourceLocation where;  // where the value was written; not part of its identity
  bool operator==(const ParamValue& o) const { return yaml == o.yaml; }
};

// Dotted path ("training.lr") to value; ordered so that iteration is canonical.
using ParamAssignment = std::map<std::string, ParamValue>;

enum class Alphabet { dna, rna, protein, none };
enum class DataFormat { csv, tsv, fasta };
enum class TaskType { regression, binary, multiclass, per_position };

struct TargetSpec {
  std::string name;  // column in the data table
  TaskType task = TaskType::regression;
  std::vector<std::string> classes;  // multiclass: label values in output order; per_position:
                                     // names of the label digits 0, 1, ... (0 = background)
  double pos_weight = 0.0;           // binary/per_position: 0 = derived from class balance
  double weight = 1.0;               // weight of this target's term in the total loss
  int tolerance = 0;                 // per_position: positions a predicted boundary may be off by and still count
  // Focal loss (Lin et al. 2017) for multiclass and per_position targets: each position's
  // cross-entropy times (1 - p_true)^focal_gamma, so the many easy background positions weigh
  // less than the few hard ones; 0 = plain (weighted) cross-entropy.
  double focal_gamma = 0.0;
};

struct DataSpec {
  std::filesystem::path path;  // resolved against the spec file's directory
  DataFormat format = DataFormat::csv;
  std::string sequence_column = "sequence";  // csv/tsv; empty for feature-only data
  std::vector<std::string> feature_columns;  // numeric inputs instead of a sequence
  std::string id_column;                     // optional sample name column
  std::filesystem::path labels;              // fasta: table of labels keyed by record id
  Alphabet alphabet = Alphabet::dna;
  std::vector<TargetSpec> targets;
  bool standardize_targets = true;  // regression targets, fitted on the training part
};

enum class ModelFamily { cnn1d, branched_cnn, bilstm, mlp, torchscript, transformer, resnet1d };
// cls (transformer only) reads the output of a [CLS] token put before the sequence.
enum class Pooling { none, max, mean, sum, cls };

struct ModelSpec {
  ModelFamily family = ModelFamily::cnn1d;
  // cnn1d / branched_cnn: one entry per conv block; resnet1d: one per residual block (two
  // convolutions and a shortcut)
  std::vector<int> filters{64, 64};
  int kernel_size = 5;
  int dilation = 1;
  bool dilation_growth = false;  // dilation doubles with each block (per-position models)
  // The dilation of each block, as long as filters; empty = dilation and dilation_growth.
  std::vector<int> dilations;
  bool batch_norm = true;
  Pooling block_pooling = Pooling::none;  // after each conv block
  int pool_size = 2;
  Pooling global_pooling = Pooling::max;  // none keeps per-position outputs; transformer default mean
  // dense layers after the trunk (cnn/bilstm) or the whole network (mlp)
  std::vector<int> dense{64};
  double dropout = 0.1;
  // bilstm
  int hidden_size = 64;
  int lstm_layers = 1;
  bool bidirectional = true;
  // torchscript
  std::filesystem::path script_path;
  // transformer: an encoder over overlapping k-mer tokens (worker/transformer.hpp)
  int kmer = 3;  // letters per token; 1 = single letters (amino acids)
  int layers = 2;
  int heads = 4;
  int d_model = 64;  // a multiple of heads
  int ff = 256;      // width of each layer's feed-forward block
};

enum class Optimizer { adam, adamw, sgd };

// Where a task trains (common/compute_device.hpp resolves it on each worker rank).
enum class DeviceSetting { automatic, cpu, cuda };

struct TrainingSpec {
  int epochs = 50;
  int batch_size = 64;
  Optimizer optimizer = Optimizer::adam;
  double lr = 1e-3;
  double weight_decay = 0.0;
  double momentum = 0.9;             // sgd
  int patience = 10;                 // epochs without validation improvement; 0 = off
  double validation_fraction = 0.1;  // carved from the outer training set
  int eval_every = 0;                // steps between validations; 0 = once per epoch
  int eval_max_samples = 0;          // cap on validation samples; 0 = all
  int checkpoint_every = 0;          // steps between checkpoints; 0 = only on signal
  std::uint64_t seed = 1;
  int threads = 0;                                  // 0 = SLURM_CPUS_PER_TASK or all cores
  DeviceSetting device = DeviceSetting::automatic;  // how to run, like threads: not in the config text
  // sequence augmentation
  int crop_length = 0;              // random crops of this length each epoch; 0 = whole sequence
  double reverse_complement = 0.0;  // probability of using the reverse complement
  bool balanced_sampling = false;   // class-balanced weighted sampling
};

struct FoldScheme {
  enum class Kind { kfold, repeated_holdout } kind = Kind::kfold;
  int k = 5;                   // kfold
  int n = 10;                  // repeated_holdout
  double test_fraction = 0.2;  // repeated_holdout
  int count() const { return kind == Kind::kfold ? k : n; }
};

// `group_by: {similarity: {kmer: K, threshold: T}}`: groups are the single-linkage clusters of
// sequences whose k-mer Jaccard similarity reaches T (common/similarity.hpp).
struct SimilarityGrouping {
  int kmer = 0;          // 1 to 32
  double threshold = 0;  // in (0, 1]
};

struct ResamplingSpec {
  FoldScheme outer;
  std::optional<FoldScheme> inner;  // model selection inside each outer training set
  std::string stratify_by;          // column name, or empty
  // At most one of the two: a column whose values are the groups (`group_by: chrom` or
  // `group_by: {column: chrom}`), or clusters of similar sequences.
  std::string group_by;
  std::optional<SimilarityGrouping> group_by_similarity;
  std::uint64_t seed = 42;
};

struct SlurmSpec {
  std::string partition, account, qos;
  std::string time = "01:00:00";
  std::string mem = "4G";
  int cpus_per_task = 1;
  int ntasks = 1;          // MPI ranks per array element
  int nodes = 0;           // 0 = let SLURM decide
  int gpus = 0;            // per MPI rank; with ranks_per_gpu > 1, at most 1
  int ranks_per_gpu = 1;   // ranks sharing one GPU (small models, NVIDIA MPS)
  int array_throttle = 0;  // %N; 0 = unthrottled
  int tasks_per_element = 1;
  std::vector<std::string> modules;
  std::vector<std::string> extra_directives;  // "--constraint=avx2"
  std::filesystem::path template_path;        // empty = built-in template
  int signal_seconds = 120;                   // USR1 this long before the time limit
  // Jobs (each array element one) the experiment may keep queued or running at once; more
  // are submitted in waves (orchestrator/slurm/waves.hpp). Unset: the QOS's or association's
  // submit limit where accounting answers, else none; 0: none.
  std::optional<int> max_queued;
};

enum class Compression { zstd, gzip, none };

struct OutputSpec {
  std::filesystem::path archive;  // empty = <experiment>/archives
  Compression compression = Compression::zstd;
  std::uint64_t archive_size_mb = 1024;
  bool save_models = false;  // fold results carry their trained weights (ensemble final models)
  // Whether HDF5 locks the files gridfold opens; unset = HDF5's default (on). The environment
  // overrides it (see h5::file_locking in common/hdf5.hpp).
  std::optional<bool> hdf5_file_locking;
  int pack_every = 0;  // elements per wave, each packed by its own pack job; 0 = as many as fit
};

enum class FinalModelStrategy { refit, ensemble };

// How `gridfold finalize` makes the one model that `gridfold predict` uses.
struct FinalModelSpec {
  FinalModelStrategy strategy = FinalModelStrategy::refit;
  std::string target;  // configs are ranked on this target; empty = the first target
  std::string metric;  // empty = harvest's default for the target's task
};

// One named group of grid axes; zip axes vary together, so all their lists have one length.
struct GridAxis {
  std::vector<std::string> paths;               // one path, or several for a zip group
  std::vector<std::vector<ParamValue>> values;  // values[i][j]: value of paths[j] at step i
};

struct GridSpec {
  std::vector<GridAxis> axes;             // cartesian product over axes, in file order
  std::vector<ParamAssignment> excludes;  // a config matching all of one is dropped
};

struct ExperimentSpec {
  std::string name;
  std::filesystem::path source;  // the spec file
  DataSpec data;
  ModelSpec model;
  TrainingSpec training;
  GridSpec grid;
  ResamplingSpec resampling;
  SlurmSpec slurm;
  OutputSpec output;
  FinalModelSpec final_model;
  SearchSpec search;
  DiagnosticsSpec diagnostics;
};

// A parsed spec file, able to resolve any grid configuration into a typed spec.
class SpecDocument {
 public:
  // Reads and validates the file; throws SpecError. Relative paths in it resolve against
  // base_dir, by default the file's own directory (a frozen copy passes the original's).
  static SpecDocument load(const std::filesystem::path& file, const std::filesystem::path& base_dir = {});
  // Parses YAML text as if it were the file `name` (relative paths resolve against base_dir).
  static SpecDocument parse(const std::string& text, const std::string& name, const std::filesystem::path& base_dir);

  SpecDocument(SpecDocument&&) noexcept;
  SpecDocument& operator=(SpecDocument&&) noexcept;
  ~SpecDocument();

  // The spec with the base values, its grid parsed but not applied.
  const ExperimentSpec& base() const;
  // The spec with `overrides` applied over the base values; throws SpecError naming the
  // location of the offending override.
  ExperimentSpec resolve(const ParamAssignment& overrides) const;
  const std::string& text() const;

 private:
  struct Impl;
  explicit SpecDocument(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The dilation of each conv block (resnet1d: of both convolutions of each residual block):
// model.dilations, or model.dilation doubled per block with dilation_growth.
std::vector<int> block_dilations(const ModelSpec& model);

// How many input positions one output position of a cnn1d, branched_cnn or resnet1d trunk
// depends on (1 + the span each convolution adds: dilation x (kernel_size - 1); block pooling
// multiplies the later spans); 0 for the families whose outputs see the whole sequence
// (bilstm, transformer) or have no positions (mlp, torchscript).
std::int64_t receptive_field(const ModelSpec& model);

// SLURM's time limit forms: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS.
bool is_slurm_time(const std::string& text);

std::string to_string(Alphabet);
std::string to_string(DataFormat);
std::string to_string(TaskType);
std::string to_string(ModelFamily);
std::string to_string(Pooling);
std::string to_string(Optimizer);
std::string to_string(DeviceSetting);
std::string to_string(Compression);
std::string to_string(FinalModelStrategy);
std::string to_string(SearchStrategy);

}  // namespace gridfold
