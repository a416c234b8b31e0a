#include "worker/transformer.hpp"

#include <fmt/format.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <cmath>
#include <string>

namespace gridfold::worker {
namespace {

// Token ids: the padding token 0 (masked everywhere), [CLS] 1, the unknown k-mer 2, then the
// k-mers as base-C numbers of their letters' channels.
constexpr std::int64_t kPadToken = 0;
constexpr std::int64_t kClsToken = 1;
constexpr std::int64_t kUnknownToken = 2;
constexpr std::int64_t kFirstKmerToken = 3;
// Embedding rows beyond this would be mostly never seen: 21^4 protein 4-mers in a few
// thousand peptides.
constexpr std::int64_t kMaxVocabulary = 65536 + kFirstKmerToken;

std::string layer_name(int layer, const char* part) {
  return fmt::format("layer{}_{}", layer, part);
}

// What the source generator needs to know, fixed when the module is built.
struct Shape {
  int kmer, channels, layers, heads, d_model, ff, output_width;
  std::vector<int> dense;
  double dropout;
  Pooling pooling;
  bool per_position;
};

// `torch.dropout(x, p, train)` only where the model has dropout: a call with p = 0 still costs
// a pass over the tensor in training.
std::string dropout(const Shape& s, const std::string& x) {
  return s.dropout > 0 ? fmt::format("torch.dropout({}, {}, self.training)", x, s.dropout) : x;
}

std::string tokens_method(const Shape& s) {
  return fmt::format(R"py(
def tokens(self, inputs: Tensor, lengths: Tensor) -> Tuple[Tensor, Tensor]:
    if inputs.size(2) < {k}:
        inputs = torch.constant_pad_nd(inputs, [0, {k} - inputs.size(2)], 0.0)
    peak, letter = torch.max(inputs, 1)
    # Ambiguous codes spread their weight over several channels and padding has none: neither
    # is a letter, so no k-mer over them is known.
    known = peak > 0.999
    count = inputs.size(2) - {k} + 1
    ids = letter.new_zeros([inputs.size(0), count])
    whole = known.new_ones([inputs.size(0), count])
    for j in range({k}):
        ids = ids * {channels} + letter.narrow(1, j, count)
        whole = whole & known.narrow(1, j, count)
    valid = torch.arange(count, device=inputs.device).unsqueeze(0) < torch.clamp(lengths - {k} + 1, min=1).unsqueeze(1)
    tokens = torch.where(whole, ids + {first}, torch.full_like(ids, {unknown}))
    return tokens.masked_fill(valid.logical_not(), {pad}), valid
)py",
                     fmt::arg("k", s.kmer), fmt::arg("channels", s.channels), fmt::arg("first", kFirstKmerToken),
                     fmt::arg("unknown", kUnknownToken), fmt::arg("pad", kPadToken));
}

// Linear layers as 1x1 convolutions over the rows: the arithmetic of torch.linear, but on
// oneDNN's matrix kernels instead of the system BLAS, which on Debian is the slow reference
// one (as the other families' dense layers, worker/models.cpp).
const char* const kLinearMethod = R"py(
def linear(self, x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    shape = x.shape
    rows = x.reshape([-1, shape[-1], 1, 1])
    y = torch.conv2d(rows, weight.view([weight.size(0), weight.size(1), 1, 1]), bias)
    shape[-1] = weight.size(0)
    return y.view(shape)
)py";

std::string encoder_layer_method(const Shape& s) {
  const int head_width = s.d_model / s.heads;
  return fmt::format(R"py(
def encoder_layer(self, x: Tensor, mask: Tensor, in_weight: Tensor, in_bias: Tensor, out_weight: Tensor,
                  out_bias: Tensor, norm1_weight: Tensor, norm1_bias: Tensor, ff1_weight: Tensor, ff1_bias: Tensor,
                  ff2_weight: Tensor, ff2_bias: Tensor, norm2_weight: Tensor, norm2_bias: Tensor) -> Tensor:
    n = x.size(0)
    t = x.size(1)
    qkv = self.linear(x, in_weight, in_bias).view([n, t, 3, {heads}, {head_width}]).permute([2, 0, 3, 1, 4])
    scores = torch.matmul(qkv[0], qkv[1].transpose(2, 3)) * {scale} + mask
    attention = {attention_dropout}
    a = torch.matmul(attention, qkv[2]).transpose(1, 2).reshape([n, t, {d_model}])
    x = torch.layer_norm(x + {attended}, [{d_model}], norm1_weight, norm1_bias, 1e-05, False)
    f = self.linear({hidden}, ff2_weight, ff2_bias)
    return torch.layer_norm(x + {fed}, [{d_model}], norm2_weight, norm2_bias, 1e-05, False)
)py",
                     fmt::arg("heads", s.heads), fmt::arg("head_width", head_width),
                     fmt::arg("scale", 1.0 / std::sqrt(static_cast<double>(head_width))),
                     fmt::arg("attention_dropout", dropout(s, "torch.softmax(scores, 3)")),
                     fmt::arg("d_model", s.d_model),
                     fmt::arg("attended", dropout(s, "self.linear(a, out_weight, out_bias)")),
                     fmt::arg("hidden", dropout(s, "torch.relu(self.linear(x, ff1_weight, ff1_bias))")),
                     fmt::arg("fed", dropout(s, "f")));
}

