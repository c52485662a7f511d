#include "nas/darts.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>  // fmt::join (moved here in fmt 11, the fmt that PyTorch 2.5+ wheels ship)

#include <algorithm>
#include <cctype>
#include <optional>
#include <random>
#include <set>

#include "core/errors.hpp"
#include "nas/ops.hpp"

namespace fhist::nas {

namespace nn = torch::nn;

const std::vector<std::string>& darts_ops() {
  static const std::vector<std::string> ops = {"none",         "max_pool_3x3", "avg_pool_3x3", "skip_connect",
                                               "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5"};
  return ops;
}

namespace {

constexpr int kSteps = 4;           // intermediate nodes per cell
constexpr int kPairs = 2 * kSteps;  // (op, input) pairs per cell
const char* const kCells[2] = {"normal", "reduce"};

bool known_op(const std::string& op) {
  const auto& ops = darts_ops();
  return std::find(ops.begin(), ops.end(), op) != ops.end();
}

std::string op_list() { return fmt::format("{}", fmt::join(darts_ops(), ", ")); }

// Input j of pair k is legal when it is an earlier state of node k/2 + 2: 0 .. k/2 + 1.
int max_input(int pair) { return pair / 2 + 1; }

// Only intermediate nodes may be concatenated: in a reduction cell the inputs 0/1 keep the previous resolution.
std::string concat_error(int v, const std::vector<int>& seen) {
  if (v < 2 || v > kSteps + 1) return fmt::format("concat index {} is not an intermediate node (2..{})", v, kSteps + 1);
  if (std::find(seen.begin(), seen.end(), v) != seen.end()) return fmt::format("concat index {} is repeated", v);
  return {};
}

// ---- Text form ---------------------------------------------------------------------------------------------------

struct Token {
  enum Kind { kIdent, kInt, kString, kPunct, kEnd } kind;
  std::string text;  // identifier, digits, string contents (no quotes), one punctuation char, or "end of text"
  std::size_t pos;
};

[[noreturn]] void fail_at(const Token& t, const std::string& what) {
  throw InputError(fmt::format("genotype: {} at '{}' (position {})", what, t.text, t.pos));
}

std::vector<Token> tokenize(const std::string& s) {
  std::vector<Token> out;
  std::size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    const std::size_t start = i;
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '_')) ++i;
      out.push_back({Token::kIdent, s.substr(start, i - start), start});
    } else if (std::isdigit(static_cast<unsigned char>(c)) ||
               (c == '-' && i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1])))) {
      ++i;
      while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
      if (i < s.size() && (std::isalpha(static_cast<unsigned char>(s[i])) || s[i] == '.' || s[i] == '_'))
        fail_at({Token::kPunct, s.substr(start, i + 1 - start), start}, "expected an integer");
      out.push_back({Token::kInt, s.substr(start, i - start), start});
    } else if (c == '\'' || c == '"') {
      const std::size_t close = s.find(c, i + 1);
      if (close == std::string::npos) fail_at({Token::kPunct, s.substr(start), start}, "unterminated string");
      out.push_back({Token::kString, s.substr(i + 1, close - i - 1), start});
      i = close + 1;
    } else if (std::string("()[],=").find(c) != std::string::npos) {
      out.push_back({Token::kPunct, std::string(1, c), start});
      ++i;
    } else {
      fail_at({Token::kPunct, std::string(1, c), start}, "unexpected character");
    }
  }
  out.push_back({Token::kEnd, "end of text", s.size()});
  return out;
}

class Parser {
 public:
  explicit Parser(const std::string& text) : toks_(tokenize(text)) {}

  Genotype parse() {
    const Token& name = next();
    if (name.kind != Token::kIdent || name.text != "Genotype") fail_at(name, "expected 'Genotype('");
    expect("(");
    Genotype g;
    std::set<std::string> seen;
    seq(")", [&] {
      const Token& field = next();
      if (field.kind != Token::kIdent) fail_at(field, "expected a field name");
      if (!seen.insert(field.text).second) fail_at(field, "repeated field");
      expect("=");
      if (field.text == "normal" || field.text == "reduce") {
        (field.text == "normal" ? g.normal : g.reduce) = edges(field);
      } else if (field.text == "normal_concat" || field.text == "reduce_concat") {
        (field.text == "normal_concat" ? g.normal_concat : g.reduce_concat) = concat();
      } else {
        fail_at(field, "unknown field (expected normal, normal_concat, reduce, reduce_concat)");
      }
    });
    const Token& close = toks_[at_ - 1];
    for (const char* f : {"normal", "normal_concat", "reduce", "reduce_concat"})
      if (!seen.count(f)) fail_at(close, fmt::format("missing field '{}'", f));
    if (peek().kind != Token::kEnd) fail_at(peek(), "unexpected text after the genotype");
    return g;
  }

