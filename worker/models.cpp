#include "worker/models.hpp"

#include "worker/transformer.hpp"

#include <fmt/format.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <limits>
#include <numeric>

namespace gridfold::worker {
namespace nn = torch::nn;

int total_width(const std::vector<OutputHead>& heads) {
  return std::accumulate(heads.begin(), heads.end(), 0, [](int sum, const OutputHead& h) { return sum + h.width; });
}

void Network::watch_relus(bool) {}

double Network::dead_relu_share() {
  return std::numeric_limits<double>::quiet_NaN();
}

namespace {

// A ReLU that can note which of its units (dimension 1) ever output anything positive.
class WatchedReLUImpl : public nn::Module {
 public:
  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor y = torch::relu(x);
    if (watching_) {
      torch::NoGradGuard no_grad;
      std::vector<std::int64_t> other_dims{0};
      for (std::int64_t d = 2; d < y.dim(); ++d) other_dims.push_back(d);
      const torch::Tensor alive = y.amax(other_dims).gt(0);
      alive_ = alive_.defined() ? alive_.logical_or(alive) : alive;
    }
    return y;
  }
  void watch(bool watching) {
    watching_ = watching;
    if (watching) alive_ = torch::Tensor();
  }
  // Dead units and all units seen while watching.
  std::pair<std::int64_t, std::int64_t> dead_units() const {
    if (!alive_.defined()) return {0, 0};
    return {alive_.numel() - alive_.sum().item<std::int64_t>(), alive_.numel()};
  }

