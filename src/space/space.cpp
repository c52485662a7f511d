#include "space/space.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "core/errors.hpp"

namespace fhist::space {

namespace json = nlohmann;

namespace {

// A number whose value is a whole number (JSON files may write 64 or 64.0 for an integer parameter).
bool is_integral(const json::json& v) {
  if (v.is_number_integer()) return true;
  if (!v.is_number_float()) return false;
  const double d = v.get<double>();
  return std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e18;
}

const char* kind_name(ParamKind k) {
  switch (k) {
    case ParamKind::kCategorical: return "categorical";
    case ParamKind::kInteger: return "int";
    case ParamKind::kFloat: return "float";
    case ParamKind::kOrdinal: return "ordinal";
  }
  return "?";
}

bool has_choices(ParamKind k) { return k == ParamKind::kCategorical || k == ParamKind::kOrdinal; }

// Integers live on [low - 0.5, high + 0.5] in unit space so that rounding gives every integer the same width
// (as ConfigSpace does); log integers need low >= 1, so low - 0.5 stays positive.
double lo_edge(const Param& p) { return p.kind == ParamKind::kInteger ? p.low - 0.5 : p.low; }
double hi_edge(const Param& p) { return p.kind == ParamKind::kInteger ? p.high + 0.5 : p.high; }

// What is wrong with params[i]'s condition, as (field under the parameter, message); empty when nothing is. Parents
// must come first, so sampling in order sees a parent's value before its children and no cycle can form.
std::pair<std::string, std::string> condition_problem(const std::vector<Param>& params, std::size_t i) {
  const Param& p = params[i];
  if (!p.condition) return {};
  const Condition& c = *p.condition;
  std::size_t at = 0;
  while (at < i && params[at].name != c.parent) ++at;
  if (at == i) {
    const bool later = std::any_of(params.begin() + static_cast<std::ptrdiff_t>(i), params.end(),
                                   [&](const Param& q) { return q.name == c.parent; });
    return {"condition.param",
            later ? fmt::format("'{}' must be defined before '{}', which depends on it", c.parent, p.name)
                  : fmt::format("unknown parameter '{}'", c.parent)};
  }
  const Param& parent = params[at];
  if (parent.kind == ParamKind::kFloat)
    return {"condition.param",
            fmt::format("'{}' is a float: a condition needs a parent with choices or integer values", c.parent)};
  if (c.values.empty()) return {"condition.in", "expected a non-empty list of the parent's values"};
  for (std::size_t k = 0; k < c.values.size(); ++k) {
    if (!parent.contains(c.values[k]))
      return {fmt::format("condition.in[{}]", k),
              fmt::format("{} is not a value of '{}'", c.values[k].dump(), c.parent)};
  }
  return {};
}

std::string values_text(const Condition& c) {
  return c.values.size() == 1 ? c.values.front().dump() : "one of " + json::json(c.values).dump();
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// Config

const json::json& Config::get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) throw InputError(fmt::format("config: parameter '{}' is missing", name));
  return it->second;
}

double Config::get_double(const std::string& name) const {
  const auto& v = get(name);
  if (!v.is_number()) throw InputError(fmt::format("config: parameter '{}': expected a number, got {}", name, v.dump()));
  return v.get<double>();
}

std::int64_t Config::get_int(const std::string& name) const {
  const auto& v = get(name);
  if (!is_integral(v))
    throw InputError(fmt::format("config: parameter '{}': expected an integer, got {}", name, v.dump()));
  return v.is_number_integer() ? v.get<std::int64_t>() : static_cast<std::int64_t>(v.get<double>());
}

std::string Config::get_string(const std::string& name) const {
  const auto& v = get(name);
  if (!v.is_string()) throw InputError(fmt::format("config: parameter '{}': expected a string, got {}", name, v.dump()));
  return v.get<std::string>();
}

json::json Config::to_json() const {
  json::json j = json::json::object();
  for (const auto& [k, v] : values_) j[k] = v;
  return j;
}

Config Config::from_json(const json::json& j) {
  if (!j.is_object()) throw InputError(fmt::format("config: expected a JSON object, got {}", j.dump()));
  std::map<std::string, json::json> values;
  for (auto it = j.begin(); it != j.end(); ++it) values.emplace(it.key(), it.value());
  return Config(std::move(values));
}

// nlohmann's object is a std::map, so dump() already sorts keys; doubles print in shortest round-trip form.
std::string Config::to_string() const { return to_json().dump(); }

// ---------------------------------------------------------------------------------------------------------------
// Param

Param Param::categorical(std::string name, std::vector<json::json> choices) {
  Param p;
  p.name = std::move(name);
  p.kind = ParamKind::kCategorical;
  p.choices = std::move(choices);
  p.validate();
  return p;
}

Param Param::ordinal(std::string name, std::vector<json::json> choices) {
  Param p = categorical(std::move(name), std::move(choices));
  p.kind = ParamKind::kOrdinal;
  return p;
}

Param Param::integer(std::string name, std::int64_t low, std::int64_t high, bool log) {
  Param p;
  p.name = std::move(name);
  p.kind = ParamKind::kInteger;
  p.low = static_cast<double>(low);
  p.high = static_cast<double>(high);
  p.log = log;
  p.validate();
  return p;
}

Param Param::real(std::string name, double low, double high, bool log) {
  Param p;
  p.name = std::move(name);
  p.kind = ParamKind::kFloat;
  p.low = low;
  p.high = high;
  p.log = log;
  p.validate();
  return p;
}

void Param::validate() const {
  if (name.empty()) throw InputError("parameter: name must not be empty");
  const std::string where = fmt::format("parameter '{}'", name);
  if (has_choices(kind)) {
    if (choices.empty()) throw InputError(where + ": choices must not be empty");
    for (std::size_t i = 0; i < choices.size(); ++i) {
      if (!choices[i].is_number() && !choices[i].is_string())
        throw InputError(fmt::format("{}: choices[{}]: expected a number or a string, got {}", where, i,
                                     choices[i].dump()));
      for (std::size_t k = 0; k < i; ++k)
        if (choices[k] == choices[i])
          throw InputError(fmt::format("{}: choices[{}]: duplicate choice {}", where, i, choices[i].dump()));
    }
    return;
  }
  if (!std::isfinite(low) || !std::isfinite(high))
    throw InputError(fmt::format("{}: low and high must be finite (got {} and {})", where, low, high));
  if (kind == ParamKind::kInteger ? low > high : low >= high)
    throw InputError(fmt::format("{}: expected low {} high (got low {} and high {})", where,
                                 kind == ParamKind::kInteger ? "<=" : "<", low, high));
  if (kind == ParamKind::kInteger && (low != std::floor(low) || high != std::floor(high)))
    throw InputError(fmt::format("{}: integer bounds must be whole numbers (got {} and {})", where, low, high));
  if (log && low <= 0) throw InputError(fmt::format("{}: log scale needs low > 0 (got {})", where, low));
}

json::json Param::sample(Rng& rng) const {
  if (has_choices(kind)) {
    std::uniform_int_distribution<std::size_t> pick(0, choices.size() - 1);
    return choices[pick(rng)];
  }
  if (kind == ParamKind::kInteger && !log) {
    std::uniform_int_distribution<std::int64_t> pick(static_cast<std::int64_t>(low), static_cast<std::int64_t>(high));
    return pick(rng);
  }
  // Float (linear or log) and log integers: uniform in unit space, mapped back; from_unit rounds and clamps.
  return from_unit(std::uniform_real_distribution<double>(0.0, 1.0)(rng));
}

double Param::to_unit(const json::json& v) const {
  if (kind == ParamKind::kCategorical) {
    // Categoricals are unordered: their "unit" coordinate is the choice index (see SearchSpace::encode).
    auto it = std::find(choices.begin(), choices.end(), v);
    if (it == choices.end())
      throw InputError(fmt::format("parameter '{}': {} is not one of the choices", name, v.dump()));
    return static_cast<double>(it - choices.begin());
  }
  if (kind == ParamKind::kOrdinal) {
    auto it = std::find(choices.begin(), choices.end(), v);
    if (it == choices.end())
      throw InputError(fmt::format("parameter '{}': {} is not one of the choices", name, v.dump()));
    return (static_cast<double>(it - choices.begin()) + 0.5) / static_cast<double>(choices.size());
  }
  if (!v.is_number()) throw InputError(fmt::format("parameter '{}': expected a number, got {}", name, v.dump()));
  const double x = v.get<double>(), a = lo_edge(*this), b = hi_edge(*this);
  if (log) return (std::log(x) - std::log(a)) / (std::log(b) - std::log(a));
  return (x - a) / (b - a);
}

json::json Param::from_unit(double u) const {
  if (kind == ParamKind::kCategorical) {
    const double idx = std::clamp(std::isfinite(u) ? std::round(u) : 0.0, 0.0, static_cast<double>(choices.size() - 1));
    return choices[static_cast<std::size_t>(idx)];
  }
  u = std::clamp(std::isfinite(u) ? u : 0.0, 0.0, 1.0);
  if (kind == ParamKind::kOrdinal) {
    const auto n = static_cast<double>(choices.size());
    return choices[static_cast<std::size_t>(std::clamp(std::floor(u * n), 0.0, n - 1))];
  }
  const double a = lo_edge(*this), b = hi_edge(*this);
  double x = log ? std::exp(std::log(a) + u * (std::log(b) - std::log(a))) : a + u * (b - a);
  if (kind == ParamKind::kInteger) return static_cast<std::int64_t>(std::clamp(std::round(x), low, high));
  return std::clamp(x, low, high);  // exp/log rounding can step just outside the bounds
}

bool Param::contains(const json::json& v) const {
  switch (kind) {
    case ParamKind::kCategorical:
    case ParamKind::kOrdinal: return std::find(choices.begin(), choices.end(), v) != choices.end();
    case ParamKind::kInteger: return is_integral(v) && v.get<double>() >= low && v.get<double>() <= high;
    case ParamKind::kFloat: {
      if (!v.is_number()) return false;
      const double x = v.get<double>();
      return std::isfinite(x) && x >= low && x <= high;
    }
  }
  return false;
}

// ---------------------------------------------------------------------------------------------------------------
// SearchSpace

SearchSpace::SearchSpace(std::string name, std::vector<Param> params, std::vector<Constraint> constraints)
    : name_(std::move(name)), params_(std::move(params)), constraints_(std::move(constraints)) {
  std::set<std::string> seen;
  for (const auto& p : params_) {
    p.validate();
    if (!seen.insert(p.name).second)
      throw InputError(fmt::format("space '{}': duplicate parameter '{}'", name_, p.name));
  }
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const auto [field, what] = condition_problem(params_, i);
    if (!what.empty())
      throw InputError(fmt::format("space '{}': parameter '{}': {}: {}", name_, params_[i].name, field, what));
  }
  for (const auto& c : constraints_)
    if (!c.satisfied) throw InputError(fmt::format("space '{}': constraint '{}' has no predicate", name_, c.name));
}