 private:
  const Token& peek() const { return toks_[at_]; }
  const Token& next() { return toks_[at_ < toks_.size() - 1 ? at_++ : at_]; }
  bool is(const Token& t, const char* p) const { return t.kind == Token::kPunct && t.text == p; }
  const Token& expect(const char* p) {
    const Token& t = next();
    if (!is(t, p)) fail_at(t, fmt::format("expected '{}'", p));
    return t;
  }
  // Comma-separated items up to `close` (already past the opener); a trailing comma is fine, as in Python.
  template <class F>
  void seq(const char* close, F item) {
    while (!is(peek(), close)) {
      item();
      if (is(peek(), ",")) {
        next();
      } else if (!is(peek(), close)) {
        fail_at(peek(), fmt::format("expected ',' or '{}'", close));
      }
    }
    next();
  }
  int integer() {
    const Token& t = next();
    if (t.kind != Token::kInt) fail_at(t, "expected an integer");
    if (t.text.size() > 6) fail_at(t, "integer out of range");
    return std::stoi(t.text);
  }

  std::vector<Genotype::Edge> edges(const Token& field) {
    expect("[");
    std::vector<Genotype::Edge> out;
    std::vector<std::pair<const Token*, const Token*>> where;  // (op token, input token) per pair
    seq("]", [&] {
      expect("(");
      const Token& op = next();
      if (op.kind != Token::kString) fail_at(op, "expected a quoted op name");
      expect(",");
      const Token& in = peek();
      const int input = integer();
      if (is(peek(), ",")) next();
      expect(")");
      out.emplace_back(op.text, input);
      where.emplace_back(&op, &in);
    });
    if (out.size() != kPairs)
      fail_at(field, fmt::format("field '{}' has {} (op, input) pairs, expected {}", field.text, out.size(), kPairs));
    for (int k = 0; k < kPairs; ++k) {
      if (!known_op(out[k].first))
        fail_at(*where[k].first, fmt::format("unknown op '{}' (expected one of {})", out[k].first, op_list()));
      if (out[k].second < 0 || out[k].second > max_input(k))
        fail_at(*where[k].second, fmt::format("input {} of {}[{}] is out of range for node {} (0..{})", out[k].second,
                                              field.text, k, k / 2 + 2, max_input(k)));
    }
    return out;
  }

  std::vector<int> concat() {
    std::vector<int> out;
    const Token& open = next();
    if (open.kind == Token::kIdent && open.text == "range") {
      expect("(");
      const Token& lo_tok = peek();
      const int lo = integer();
      expect(",");
      const Token& hi_tok = peek();
      const int hi = integer();
      expect(")");
      if (hi <= lo) fail_at(hi_tok, "empty range");
      for (int v = lo; v < hi; ++v) {
        const std::string err = concat_error(v, out);
        if (!err.empty()) fail_at(v == lo ? lo_tok : hi_tok, err);
        out.push_back(v);
      }
      return out;
    }
    if (!is(open, "[")) fail_at(open, "expected '[' or 'range('");
    seq("]", [&] {
      const Token& t = peek();
      const int v = integer();
      const std::string err = concat_error(v, out);
      if (!err.empty()) fail_at(t, err);
      out.push_back(v);
    });
    if (out.empty()) fail_at(toks_[at_ - 1], "empty concat list");
    return out;
  }

  std::vector<Token> toks_;
  std::size_t at_ = 0;
};

std::string edges_text(const std::vector<Genotype::Edge>& edges) {
  std::vector<std::string> parts;
  for (const auto& [op, in] : edges) parts.push_back(fmt::format("('{}', {})", op, in));
  return fmt::format("[{}]", fmt::join(parts, ", "));
}

// ---- Network -----------------------------------------------------------------------------------------------------

// A cell operation: one input state -> one output state with the cell's channel count.
class CellOp : public nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
  // Identity ops are exempt from drop path (model.py: `not isinstance(op, Identity)`).
  virtual bool identity() const { return false; }
};