 private:
  bool watching_ = false;
  torch::Tensor alive_;
};
TORCH_MODULE(WatchedReLU);

bool any_per_position(const std::vector<OutputHead>& heads) {
  return std::any_of(heads.begin(), heads.end(), [](const OutputHead& h) { return h.task == TaskType::per_position; });
}

// Per-position targets need one output per input position, so the trunk must neither pool
// globally nor shrink the sequence; pooled targets need the opposite. One network cannot mix.
bool check_output_kind(const ModelSpec& spec, const InputShape& input, const std::vector<OutputHead>& heads) {
  if (heads.empty()) throw SpecError("the model has no targets to predict; list data.targets");
  const bool per_position = any_per_position(heads);
  if (per_position &&
      !std::all_of(heads.begin(), heads.end(), [](const OutputHead& h) { return h.task == TaskType::per_position; })) {
    throw SpecError(
        "per_position targets cannot share a model with per-sequence targets; "
        "run them as separate experiments");
  }
  if (per_position != (spec.global_pooling == Pooling::none)) {
    throw SpecError(per_position ? "per_position targets need model.global_pooling: none"
                                 : "model.global_pooling: none keeps per-position outputs, which only "
                                   "per_position targets use; choose max, mean or sum");
  }
  if (per_position && (spec.family == ModelFamily::mlp || !input.is_sequence())) {
    throw SpecError(
        "per_position targets need a sequence model (cnn1d, resnet1d, branched_cnn, bilstm or transformer)");
  }
  if (per_position && spec.block_pooling != Pooling::none) {
    throw SpecError(
        "per_position targets need model.block_pooling: none (pooling shortens the "
        "sequence below one output per position)");
  }
  return per_position;
}

// Positions at or past a sequence's true length: [N][1][L].
torch::Tensor padding_mask(const torch::Tensor& positions, const torch::Tensor& lengths) {
  return positions.unsqueeze(0).ge(lengths.unsqueeze(1)).unsqueeze(1);
}

// Batches padded shorter than the training data (e.g. when predicting) get their own range.
torch::Tensor positions_for(const torch::Tensor& cached, std::int64_t length) {
  return cached.size(0) == length ? cached : torch::arange(length, cached.options());
}

// A broadcast mask materialised in the layout of `features` (channels-last). Multiplying by
// a broadcast mask right before a global reduction would send the reduction's gradient back
// in the default layout, and the ReLU backward it meets would run on mismatched layouts,
// five times slower.
torch::Tensor in_layout_of(const torch::Tensor& features, const torch::Tensor& mask) {
  return mask.expand_as(features).contiguous(at::MemoryFormat::ChannelsLast);
}

// Reduces [N][C][L] over the valid positions only, so padding never wins a max or dilutes a
// mean.
torch::Tensor pool_valid_positions(const torch::Tensor& x, const torch::Tensor& padding, const torch::Tensor& lengths,
                                   Pooling pooling) {
  switch (pooling) {
    case Pooling::max:
      return x.masked_fill(padding, -std::numeric_limits<float>::infinity()).amax(2);
    case Pooling::sum:
      return x.masked_fill(padding, 0.0).sum(2);
    case Pooling::mean:
      return x.masked_fill(padding, 0.0).sum(2) / lengths.unsqueeze(1).to(x.scalar_type());
    case Pooling::none:
    case Pooling::cls:
      break;
  }
  throw std::logic_error("pool_valid_positions called without a pooling it computes");
}

// One Sequential per conv block (conv, batch norm, ReLU, dropout); pooling between blocks is
// applied separately, after the padding is zeroed. The 1-D convolutions run as 2-D ones over
// [N][C][1][L] channels-last tensors: the same arithmetic, but oneDNN then works on the
// layout it prefers instead of reordering every activation (about 1.4x faster training).
void check_kernel(const ModelSpec& spec) {
  if (spec.filters.empty()) throw SpecError("model.filters lists no conv blocks; give at least one");
  if (spec.kernel_size < 1) throw SpecError(fmt::format("model.kernel_size {} must be >= 1", spec.kernel_size));
  if (!spec.dilations.empty() && spec.dilations.size() != spec.filters.size()) {
    throw SpecError(fmt::format("model.dilations lists {} dilations for {} blocks; give one per model.filters entry",
                                spec.dilations.size(), spec.filters.size()));
  }
}

// A length-keeping convolution over [N][C][1][L]. Odd kernels pad symmetrically, which plain
// padding does without the extra dispatch layer of padding "same" (needed for even kernels).
nn::Conv2d length_keeping_conv(int in, int out, int kernel_size, int dilation, bool bias) {
  auto options = nn::Conv2dOptions(in, out, {1, kernel_size}).dilation({1, dilation}).bias(bias);
  if (kernel_size % 2 == 1) {
    options.padding({0, dilation * (kernel_size - 1) / 2});
  } else {
    options.padding(torch::kSame);
  }
  return nn::Conv2d(options);
}

std::vector<nn::Sequential> conv_blocks(const ModelSpec& spec, int channels) {
  check_kernel(spec);
  std::vector<nn::Sequential> blocks;
  int in = channels;
  const std::vector<int> dilations = block_dilations(spec);
  for (std::size_t i = 0; i < spec.filters.size(); ++i) {
    const int out = spec.filters[i];
    if (out < 1) throw SpecError(fmt::format("model.filters entry {} must be >= 1", out));
    nn::Sequential block;
    block->push_back(length_keeping_conv(in, out, spec.kernel_size, dilations[i], !spec.batch_norm));
    if (spec.batch_norm) block->push_back(nn::BatchNorm2d(out));
    block->push_back(WatchedReLU());
    if (spec.dropout > 0) block->push_back(nn::Dropout(spec.dropout));
    blocks.push_back(block);
    in = out;
  }
  return blocks;
}

nn::Sequential block_pooling(const ModelSpec& spec) {
  nn::Sequential pool;
  if (spec.block_pooling == Pooling::max) {
    pool->push_back(nn::MaxPool2d(nn::MaxPool2dOptions({1, spec.pool_size})));
  } else if (spec.block_pooling == Pooling::mean || spec.block_pooling == Pooling::sum) {
    pool->push_back(nn::AvgPool2d(nn::AvgPool2dOptions({1, spec.pool_size})));
    if (spec.block_pooling == Pooling::sum) {
      pool->push_back(nn::Functional([k = spec.pool_size](const torch::Tensor& x) { return x * k; }));
    }
  }
  return pool;
}

// The dense layers and the output layer run as 1x1 convolutions on [N][C][1][L] tensors
// (L = 1 after global pooling, every position for per-position outputs): the arithmetic of
// Linear layers, but on oneDNN's matrix kernels instead of the system BLAS, which on Debian
// is the slow reference one (about 1.8x faster for these layers).
nn::Sequential dense_stack(const ModelSpec& spec, int in, int& out_width) {
  nn::Sequential dense;
  for (int width : spec.dense) {
    if (width < 1) throw SpecError(fmt::format("model.dense entry {} must be >= 1", width));
    dense->push_back(nn::Conv2d(nn::Conv2dOptions(in, width, 1)));
    dense->push_back(WatchedReLU());
    if (spec.dropout > 0) dense->push_back(nn::Dropout(spec.dropout));
    in = width;
  }
  out_width = in;
  return dense;
}

nn::Conv2d output_layer(int in, int width) {
  return nn::Conv2d(nn::Conv2dOptions(in, width, 1));
}

// [N][C][1][L] features -> [N][W] (L = 1) or [N][W][L] per-position outputs.
torch::Tensor dense_and_head(nn::Sequential& dense, nn::Conv2d& head, const torch::Tensor& features,
                             bool per_position) {
  const torch::Tensor out = head->forward(dense->is_empty() ? features : dense->forward(features));
  return per_position ? out.squeeze(2) : out.flatten(1);
}

// Block pooling divides the length by pool_size per block; it must leave a position.
void check_block_pooling(const ModelSpec& spec, int length) {
  if (spec.block_pooling == Pooling::none) return;
  if (spec.pool_size < 1) throw SpecError(fmt::format("model.pool_size is {}; it must be >= 1", spec.pool_size));
  int pooled = length;
  for (std::size_t i = 0; i < spec.filters.size(); ++i) pooled /= spec.pool_size;
  if (pooled < 1) {
    throw SpecError(
        fmt::format("model.block_pooling over {} blocks of size {} shortens length-{} sequences to nothing; "
                    "use fewer blocks, a smaller model.pool_size or block_pooling: none",
                    spec.filters.size(), spec.pool_size, length));
  }
}

// Behaviour shared by the networks that are torch::nn::Modules.
class ModuleNetwork : public Network, public nn::Module {
 public:
  std::vector<at::Tensor> parameters() override { return nn::Module::parameters(); }
  std::vector<at::Tensor> state() override {
    std::vector<at::Tensor> all = nn::Module::parameters();
    for (const auto& b : nn::Module::buffers()) all.push_back(b);
    return all;
  }
  std::vector<std::string> state_names() override {
    std::vector<std::string> names = nn::Module::named_parameters().keys();
    for (const auto& b : nn::Module::named_buffers().keys()) names.push_back(b);
    return names;
  }
  void set_training(bool training) override { nn::Module::train(training); }
  void move_to(const c10::Device& device) override {
    nn::Module::to(device);
    if (positions_.defined()) positions_ = positions_.to(device);
  }
  void save_torchscript(const std::filesystem::path&, const std::string&) override {
    throw SpecError(
        "only transformer and torchscript models export to TorchScript; the other families are LibTorch C++ "
        "modules, which TorchScript cannot serialise");
  }
  void watch_relus(bool watching) override {
    for (const auto& module : nn::Module::modules()) {
      if (auto relu = std::dynamic_pointer_cast<WatchedReLUImpl>(module)) relu->watch(watching);
    }
  }
  double dead_relu_share() override {
    std::int64_t dead = 0, units = 0;
    for (const auto& module : nn::Module::modules()) {
      if (auto relu = std::dynamic_pointer_cast<WatchedReLUImpl>(module)) {
        const auto [d, n] = relu->dead_units();
        dead += d;
        units += n;
      }
    }
    return units > 0 ? static_cast<double>(dead) / static_cast<double>(units) : Network::dead_relu_share();
  }