std::string head_method(const Shape& s) {
  std::string body;
  for (std::size_t i = 0; i < s.dense.size(); ++i) {
    body += fmt::format("    x = {}\n", dropout(s, fmt::format("torch.relu(self.linear(x, self.dense{0}_weight, "
                                                               "self.dense{0}_bias))",
                                                               i)));
  }
  return fmt::format(R"py(
def head(self, x: Tensor) -> Tensor:
{}    return self.linear(x, self.head_weight, self.head_bias)
)py",
                     body);
}

// Token outputs [N][T][W] to positions [N][W][L]: each position averages the valid tokens
// whose k-mer covers it, so padding positions get 0.
std::string to_positions_method(const Shape& s) {
  return fmt::format(R"py(
def to_positions(self, y: Tensor, valid: Tensor, length: int) -> Tensor:
    w = valid.unsqueeze(1).to(y.dtype)
    sums = torch.constant_pad_nd(y.transpose(1, 2) * w, [{0}, {0}], 0.0).unfold(2, {1}, 1).sum(3)
    counts = torch.constant_pad_nd(w, [{0}, {0}], 0.0).unfold(2, {1}, 1).sum(3)
    return (sums / torch.clamp(counts, min=1.0)).narrow(2, 0, length)
)py",
                     s.kmer - 1, s.kmer);
}

std::string pooled(const Shape& s) {
  switch (s.pooling) {
    case Pooling::cls:
      return "x.select(1, 0)";
    case Pooling::max:
      return "x.masked_fill(valid.logical_not().unsqueeze(2), float('-inf')).amax(1)";
    case Pooling::sum:
      return "(x * valid.unsqueeze(2).to(x.dtype)).sum(1)";
    case Pooling::mean:
      return "(x * valid.unsqueeze(2).to(x.dtype)).sum(1) / valid.sum(1, keepdim=True).to(x.dtype)";
    case Pooling::none:
      break;
  }
  throw std::logic_error("pooled() called for per-position outputs");
}

std::string forward_method(const Shape& s, std::int64_t positions) {
  std::string layers;
  for (int l = 0; l < s.layers; ++l) {
    layers += "    x = self.encoder_layer(x, mask";
    for (const char* part :
         {"attention_in_weight", "attention_in_bias", "attention_out_weight", "attention_out_bias", "norm1_weight",
          "norm1_bias", "ff1_weight", "ff1_bias", "ff2_weight", "ff2_bias", "norm2_weight", "norm2_bias"}) {
      layers += ", self." + layer_name(l, part);
    }
    layers += ")\n";
  }
  const std::string cls = s.pooling != Pooling::cls ? ""
                                                    : fmt::format(R"py(
    tokens = torch.cat([tokens.new_full([tokens.size(0), 1], {}), tokens], 1)
    valid = torch.cat([valid.new_ones([valid.size(0), 1]), valid], 1)
)py",
                                                                  kClsToken);
  const std::string output = s.per_position ? "self.to_positions(self.head(x), valid, inputs.size(2))"
                                            : fmt::format("self.head({})", pooled(s));
  return fmt::format(R"py(
def forward(self, inputs: Tensor, lengths: Tensor) -> Tensor:
    tokens, valid = self.tokens(inputs, lengths)
{cls}    assert tokens.size(1) <= {positions}, "the transformer has position embeddings for {positions} tokens; this batch has more (longer sequences than it was built for)"
    x = {embedded}
    mask = x.new_zeros(valid.shape).masked_fill(valid.logical_not(), float('-inf')).view([valid.size(0), 1, 1, valid.size(1)])
{layers}    return {output}
)py",
                     fmt::arg("cls", cls), fmt::arg("positions", positions),
                     fmt::arg("embedded", dropout(s,
                                                  "torch.embedding(self.token_embedding, tokens) + "
                                                  "self.position_embedding.narrow(0, 0, tokens.size(1))")),
                     fmt::arg("layers", layers), fmt::arg("output", output));
}