class ZeroOp : public CellOp {
 public:
  explicit ZeroOp(std::int64_t stride) : stride_(stride) {}
  torch::Tensor forward(const torch::Tensor& x) override {
    using torch::indexing::None;
    using torch::indexing::Slice;
    if (stride_ == 1) return x.mul(0.0);
    return x.index({Slice(), Slice(), Slice(None, None, stride_), Slice(None, None, stride_)}).mul(0.0);
  }

 private:
  std::int64_t stride_;
};

class PoolOp : public CellOp {
 public:
  PoolOp(bool max, std::int64_t stride) : max_(max), stride_(stride) {}
  torch::Tensor forward(const torch::Tensor& x) override {
    if (max_) return torch::max_pool2d(x, {3, 3}, {stride_, stride_}, {1, 1});
    return torch::avg_pool2d(x, {3, 3}, {stride_, stride_}, {1, 1}, /*ceil_mode=*/false, /*count_include_pad=*/false);
  }

 private:
  bool max_;
  std::int64_t stride_;
};

class IdentityOp : public CellOp {
 public:
  torch::Tensor forward(const torch::Tensor& x) override { return x; }
  bool identity() const override { return true; }
};

class SequentialOp : public CellOp {
 public:
  explicit SequentialOp(nn::Sequential seq) : seq_(register_module("op", std::move(seq))) {}
  torch::Tensor forward(const torch::Tensor& x) override { return seq_->forward(x); }

 private:
  nn::Sequential seq_;
};

nn::Conv2d depthwise(std::int64_t C, std::int64_t k, std::int64_t stride, std::int64_t pad, std::int64_t dilation) {
  return nn::Conv2d(nn::Conv2dOptions(C, C, k).stride(stride).padding(pad).dilation(dilation).groups(C).bias(false));
}
nn::Conv2d pointwise(std::int64_t C) { return nn::Conv2d(nn::Conv2dOptions(C, C, 1).bias(false)); }

std::shared_ptr<CellOp> make_op(const std::string& name, std::int64_t C, std::int64_t stride) {
  if (name == "none") return std::make_shared<ZeroOp>(stride);
  if (name == "max_pool_3x3" || name == "avg_pool_3x3") return std::make_shared<PoolOp>(name[0] == 'm', stride);
  if (name == "skip_connect") {
    if (stride == 1) return std::make_shared<IdentityOp>();
    return std::make_shared<SequentialOp>(nn::Sequential(FactorizedReduce(C, C)));
  }
  const std::int64_t k = name.back() == '3' ? 3 : 5;
  if (name.rfind("sep_conv", 0) == 0) {
    // Two ReLU-depthwise-pointwise-BN blocks; only the first is strided.
    return std::make_shared<SequentialOp>(
        nn::Sequential(nn::ReLU(), depthwise(C, k, stride, k / 2, 1), pointwise(C), nn::BatchNorm2d(C),  //
                       nn::ReLU(), depthwise(C, k, 1, k / 2, 1), pointwise(C), nn::BatchNorm2d(C)));
  }
  if (name.rfind("dil_conv", 0) == 0) {
    return std::make_shared<SequentialOp>(
        nn::Sequential(nn::ReLU(), depthwise(C, k, stride, k - 1, 2), pointwise(C), nn::BatchNorm2d(C)));
  }
  throw InputError(fmt::format("DARTS: unknown op '{}' (expected one of {})", name, op_list()));
}

}  // namespace

struct DartsCellImpl : nn::Module {
  DartsCellImpl(const std::vector<Genotype::Edge>& edges, const std::vector<int>& concat, std::int64_t c_prev_prev,
                std::int64_t c_prev, std::int64_t C, bool reduction, bool reduction_prev)
      : concat_(concat) {
    // s0 comes from two cells back: if the previous cell reduced, s0 is twice s1's resolution.
    pre0_ = register_module("preprocess0", reduction_prev ? nn::Sequential(FactorizedReduce(c_prev_prev, C))
                                                          : nn::Sequential(ReLUConvBN(c_prev_prev, C, 1, 1, 0)));
    pre1_ = register_module("preprocess1", nn::Sequential(ReLUConvBN(c_prev, C, 1, 1, 0)));
    for (std::size_t k = 0; k < edges.size(); ++k) {
      const std::int64_t stride = reduction && edges[k].second < 2 ? 2 : 1;
      ops_.push_back(register_module(fmt::format("op{}", k), make_op(edges[k].first, C, stride)));
      inputs_.push_back(edges[k].second);
    }
  }