 protected:
  torch::Tensor positions_;  // 0..length-1 of the training data's padded length, for the masks
};

// cnn1d: one trunk shared by all heads. branched_cnn: one trunk, dense stack and head per
// target, evaluated side by side. Padded positions are zeroed after every block, so that a
// sequence's outputs do not depend on how far its batch happens to be padded (a multiply by
// a 0/1 mask: cheaper than masked_fill forwards and backwards).
class ConvNetwork final : public ModuleNetwork {
 public:
  ConvNetwork(const ModelSpec& spec, const InputShape& input, const std::vector<OutputHead>& heads, bool per_position)
      : per_position_(per_position), pooling_(spec.global_pooling) {
    if (!input.is_sequence()) {
      throw SpecError(
          fmt::format("model.family {} reads sequences, but the data has feature "
                      "columns; use family mlp",
                      to_string(spec.family)));
    }
    check_block_pooling(spec, input.length);
    pool_size_ = spec.block_pooling == Pooling::none ? 1 : spec.pool_size;
    positions_ = torch::arange(input.length, torch::kLong);

    std::vector<std::vector<OutputHead>> groups;
    if (spec.family == ModelFamily::branched_cnn) {
      for (const auto& h : heads) groups.push_back({h});
    } else {
      groups.push_back(heads);
    }
    for (std::size_t b = 0; b < groups.size(); ++b) {
      Branch branch;
      branch.blocks = conv_blocks(spec, input.channels);
      for (std::size_t i = 0; i < branch.blocks.size(); ++i) {
        register_module(fmt::format("branch{}_block{}", b, i), branch.blocks[i]);
      }
      branch.pool = register_module(fmt::format("branch{}_pool", b), block_pooling(spec));
      int width = 0;
      branch.dense = register_module(fmt::format("branch{}_dense", b), dense_stack(spec, spec.filters.back(), width));
      branch.head = register_module(fmt::format("branch{}_head", b), output_layer(width, total_width(groups[b])));
      branches_.push_back(std::move(branch));
    }
  }