const Param& SearchSpace::param(const std::string& name) const {
  for (const auto& p : params_)
    if (p.name == name) return p;
  throw InputError(fmt::format("space '{}': unknown parameter '{}'", name_, name));
}

bool SearchSpace::active(const Param& p, const Config& c) const {
  if (!p.condition) return true;
  if (!c.has(p.condition->parent)) return false;  // the parent is inactive itself
  const auto& v = c.get(p.condition->parent);
  return std::find(p.condition->values.begin(), p.condition->values.end(), v) != p.condition->values.end();
}

Config SearchSpace::sample(Rng& rng, int max_tries) const {
  std::vector<int> rejections(constraints_.size(), 0);
  for (int t = 0; t < std::max(max_tries, 1); ++t) {
    Config c;
    for (const auto& p : params_)
      if (active(p, c)) c.set(p.name, p.sample(rng));
    bool ok = true;
    for (std::size_t i = 0; i < constraints_.size() && ok; ++i)
      if (!constraints_[i].satisfied(c)) {
        ++rejections[i];
        ok = false;
      }
    if (ok) return c;
  }
  const auto worst = std::max_element(rejections.begin(), rejections.end()) - rejections.begin();
  throw Error(fmt::format("space '{}': no configuration satisfied the constraints in {} tries; constraint '{}' "
                          "rejected {} of them",
                          name_, max_tries, constraints_[worst].name, rejections[worst]));
}