  torch::Tensor forward(const torch::Tensor& s0, const torch::Tensor& s1, double drop_prob, const at::Generator& gen) {
    std::vector<torch::Tensor> states = {pre0_->forward(s0), pre1_->forward(s1)};
    const bool drop = is_training() && drop_prob > 0.0;
    for (std::size_t k = 0; k + 1 < ops_.size(); k += 2) {
      torch::Tensor sum;
      for (std::size_t e = k; e < k + 2; ++e) {
        auto h = ops_[e]->forward(states[inputs_[e]]);
        if (drop && !ops_[e]->identity()) h = drop_path(h, drop_prob, gen);
        sum = sum.defined() ? sum + h : h;
      }
      states.push_back(sum);
    }
    std::vector<torch::Tensor> out;
    for (int i : concat_) out.push_back(states[i]);
    return torch::cat(out, 1);
  }

  nn::Sequential pre0_{nullptr}, pre1_{nullptr};
  std::vector<std::shared_ptr<CellOp>> ops_;
  std::vector<int> inputs_;
  std::vector<int> concat_;
};

// ---- Genotypes ---------------------------------------------------------------------------------------------------

Genotype parse_genotype(const std::string& text) {
  // Say what the whole text should look like when it is not even a genotype (e.g. an NB-201 string).
  // Only when the text does not even start with a name: a misspelt "Genotyp(" gets the parser's precise message.
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && !std::isalpha(static_cast<unsigned char>(text[first])) && text[first] != '_') {
    throw InputError(fmt::format("genotype: expected DARTS genotype text, Genotype(normal=[('sep_conv_3x3', 0), ...], "
                                 "normal_concat=[2, 3, 4, 5], reduce=[...], reduce_concat=[2, 3, 4, 5]), got '{}'",
                                 text.substr(0, 60)));
  }
  return Parser(text).parse();
}

std::string to_string(const Genotype& g) {
  return fmt::format("Genotype(normal={}, normal_concat=[{}], reduce={}, reduce_concat=[{}])", edges_text(g.normal),
                     fmt::join(g.normal_concat, ", "), edges_text(g.reduce), fmt::join(g.reduce_concat, ", "));
}

void validate_genotype(const Genotype& g) {
  for (int c = 0; c < 2; ++c) {
    const auto& edges = c == 0 ? g.normal : g.reduce;
    const auto& concat = c == 0 ? g.normal_concat : g.reduce_concat;
    if (edges.size() != kPairs)
      throw InputError(
          fmt::format("genotype: '{}' has {} (op, input) pairs, expected {}", kCells[c], edges.size(), kPairs));
    for (int k = 0; k < kPairs; ++k) {
      if (!known_op(edges[k].first))
        throw InputError(fmt::format("genotype: {}[{}]: unknown op '{}' (expected one of {})", kCells[c], k,
                                     edges[k].first, op_list()));
      if (edges[k].second < 0 || edges[k].second > max_input(k))
        throw InputError(fmt::format("genotype: {}[{}]: input {} is out of range for node {} (0..{})", kCells[c], k,
                                     edges[k].second, k / 2 + 2, max_input(k)));
    }
    if (concat.empty()) throw InputError(fmt::format("genotype: {}_concat is empty", kCells[c]));
    std::vector<int> seen;
    for (int v : concat) {
      const std::string err = concat_error(v, seen);
      if (!err.empty()) throw InputError(fmt::format("genotype: {}_concat: {}", kCells[c], err));
      seen.push_back(v);
    }
  }
}

Genotype darts_v2() {
  return Genotype{{{"sep_conv_3x3", 0},
                   {"sep_conv_3x3", 1},
                   {"sep_conv_3x3", 0},
                   {"sep_conv_3x3", 1},
                   {"sep_conv_3x3", 1},
                   {"skip_connect", 0},
                   {"skip_connect", 0},
                   {"dil_conv_3x3", 2}},
                  {2, 3, 4, 5},
                  {{"max_pool_3x3", 0},
                   {"max_pool_3x3", 1},
                   {"skip_connect", 2},
                   {"max_pool_3x3", 1},
                   {"max_pool_3x3", 0},
                   {"skip_connect", 2},
                   {"skip_connect", 2},
                   {"max_pool_3x3", 1}},
                  {2, 3, 4, 5}};
}