  at::Tensor forward(const at::Tensor& inputs, const at::Tensor& lengths) override {
    // Masks of the valid positions per stage, [N][1][1][L_s]: stage s is the length after s
    // block poolings (one stage when blocks do not pool). Computed once, shared by branches.
    const std::size_t blocks = branches_.front().blocks.size();
    const std::size_t stages = pool_size_ > 1 ? blocks + 1 : 1;
    std::vector<torch::Tensor> valid(stages), keep(stages);
    std::int64_t length = inputs.size(2);
    for (std::size_t s = 0; s < stages; ++s) {
      valid[s] = s == 0 ? lengths : valid[s - 1].div(pool_size_, "floor").clamp_min(1);
      keep[s] = positions_for(positions_, length)
                    .unsqueeze(0)
                    .lt(valid[s].unsqueeze(1))
                    .to(inputs.scalar_type())
                    .view({-1, 1, 1, length});
      length /= pool_size_;
    }
    const auto stage = [&](std::size_t s) { return pool_size_ > 1 ? s : 0; };
    const torch::Tensor x = inputs.unsqueeze(2).contiguous(at::MemoryFormat::ChannelsLast);

    std::vector<torch::Tensor> outputs;
    outputs.reserve(branches_.size());
    for (auto& branch : branches_) {
      torch::Tensor y = x;
      for (std::size_t i = 0; i < blocks; ++i) {
        y = branch.blocks[i]->forward(y);
        const bool reduced_next = !per_position_ && pool_size_ == 1 && i + 1 == blocks;
        y = y * (reduced_next ? in_layout_of(y, keep[stage(i)]) : keep[stage(i)]);
        if (pool_size_ > 1) y = branch.pool->forward(y);
      }
      if (!per_position_) {
        if (pool_size_ > 1) y = y * in_layout_of(y, keep[stage(blocks)]);
        // Block outputs are >= 0 (ReLU) and zero at padding, so reductions over all positions
        // are reductions over the valid ones.
        if (pooling_ == Pooling::max) {
          y = y.amax({2, 3}, /*keepdim=*/true);
        } else {
          y = y.sum({2, 3}, /*keepdim=*/true);
          if (pooling_ == Pooling::mean) y = y / valid[stage(blocks)].to(y.scalar_type()).view({-1, 1, 1, 1});
        }
      }
      outputs.push_back(dense_and_head(branch.dense, branch.head, y, per_position_));
    }
    return outputs.size() == 1 ? outputs.front() : torch::cat(outputs, 1);
  }

  bool per_position() const override { return per_position_; }