void SearchSpace::validate(const Config& c) const {
  for (const auto& kv : c.values()) {
    const std::string& k = kv.first;  // not a structured binding: clang 14 can't capture those in a lambda
    const bool known = std::any_of(params_.begin(), params_.end(), [&](const Param& p) { return p.name == k; });
    if (!known) throw InputError(fmt::format("config: unknown parameter '{}' for space '{}'", k, name_));
  }
  for (const auto& p : params_) {
    if (!active(p, c)) {
      if (!c.has(p.name)) continue;
      const std::string parent = p.condition->parent;
      throw InputError(fmt::format("config: parameter '{}' is set, but it applies only when '{}' is {} ({})", p.name,
                                   parent, values_text(*p.condition),
                                   c.has(parent) ? fmt::format("'{}' is {}", parent, c.get(parent).dump())
                                                 : fmt::format("'{}' is not set", parent)));
    }
    if (!c.has(p.name)) throw InputError(fmt::format("config: parameter '{}' is missing", p.name));
    const auto& v = c.get(p.name);
    if (p.contains(v)) continue;
    if (has_choices(p.kind))
      throw InputError(fmt::format("config: parameter '{}': {} is not one of {}", p.name, v.dump(),
                                   json::json(p.choices).dump()));
    throw InputError(fmt::format("config: parameter '{}': {} is not {} in [{}, {}]", p.name, v.dump(),
                                 p.kind == ParamKind::kInteger ? "an integer" : "a number", p.low, p.high));
  }
  for (const auto& k : constraints_)
    if (!k.satisfied(c)) throw InputError(fmt::format("config {} violates constraint '{}'", c.to_string(), k.name));
}

