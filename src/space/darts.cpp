#include "space/darts.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>  // fmt::join (moved here in fmt 11, the fmt that PyTorch 2.5+ wheels ship)

#include <algorithm>
#include <cctype>
#include <optional>
#include <random>
#include <set>

#include "core/errors.hpp"

namespace fhist::space {

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

}  // namespace

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

Genotype sample_genotype(Rng& rng) {
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

SearchSpace darts_space() {
  std::vector<Param> params;
  std::vector<Constraint> constraints;
  const std::vector<nlohmann::json> ops(darts_ops().begin() + 1, darts_ops().end());
  for (int c = 0; c < 2; ++c) {
    for (int node = 2; node < 2 + kSteps; ++node) {
      std::vector<nlohmann::json> inputs;
      for (int i = 0; i < node; ++i) inputs.emplace_back(i);
      for (int s = 0; s < 2; ++s) {
        params.push_back(Param::categorical(param_name(c, node, "in", s), inputs));
        params.push_back(Param::categorical(param_name(c, node, "op", s), ops));
      }
      const std::string a = param_name(c, node, "in", 0), b = param_name(c, node, "in", 1);
      constraints.push_back({fmt::format("{}_{}_inputs_differ", kCells[c], node),
                             [a, b](const Config& cfg) { return cfg.get(a) != cfg.get(b); }});
    }
  }
  return SearchSpace("darts", std::move(params), std::move(constraints));
}

Genotype darts_genotype_from_config(const Config& config) {
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

Config darts_config(const Genotype& g) {
  validate_genotype(g);
  Config config;
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

}  // namespace fhist::space