 private:
  struct Branch {
    std::vector<nn::Sequential> blocks;
    nn::Sequential pool, dense;
    nn::Conv2d head{nullptr};
  };
  std::vector<Branch> branches_;
  bool per_position_;
  Pooling pooling_;
  int pool_size_ = 1;
};

// resnet1d: a 1x1 convolution to the first block's width, then residual blocks, each two
// dilated convolutions in pre-activation order (batch norm, ReLU, convolution: He et al.
// 2016, as SpliceAI's blocks) added to the block's input (through a 1x1 convolution where the
// width changes), and a final batch norm and ReLU before the dense layers and heads. The sum
// lets a deep stack of dilated convolutions, with a receptive field of thousands of
// positions, train as easily as a shallow one. Padded positions are zeroed after every block.
class ResidualNetwork final : public ModuleNetwork {
 public:
  ResidualNetwork(const ModelSpec& spec, const InputShape& input, const std::vector<OutputHead>& heads,
                  bool per_position)
      : per_position_(per_position), pooling_(spec.global_pooling) {
    if (!input.is_sequence()) {
      throw SpecError("model.family resnet1d reads sequences, but the data has feature columns; use family mlp");
    }
    check_kernel(spec);
    positions_ = torch::arange(input.length, torch::kLong);
    const std::vector<int> dilations = block_dilations(spec);
    int in = spec.filters.front();
    stem_ = register_module("stem", nn::Conv2d(nn::Conv2dOptions(input.channels, in, 1)));
    for (std::size_t i = 0; i < spec.filters.size(); ++i) {
      const int out = spec.filters[i];
      if (out < 1) throw SpecError(fmt::format("model.filters entry {} must be >= 1", out));
      nn::Sequential body;
      const auto activate = [&](int width) {
        if (spec.batch_norm) body->push_back(nn::BatchNorm2d(width));
        body->push_back(WatchedReLU());
      };
      activate(in);
      body->push_back(length_keeping_conv(in, out, spec.kernel_size, dilations[i], !spec.batch_norm));
      activate(out);
      if (spec.dropout > 0) body->push_back(nn::Dropout(spec.dropout));
      body->push_back(length_keeping_conv(out, out, spec.kernel_size, dilations[i], true));
      Block block{register_module(fmt::format("block{}", i), body), nullptr};
      if (out != in) {
        block.shortcut = register_module(fmt::format("block{}_shortcut", i), nn::Conv2d(nn::Conv2dOptions(in, out, 1)));
      }
      blocks_.push_back(block);
      in = out;
    }
    nn::Sequential finish;
    if (spec.batch_norm) finish->push_back(nn::BatchNorm2d(in));
    finish->push_back(WatchedReLU());
    finish_ = register_module("finish", finish);
    int width = 0;
    dense_ = register_module("dense", dense_stack(spec, in, width));
    head_ = register_module("head", output_layer(width, total_width(heads)));
  }

  at::Tensor forward(const at::Tensor& inputs, const at::Tensor& lengths) override {
    const std::int64_t length = inputs.size(2);
    const torch::Tensor keep = positions_for(positions_, length)
                                   .unsqueeze(0)
                                   .lt(lengths.unsqueeze(1))
                                   .to(inputs.scalar_type())
                                   .view({-1, 1, 1, length});
    torch::Tensor y = stem_->forward(inputs.unsqueeze(2).contiguous(at::MemoryFormat::ChannelsLast)) * keep;
    for (auto& block : blocks_) {
      const torch::Tensor shortcut = block.shortcut ? block.shortcut->forward(y) : y;
      y = (block.body->forward(y) + shortcut) * keep;
    }
    y = finish_->forward(y);
    if (!per_position_) {
      // After the final ReLU every value is >= 0, and zeroed padding then never wins a max.
      y = y * in_layout_of(y, keep);
      if (pooling_ == Pooling::max) {
        y = y.amax({2, 3}, /*keepdim=*/true);
      } else {
        y = y.sum({2, 3}, /*keepdim=*/true);
        if (pooling_ == Pooling::mean) y = y / lengths.to(y.scalar_type()).view({-1, 1, 1, 1});
      }
    }
    return dense_and_head(dense_, head_, y, per_position_);
  }

  bool per_position() const override { return per_position_; }