bool SearchSpace::satisfies_constraints(const Config& c) const {
  return std::all_of(constraints_.begin(), constraints_.end(), [&](const Constraint& k) { return k.satisfied(c); });
}

std::vector<double> SearchSpace::encode(const Config& c) const {
  std::vector<double> v;
  v.reserve(params_.size());
  for (const auto& p : params_) {
    if (!active(p, c)) {
      v.push_back(std::numeric_limits<double>::quiet_NaN());
      continue;
    }
    const auto& x = c.get(p.name);
    if (!p.contains(x)) throw InputError(fmt::format("config: parameter '{}': {} is out of range", p.name, x.dump()));
    v.push_back(p.to_unit(x));
  }
  return v;
}

Config SearchSpace::decode(const std::vector<double>& v) const {
  if (v.size() != params_.size())
    throw InputError(fmt::format("space '{}': expected a vector of {} values, got {}", name_, params_.size(), v.size()));
  Config c;
  for (std::size_t i = 0; i < params_.size(); ++i)
    if (active(params_[i], c)) c.set(params_[i].name, params_[i].from_unit(v[i]));
  return c;
}

json::json SearchSpace::to_json() const {
  json::json ps = json::json::array();
  for (const auto& p : params_) {
    json::json j = {{"name", p.name}, {"type", kind_name(p.kind)}};
    if (has_choices(p.kind)) {
      j["choices"] = p.choices;
    } else {
      if (p.kind == ParamKind::kInteger) {
        j["low"] = static_cast<std::int64_t>(p.low);
        j["high"] = static_cast<std::int64_t>(p.high);
      } else {
        j["low"] = p.low;
        j["high"] = p.high;
      }
      j["log"] = p.log;
    }
    if (p.condition) j["condition"] = {{"param", p.condition->parent}, {"in", p.condition->values}};
    ps.push_back(std::move(j));
  }
  json::json out = {{"name", name_}, {"params", std::move(ps)}};
  // Constraints are code, not data: only their names are written, and from_json refuses them.
  if (!constraints_.empty()) {
    json::json names = json::json::array();
    for (const auto& c : constraints_) names.push_back(c.name);
    out["constraints"] = std::move(names);
  }
  return out;
}