Genotype sample_genotype(space::Rng& rng) {
  Genotype g;
  for (auto* edges : {&g.normal, &g.reduce}) {
    for (int node = 2; node < 2 + kSteps; ++node) {
      // Two distinct inputs, uniform over ordered pairs: the second skips the first's value.
      const int a = std::uniform_int_distribution<int>(0, node - 1)(rng);
      int b = std::uniform_int_distribution<int>(0, node - 2)(rng);
      if (b >= a) ++b;
      for (int input : {a, b}) {
        const auto op = std::uniform_int_distribution<std::size_t>(1, darts_ops().size() - 1)(rng);  // not "none"
        edges->emplace_back(darts_ops()[op], input);
      }
    }
  }
  g.normal_concat = g.reduce_concat = {2, 3, 4, 5};
  return g;
}

namespace {
std::string param_name(int cell, int node, const char* what, int slot) {
  return fmt::format("{}_{}_{}_{}", kCells[cell], node, what, slot == 0 ? "a" : "b");
}
}  // namespace

space::SearchSpace darts_space() {
  std::vector<space::Param> params;
  std::vector<space::Constraint> constraints;
  const std::vector<nlohmann::json> ops(darts_ops().begin() + 1, darts_ops().end());
  for (int c = 0; c < 2; ++c) {
    for (int node = 2; node < 2 + kSteps; ++node) {
      std::vector<nlohmann::json> inputs;
      for (int i = 0; i < node; ++i) inputs.emplace_back(i);
      for (int s = 0; s < 2; ++s) {
        params.push_back(space::Param::categorical(param_name(c, node, "in", s), inputs));
        params.push_back(space::Param::categorical(param_name(c, node, "op", s), ops));
      }
      const std::string a = param_name(c, node, "in", 0), b = param_name(c, node, "in", 1);
      constraints.push_back({fmt::format("{}_{}_inputs_differ", kCells[c], node),
                             [a, b](const space::Config& cfg) { return cfg.get(a) != cfg.get(b); }});
    }
  }
  return space::SearchSpace("darts", std::move(params), std::move(constraints));
}

Genotype darts_genotype_from_config(const space::Config& config) {
  darts_space().validate(config);
  Genotype g;
  for (int c = 0; c < 2; ++c)
    for (int node = 2; node < 2 + kSteps; ++node)
      for (int s = 0; s < 2; ++s)
        (c == 0 ? g.normal : g.reduce)
            .emplace_back(config.get_string(param_name(c, node, "op", s)),
                          static_cast<int>(config.get_int(param_name(c, node, "in", s))));
  g.normal_concat = g.reduce_concat = {2, 3, 4, 5};
  return g;
}

space::Config darts_config(const Genotype& g) {
  validate_genotype(g);
  space::Config config;
  for (int c = 0; c < 2; ++c) {
    if ((c == 0 ? g.normal_concat : g.reduce_concat) != std::vector<int>{2, 3, 4, 5})
      throw InputError(fmt::format("genotype: {}_concat must be [2, 3, 4, 5] in the DARTS search space", kCells[c]));
    const auto& edges = c == 0 ? g.normal : g.reduce;
    for (int k = 0; k < kPairs; ++k) {
      config.set(param_name(c, k / 2 + 2, "in", k % 2), edges[k].second);
      config.set(param_name(c, k / 2 + 2, "op", k % 2), edges[k].first);
    }
  }
  darts_space().validate(config);  // "none" or a node reading one input twice: named by the space
  return config;
}

torch::Tensor drop_path(const torch::Tensor& x, double drop_prob, at::Generator gen) {
  TORCH_CHECK(drop_prob >= 0.0 && drop_prob < 1.0, "drop_path: drop_prob must be in [0, 1), got ", drop_prob);
  const double keep = 1.0 - drop_prob;
  std::vector<std::int64_t> shape(static_cast<std::size_t>(x.dim()), 1);
  shape[0] = x.size(0);
  auto mask = torch::empty(shape, torch::kFloat32).bernoulli_(keep, gen).to(x.device(), x.scalar_type());
  return x.div(keep).mul(mask);
}

// ---- NetworkCIFAR ------------------------------------------------------------------------------------------------

