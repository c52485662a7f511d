#include "space/space.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "core/errors.hpp"
#include "space/space_detail.hpp"

namespace fhist::space {

namespace json = nlohmann;

namespace detail {

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

json::json bound_json(const Param& p, double v) {
  return p.kind == ParamKind::kInteger ? json::json(static_cast<std::int64_t>(v)) : json::json(v);
}

}  // namespace detail

using detail::clauses_hold;
using detail::condition_problem;
using detail::condition_text;
using detail::for_each_leaf;
using detail::forbidden_problem;
using detail::forbidden_text;
using detail::has_choices;
using detail::is_integral;
using detail::kind_name;
using detail::takes;

namespace {

// Integers live on [low - 0.5, high + 0.5] in unit space so that rounding gives every integer the same width
// (as ConfigSpace does); log integers need low >= 1, so low - 0.5 stays positive.
double lo_edge(const Param& p) { return p.kind == ParamKind::kInteger ? p.low - 0.5 : p.low; }
double hi_edge(const Param& p) { return p.kind == ParamKind::kInteger ? p.high + 0.5 : p.high; }

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
    if (!weights.empty()) {
      if (kind != ParamKind::kCategorical)
        throw InputError(where + ": weights apply to a categorical parameter (an ordinal's order is its own)");
      if (weights.size() != choices.size())
        throw InputError(
            fmt::format("{}: weights: expected one per choice ({}), got {}", where, choices.size(), weights.size()));
      double sum = 0;
      for (std::size_t i = 0; i < weights.size(); ++i) {
        if (!std::isfinite(weights[i]) || weights[i] < 0)
          throw InputError(fmt::format("{}: weights[{}]: expected a number >= 0, got {}", where, i, weights[i]));
        sum += weights[i];
      }
      if (sum <= 0) throw InputError(where + ": weights: at least one must be above 0");
    }
    return;
  }
  if (!weights.empty()) throw InputError(where + ": weights apply to a categorical parameter");
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
  if (!weights.empty()) return choices[std::discrete_distribution<std::size_t>(weights.begin(), weights.end())(rng)];
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

SearchSpace::SearchSpace(std::string name, std::vector<Param> params, std::vector<Constraint> constraints,
                         std::vector<Forbidden> forbidden)
    : name_(std::move(name)),
      params_(std::move(params)),
      constraints_(std::move(constraints)),
      forbidden_(std::move(forbidden)) {
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
  for (std::size_t i = 0; i < forbidden_.size(); ++i) {
    const auto [field, what] = forbidden_problem(params_, forbidden_[i]);
    if (!what.empty())
      throw InputError(
          fmt::format("space '{}': forbidden[{}]{}: {}", name_, i, field.empty() ? "" : "." + field, what));
  }
}

const Param& SearchSpace::param(const std::string& name) const {
  for (const auto& p : params_)
    if (p.name == name) return p;
  throw InputError(fmt::format("space '{}': unknown parameter '{}'", name_, name));
}

bool SearchSpace::active(const Param& p, const Config& c) const {
  return p.conditions.empty() || clauses_hold(p.conditions, p.any_condition, c);
}

Config SearchSpace::sample(Rng& rng, int max_tries) const {
  // Rejections per constraint, then per forbidden combination.
  std::vector<int> rejections(constraints_.size() + forbidden_.size(), 0);
  for (int t = 0; t < std::max(max_tries, 1); ++t) {
    Config c;
    for (const auto& p : params_)
      if (active(p, c)) c.set(p.name, p.sample(rng));
    std::size_t broken = 0;
    while (broken < constraints_.size() && constraints_[broken].satisfied(c)) ++broken;
    if (broken == constraints_.size())
      while (broken < rejections.size() && !takes(forbidden_[broken - constraints_.size()], c)) ++broken;
    if (broken == rejections.size()) return c;
    ++rejections[broken];
  }
  const auto worst =
      static_cast<std::size_t>(std::max_element(rejections.begin(), rejections.end()) - rejections.begin());
  const std::string what = worst < constraints_.size()
                               ? fmt::format("constraint '{}'", constraints_[worst].name)
                               : fmt::format("forbidden[{}] ({})", worst - constraints_.size(),
                                             forbidden_text(forbidden_[worst - constraints_.size()]));
  throw Error(fmt::format("space '{}': no configuration satisfied the constraints in {} tries; {} rejected {} of them",
                          name_, max_tries, what, rejections[worst]));
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
      std::vector<std::string> parents;  // each parent's value, once, in the clauses' order
      for_each_leaf(p.conditions, [&](const Condition& k) {
        const std::string now = c.has(k.parent) ? fmt::format("'{}' is {}", k.parent, c.get(k.parent).dump())
                                                : fmt::format("'{}' is not set", k.parent);
        if (std::find(parents.begin(), parents.end(), now) == parents.end()) parents.push_back(now);
      });
      throw InputError(fmt::format("config: parameter '{}' is set, but it applies only when {} ({})", p.name,
                                   condition_text(p), fmt::join(parents, ", ")));
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
  for (std::size_t i = 0; i < forbidden_.size(); ++i)
    if (takes(forbidden_[i], c))
      throw InputError(fmt::format("config {} takes a forbidden combination: forbidden[{}] ({})", c.to_string(), i,
                                   forbidden_text(forbidden_[i])));
}

bool SearchSpace::satisfies_constraints(const Config& c) const {
  return std::all_of(constraints_.begin(), constraints_.end(), [&](const Constraint& k) { return k.satisfied(c); }) &&
         std::none_of(forbidden_.begin(), forbidden_.end(), [&](const Forbidden& f) { return takes(f, c); });
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