namespace {

// {"param": "model", "in": ["mlp"]} or {"param": "model", "equals": "mlp"}; `fail(subfield, what)` makes the error.
template <class Fail>
Condition read_condition(const json::json& j, const Fail& fail) {
  if (!j.is_object())
    throw fail("", "expected an object: {\"param\": NAME, \"in\": [VALUES]} or {\"param\": NAME, \"equals\": VALUE}");
  for (auto it = j.begin(); it != j.end(); ++it)
    if (it.key() != "param" && it.key() != "in" && it.key() != "equals")
      throw fail("." + it.key(), "unknown field (expected param, and in or equals)");
  if (!j.contains("param") || !j["param"].is_string() || j["param"].get<std::string>().empty())
    throw fail(".param", "expected the name of the parameter this one depends on");
  if (j.contains("in") == j.contains("equals"))
    throw fail("", "expected exactly one of \"in\" (a list) and \"equals\" (a value)");
  Condition c;
  c.parent = j["param"].get<std::string>();
  if (j.contains("equals")) {
    if (!j["equals"].is_number() && !j["equals"].is_string()) throw fail(".equals", "expected a number or a string");
    c.values.push_back(j["equals"]);
    return c;
  }
  if (!j["in"].is_array() || j["in"].empty()) throw fail(".in", "expected a non-empty list of the parent's values");
  for (const auto& v : j["in"]) c.values.push_back(v);
  return c;
}

}  // namespace

SearchSpace SearchSpace::from_json(const json::json& j, const std::string& source) {
  auto fail = [&](const std::string& field, const std::string& what) -> InputError {
    return InputError(field.empty() ? fmt::format("{}: {}", source, what) : fmt::format("{}: {}: {}", source, field, what));
  };
  if (!j.is_object()) throw fail("", "expected a JSON object with \"name\" and \"params\"");
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "constraints")
      throw fail("constraints", "constraints cannot be defined in a space file (they are built into named spaces)");
    if (it.key() != "name" && it.key() != "params") throw fail(it.key(), "unknown field (expected name, params)");
  }
  std::string name = "space";
  if (j.contains("name")) {
    if (!j["name"].is_string()) throw fail("name", "expected a string");
    name = j["name"].get<std::string>();
  }
  if (!j.contains("params")) throw fail("params", "missing (expected a list of parameters)");
  const auto& ps = j["params"];
  if (!ps.is_array() || ps.empty()) throw fail("params", "expected a non-empty list of parameters");

  std::vector<Param> params;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < ps.size(); ++i) {
    const std::string at = fmt::format("params[{}]", i);
    const auto& pj = ps[i];
    if (!pj.is_object()) throw fail(at, "expected an object");
    auto field = [&](const char* key) { return at + "." + key; };
    if (!pj.contains("name") || !pj["name"].is_string() || pj["name"].get<std::string>().empty())
      throw fail(field("name"), "expected a non-empty string");
    if (!pj.contains("type") || !pj["type"].is_string())
      throw fail(field("type"), "expected one of \"float\", \"int\", \"categorical\", \"ordinal\"");
    Param p;
    p.name = pj["name"].get<std::string>();
    const std::string type = pj["type"].get<std::string>();
    std::set<std::string> allowed;
    if (type == "categorical" || type == "ordinal") {
      p.kind = type == "ordinal" ? ParamKind::kOrdinal : ParamKind::kCategorical;
      allowed = {"name", "type", "choices", "condition"};
      if (!pj.contains("choices") || !pj["choices"].is_array() || pj["choices"].empty())
        throw fail(field("choices"), "expected a non-empty list");
      for (std::size_t c = 0; c < pj["choices"].size(); ++c) {
        const auto& v = pj["choices"][c];
        if (!v.is_number() && !v.is_string())
          throw fail(fmt::format("{}.choices[{}]", at, c), "expected a number or a string");
        p.choices.push_back(v);
      }
    } else if (type == "float" || type == "int") {
      p.kind = type == "int" ? ParamKind::kInteger : ParamKind::kFloat;
      allowed = {"name", "type", "low", "high", "log", "condition"};
      for (const char* key : {"low", "high"}) {
        if (!pj.contains(key) || !pj[key].is_number())
          throw fail(field(key), pj.contains(key) ? "expected a number" : "missing (expected a number)");
        if (p.kind == ParamKind::kInteger && !is_integral(pj[key])) throw fail(field(key), "expected an integer");
      }
      p.low = pj["low"].get<double>();
      p.high = pj["high"].get<double>();
      if (pj.contains("log")) {
        if (!pj["log"].is_boolean()) throw fail(field("log"), "expected true or false");
        p.log = pj["log"].get<bool>();
      }
      if (p.log && p.low <= 0) throw fail(field("low"), "log scale needs low > 0");
      if (p.kind == ParamKind::kInteger ? p.low > p.high : p.low >= p.high)
        throw fail(field("high"), p.kind == ParamKind::kInteger ? "must be >= low" : "must be > low");
    } else {
      throw fail(field("type"),
                 fmt::format("expected one of \"float\", \"int\", \"categorical\", \"ordinal\", got \"{}\"", type));
    }
    for (auto it = pj.begin(); it != pj.end(); ++it)
      if (!allowed.count(it.key()))
        throw fail(field(it.key().c_str()), fmt::format("unknown field for a parameter of type \"{}\"", type));
    if (!seen.insert(p.name).second) throw fail(field("name"), fmt::format("duplicate parameter '{}'", p.name));
    try {
      p.validate();  // what is left (e.g. duplicate choices), reported with the field
    } catch (const InputError& e) {
      throw fail(at, e.what());
    }
    if (pj.contains("condition"))
      p.condition = read_condition(
          pj["condition"], [&](const std::string& f, const std::string& w) { return fail(at + ".condition" + f, w); });
    params.push_back(std::move(p));
  }
  for (std::size_t i = 0; i < params.size(); ++i) {  // once all are read: a parent named later is said to be so
    const auto [where, what] = condition_problem(params, i);
    if (!what.empty()) throw fail(fmt::format("params[{}].{}", i, where), what);
  }
  return SearchSpace(std::move(name), std::move(params));
}