 private:
  struct Block {
    nn::Sequential body;
    nn::Conv2d shortcut{nullptr};
  };
  nn::Conv2d stem_{nullptr};
  std::vector<Block> blocks_;
  nn::Sequential finish_, dense_;
  nn::Conv2d head_{nullptr};
  bool per_position_;
  Pooling pooling_;
};

class RecurrentNetwork final : public ModuleNetwork {
 public:
  RecurrentNetwork(const ModelSpec& spec, const InputShape& input, const std::vector<OutputHead>& heads,
                   bool per_position)
      : per_position_(per_position), pooling_(spec.global_pooling) {
    if (!input.is_sequence()) {
      throw SpecError("model.family bilstm reads sequences, but the data has feature columns; use family mlp");
    }
    if (spec.hidden_size < 1 || spec.lstm_layers < 1) {
      throw SpecError(fmt::format("model.hidden_size ({}) and model.lstm_layers ({}) must be >= 1", spec.hidden_size,
                                  spec.lstm_layers));
    }
    lstm_ = register_module("lstm", nn::LSTM(nn::LSTMOptions(input.channels, spec.hidden_size)
                                                 .num_layers(spec.lstm_layers)
                                                 .bidirectional(spec.bidirectional)
                                                 .batch_first(true)
                                                 .dropout(spec.lstm_layers > 1 ? spec.dropout : 0.0)));
    const int features = spec.hidden_size * (spec.bidirectional ? 2 : 1);
    int width = 0;
    dense_ = register_module("dense", dense_stack(spec, features, width));
    head_ = register_module("head", output_layer(width, total_width(heads)));
    positions_ = torch::arange(input.length, torch::kLong);
  }

  at::Tensor forward(const at::Tensor& inputs, const at::Tensor& lengths) override {
    // Packing keeps padding out of the recurrence; the backward direction starts at each
    // sequence's true end.
    auto packed = nn::utils::rnn::pack_padded_sequence(inputs.transpose(1, 2), lengths.cpu(),
                                                       /*batch_first=*/true, /*enforce_sorted=*/false);
    auto encoded = std::get<0>(lstm_->forward_with_packed_input(packed));
    torch::Tensor y = std::get<0>(nn::utils::rnn::pad_packed_sequence(encoded, /*batch_first=*/true,
                                                                      /*padding_value=*/0.0, inputs.size(2)))
                          .transpose(1, 2);
    // LSTM outputs can be negative, so the pooling masks the padding explicitly.
    y = per_position_
            ? y.unsqueeze(2)
            : pool_valid_positions(y, padding_mask(positions_for(positions_, y.size(2)), lengths), lengths, pooling_)
                  .unsqueeze(2)
                  .unsqueeze(3);
    return dense_and_head(dense_, head_, y, per_position_);
  }

  bool per_position() const override { return per_position_; }

 private:
  nn::LSTM lstm_{nullptr};
  nn::Sequential dense_{nullptr};
  nn::Conv2d head_{nullptr};
  bool per_position_;
  Pooling pooling_;
};

// mlp: dense layers on feature vectors, or on the flattened one-hot sequence.
class DenseNetwork final : public ModuleNetwork {
 public:
  DenseNetwork(const ModelSpec& spec, const InputShape& input, const std::vector<OutputHead>& heads) {
    const int in = input.is_sequence() ? input.channels * input.length : input.features;
    if (in < 1) throw SpecError("model.family mlp needs feature columns or sequences to read");
    int width = 0;
    body_ = register_module("dense", dense_stack(spec, in, width));
    head_ = register_module("head", output_layer(width, total_width(heads)));
  }

  at::Tensor forward(const at::Tensor& inputs, const at::Tensor&) override {
    return dense_and_head(body_, head_, inputs.flatten(1).unsqueeze(2).unsqueeze(3), /*per_position=*/false);
  }

  bool per_position() const override { return false; }

 private:
  nn::Sequential body_{nullptr};
  nn::Conv2d head_{nullptr};
};

// A TorchScript module with forward(inputs, lengths), trained like the built-in networks: a
// user's script (family torchscript) or a transformer (worker/transformer.hpp).
class ScriptedNetwork final : public Network {
 public:
  // `origin` names the module in errors: "TorchScript model /path/net.pt".
  ScriptedNetwork(torch::jit::Module module, std::string origin, const InputShape& input, int output_width,
                  bool per_position)
      : origin_(std::move(origin)), module_(std::move(module)), per_position_(per_position) {
    check_output_shape(input, output_width);
  }