NetworkCIFAR::NetworkCIFAR(std::int64_t C, std::int64_t num_classes, std::int64_t layers, bool auxiliary,
                           const Genotype& genotype, std::int64_t in_channels, double drop_path_max)
    : drop_path_max_(drop_path_max) {
  if (C < 1 || num_classes < 1 || layers < 1 || in_channels < 1)
    throw InputError(
        fmt::format("NetworkCIFAR: C ({}), num_classes ({}), layers ({}) and in_channels ({}) must be "
                    "positive",
                    C, num_classes, layers, in_channels));
  if (!(drop_path_max >= 0.0 && drop_path_max < 1.0))
    throw InputError(fmt::format("NetworkCIFAR: drop_path_max {} must be in [0, 1)", drop_path_max));
  validate_genotype(genotype);

  const std::int64_t stem_c = 3 * C;
  stem_ = register_module("stem",
                          nn::Sequential(nn::Conv2d(nn::Conv2dOptions(in_channels, stem_c, 3).padding(1).bias(false)),
                                         nn::BatchNorm2d(stem_c)));
  std::int64_t c_prev_prev = stem_c, c_prev = stem_c, c_curr = C, c_aux = 0;
  bool reduction_prev = false;
  for (std::int64_t i = 0; i < layers; ++i) {
    const bool reduction = i == layers / 3 || i == 2 * layers / 3;
    if (reduction) c_curr *= 2;
    const auto& edges = reduction ? genotype.reduce : genotype.normal;
    const auto& concat = reduction ? genotype.reduce_concat : genotype.normal_concat;
    cells_.push_back(register_module(
        fmt::format("cell{}", i),
        std::make_shared<DartsCellImpl>(edges, concat, c_prev_prev, c_prev, c_curr, reduction, reduction_prev)));
    reduction_prev = reduction;
    c_prev_prev = c_prev;
    c_prev = static_cast<std::int64_t>(concat.size()) * c_curr;
    if (i == 2 * layers / 3) c_aux = c_prev;
  }
  if (auxiliary) {
    aux_after_ = 2 * layers / 3;
    aux_features_ = register_module(
        "auxiliary_features",
        nn::Sequential(nn::Conv2d(nn::Conv2dOptions(c_aux, 128, 1).bias(false)), nn::BatchNorm2d(128), nn::ReLU(),
                       nn::Conv2d(nn::Conv2dOptions(128, 768, 2).bias(false)), nn::BatchNorm2d(768), nn::ReLU()));
    aux_classifier_ = register_module("auxiliary_classifier", nn::Linear(768, num_classes));
  }
  feature_dim_ = c_prev;
  classifier_ = register_module("classifier", nn::Linear(c_prev, num_classes));
}

models::ModelOutput NetworkCIFAR::forward(const torch::Tensor& x) {
  models::ModelOutput out;
  auto s0 = stem_->forward(x);
  auto s1 = s0;
  for (std::size_t i = 0; i < cells_.size(); ++i) {
    auto s2 = cells_[i]->forward(s0, s1, drop_path_prob_, drop_gen_);
    s0 = s1;
    s1 = s2;
    if (static_cast<std::int64_t>(i) == aux_after_ && is_training()) {
      // The original AvgPool(5, stride 3) turns the 8x8 map of 32x32 inputs into 2x2 (the corner 5x5 windows),
      // which Conv2x2 reduces to 1x1 for the Linear(768). Stride H - 5 keeps exactly those windows on 6x6..8x8.
      const std::int64_t h = s1.size(2), w = s1.size(3);
      if (h < 6 || h > 8 || w < 6 || w > 8)
        throw InputError(
            fmt::format("NetworkCIFAR: the auxiliary head needs a 6x6 to 8x8 map after cell {} (e.g. "
                        "32x32 or 28x28 inputs); a {}x{} input gives {}x{}",
                        i, x.size(2), x.size(3), h, w));
      auto a = torch::avg_pool2d(torch::relu(s1), {5, 5}, {h - 5, w - 5}, {0, 0}, false, false);
      out.aux_logits = aux_classifier_(aux_features_->forward(a).flatten(1));
    }
  }
  out.features = torch::adaptive_avg_pool2d(s1, {1, 1}).flatten(1);
  out.logits = classifier_(out.features);
  return out;
}

void NetworkCIFAR::set_training_progress(double fraction) {
  drop_path_prob_ = drop_path_max_ * std::clamp(fraction, 0.0, 1.0);
}

void NetworkCIFAR::seed_randomness(std::uint64_t seed) { drop_gen_ = at::detail::createCPUGenerator(seed); }

std::int64_t NetworkCIFAR::auxiliary_parameters() const {
  if (!aux_features_) return 0;
  return models::count_parameters(*aux_features_) + models::count_parameters(*aux_classifier_);
}

}  // namespace fhist::nas