// A trainable tensor: a jit module's parameters are plain attributes until they require grad.
void add_parameter(torch::jit::Module& module, const std::string& name, torch::Tensor value) {
  module.register_parameter(name, value.set_requires_grad(true), /*is_buffer=*/false);
}

// torch.nn.Linear's initialisation: weight and bias uniform in +-1/sqrt(inputs).
void add_linear(torch::jit::Module& module, const std::string& name, int inputs, int outputs) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(inputs));
  add_parameter(module, name + "_weight", torch::empty({outputs, inputs}).uniform_(-bound, bound));
  add_parameter(module, name + "_bias", torch::empty({outputs}).uniform_(-bound, bound));
}

void add_layer(torch::jit::Module& module, int l, const Shape& s) {
  const auto add = [&](const char* part, const torch::Tensor& value) {
    add_parameter(module, layer_name(l, part), value);
  };
  // torch.nn.MultiheadAttention: Xavier-uniform projections, zero biases.
  torch::Tensor in_weight = torch::empty({3 * s.d_model, s.d_model});
  torch::nn::init::xavier_uniform_(in_weight);
  add("attention_in_weight", in_weight);
  add("attention_in_bias", torch::zeros({3 * s.d_model}));
  const double bound = 1.0 / std::sqrt(static_cast<double>(s.d_model));
  add("attention_out_weight", torch::empty({s.d_model, s.d_model}).uniform_(-bound, bound));
  add("attention_out_bias", torch::zeros({s.d_model}));
  add("norm1_weight", torch::ones({s.d_model}));
  add("norm1_bias", torch::zeros({s.d_model}));
  add_linear(module, layer_name(l, "ff1"), s.d_model, s.ff);
  add_linear(module, layer_name(l, "ff2"), s.ff, s.d_model);
  add("norm2_weight", torch::ones({s.d_model}));
  add("norm2_bias", torch::zeros({s.d_model}));
}

}  // namespace

torch::jit::Module transformer_module(const ModelSpec& spec, const InputShape& input, int output_width,
                                      bool per_position) {
  if (!input.is_sequence()) {
    throw SpecError("model.family transformer reads sequences, but the data has feature columns; use family mlp");
  }
  const Shape s{spec.kmer,    input.channels, spec.layers,  spec.heads,          spec.d_model, spec.ff,
                output_width, spec.dense,     spec.dropout, spec.global_pooling, per_position};
  const double kmers = std::pow(static_cast<double>(s.channels), s.kmer);
  if (kmers + kFirstKmerToken > kMaxVocabulary) {
    throw SpecError(
        fmt::format("model.kmer {} makes {:.0f} tokens of {} letters; at most {} fit (kmer <= 3 for "
                    "protein, <= 6 for DNA and RNA)",
                    s.kmer, kmers, s.channels, kMaxVocabulary - kFirstKmerToken));
  }
  if (s.d_model % s.heads != 0) {
    throw SpecError(fmt::format("model.heads {} does not divide model.d_model {}", s.heads, s.d_model));
  }
  for (int width : s.dense) {
    if (width < 1) throw SpecError(fmt::format("model.dense entry {} must be >= 1", width));
  }
  // One token per k-mer start, plus [CLS].
  const std::int64_t positions = std::max(input.length - s.kmer + 1, 1) + (s.pooling == Pooling::cls ? 1 : 0);

  torch::jit::Module module("gridfold_transformer");
  // Module::train() sets this on every module; the source reads it to switch dropout.
  module.register_attribute("training", c10::BoolType::get(), true);
  add_parameter(module, "token_embedding",
                torch::empty({static_cast<std::int64_t>(kmers) + kFirstKmerToken, s.d_model}).normal_(0, 0.02));
  add_parameter(module, "position_embedding", torch::empty({positions, s.d_model}).normal_(0, 0.02));
  for (int l = 0; l < s.layers; ++l) add_layer(module, l, s);
  int width = s.d_model;
  for (std::size_t i = 0; i < s.dense.size(); ++i) {
    add_linear(module, fmt::format("dense{}", i), width, s.dense[i]);
    width = s.dense[i];
  }
  add_linear(module, "head", width, output_width);

  std::string source =
      kLinearMethod + tokens_method(s) + encoder_layer_method(s) + head_method(s) + forward_method(s, positions);
  if (per_position) source += to_positions_method(s);
  module.define(source);
  return module;
}

}  // namespace gridfold::worker