  at::Tensor forward(const at::Tensor& inputs, const at::Tensor& lengths) override {
    return module_.forward({inputs, lengths}).toTensor();
  }
  std::vector<at::Tensor> parameters() override {
    std::vector<at::Tensor> all;
    for (const auto& p : module_.parameters()) all.push_back(p);
    return all;
  }
  std::vector<at::Tensor> state() override {
    std::vector<at::Tensor> all = parameters();
    for (const auto& b : module_.buffers()) all.push_back(b);
    return all;
  }
  std::vector<std::string> state_names() override {
    std::vector<std::string> names;
    for (const auto& p : module_.named_parameters()) names.push_back(p.name);
    for (const auto& b : module_.named_buffers()) names.push_back(b.name);
    return names;
  }
  void set_training(bool training) override { module_.train(training); }
  void move_to(const c10::Device& device) override { module_.to(device); }
  bool per_position() const override { return per_position_; }
  void save_torchscript(const std::filesystem::path& path, const std::string& metadata_json) override {
    // Saved in inference mode and from the CPU, so that it loads anywhere and predicts as is.
    torch::jit::Module saved = module_.clone();
    saved.eval();
    saved.to(torch::kCPU);
    saved.save(path.string(), {{"gridfold.json", metadata_json}});
  }

 private:
  // A wrong output shape found now names the module; found mid-training it would not.
  void check_output_shape(const InputShape& input, int width) {
    torch::NoGradGuard no_grad;
    module_.eval();
    const torch::Tensor inputs =
        input.is_sequence() ? torch::zeros({2, input.channels, input.length}) : torch::zeros({2, input.features});
    const torch::Tensor lengths = torch::full({2}, std::max(input.length, 1), torch::kLong);
    torch::Tensor out;
    try {
      out = forward(inputs, lengths);
    } catch (const c10::Error& e) {
      throw SpecError(fmt::format("{} fails on a batch of shape {}: {}", origin_, fmt::join(inputs.sizes(), "x"),
                                  e.what_without_backtrace()));
    }
    std::vector<std::int64_t> expected{2, width};
    if (per_position_) expected.push_back(input.length);
    if (out.sizes().vec() != expected) {
      throw SpecError(
          fmt::format("{} returns shape [{}], expected [{}] (batch, "
                      "outputs{})",
                      origin_, fmt::join(out.sizes(), ", "), fmt::join(expected, ", "),
                      per_position_ ? ", positions" : ""));
    }
    module_.train();
  }
  std::string origin_;
  torch::jit::Module module_;
  bool per_position_;
};

std::shared_ptr<Network> load_scripted_network(const ModelSpec& spec, const InputShape& input, int output_width,
                                               bool per_position) {
  if (spec.script_path.empty()) throw SpecError("model.family torchscript needs model.script_path");
  torch::jit::Module module;
  try {
    module = torch::jit::load(spec.script_path.string());
  } catch (const c10::Error& e) {
    throw SpecError(
        fmt::format("cannot load TorchScript model {}: {}", spec.script_path.string(), e.what_without_backtrace()));
  }
  return std::make_shared<ScriptedNetwork>(std::move(module), "TorchScript model " + spec.script_path.string(), input,
                                           output_width, per_position);
}

}  // namespace

std::shared_ptr<Network> build_network(const ModelSpec& spec, const InputShape& input,
                                       const std::vector<OutputHead>& heads) {
  const bool per_position = check_output_kind(spec, input, heads);
  switch (spec.family) {
    case ModelFamily::cnn1d:
    case ModelFamily::branched_cnn:
      return std::make_shared<ConvNetwork>(spec, input, heads, per_position);
    case ModelFamily::resnet1d:
      return std::make_shared<ResidualNetwork>(spec, input, heads, per_position);
    case ModelFamily::bilstm:
      return std::make_shared<RecurrentNetwork>(spec, input, heads, per_position);
    case ModelFamily::mlp:
      return std::make_shared<DenseNetwork>(spec, input, heads);
    case ModelFamily::torchscript:
      return load_scripted_network(spec, input, total_width(heads), per_position);
    case ModelFamily::transformer:
      return std::make_shared<ScriptedNetwork>(transformer_module(spec, input, total_width(heads), per_position),
                                               "the transformer", input, total_width(heads), per_position);
  }
  throw SpecError(fmt::format("model.family {} has no builder", static_cast<int>(spec.family)));
}

}  // namespace gridfold::worker