json::json parse_user_json(const std::string& text, const std::string& what) {
  // The parser itself keeps its own stack; the callback sees every value's depth and stops before anything recurses.
  const json::json::parser_callback_t limit = [&what](int depth, json::json::parse_event_t, json::json&) {
    if (depth >= kMaxJsonDepth) {  // depth counts from 0: the 65th level of nesting is depth 64
      throw InputError(fmt::format("{}: JSON nested deeper than {} levels (fhist's files and configurations need a "
                                   "few)",
                                   what, kMaxJsonDepth));
    }
    return true;
  };
  try {
    return json::json::parse(text, limit);
  } catch (const json::json::parse_error& e) {
    throw InputError(fmt::format("{}: not valid JSON: {}", what, e.what()));
  }
}

SearchSpace SearchSpace::from_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError(fmt::format("{}: cannot open the search-space file", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return from_json(parse_user_json(ss.str(), path), path);
}

// ---------------------------------------------------------------------------------------------------------------
// Built-in spaces

SearchSpace builtin_space(const std::string& name) {
  if (name == "hparams") {
    return SearchSpace("hparams", {
                                      Param::real("lr", 1e-3, 0.5, /*log=*/true),
                                      Param::real("weight_decay", 1e-5, 1e-2, /*log=*/true),
                                      Param::categorical("width_mult", {0.125, 0.25, 0.5}),
                                      Param::categorical("batch_size", {64, 128, 256}),
                                  });
  }
  if (name == "randaugment") {
    // RandAugment's two hyperparameters (Cubuk et al.): ops per image and the global magnitude bin.
    return SearchSpace("randaugment", {Param::integer("ra_n", 1, 3), Param::integer("ra_m", 0, 30)});
  }
  if (name == "mlp-hparams") {
    // The mlp model on a table of numbers: its shape and regularisation with the optimiser's two main settings.
    // Small batches: a table of a few hundred rows gives a 256-batch two steps an epoch.
    return SearchSpace("mlp-hparams", {
                                          Param::real("lr", 1e-3, 0.3, /*log=*/true),
                                          Param::real("weight_decay", 1e-6, 1e-2, /*log=*/true),
                                          Param::integer("depth", 1, 4),
                                          Param::categorical("width", {32, 64, 128, 256}),
                                          Param::real("dropout", 0.0, 0.5),
                                          Param::categorical("batch_size", {16, 32, 64}),
                                      });
  }
  std::string known;
  for (const auto& n : builtin_space_names()) known += (known.empty() ? "" : ", ") + n;
  throw InputError(fmt::format("unknown search space '{}' (known: {})", name, known));
}

std::vector<std::string> builtin_space_names() { return {"hparams", "randaugment", "mlp-hparams"}; }

}  // namespace fhist::space
