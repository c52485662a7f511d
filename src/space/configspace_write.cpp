// ConfigSpace's JSON written from a SearchSpace (`fhist space --configspace`): what ConfigSpace 1.x's
// ConfigurationSpace.from_json reads, every clause with its meaning kept (configspace.cpp reads it back).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/errors.hpp"
#include "space/space.hpp"
#include "space/space_detail.hpp"

namespace fhist::space {

namespace json = nlohmann;
using detail::has_choices;

namespace {

// One clause as ConfigSpace's condition on `child`; a clause ConfigSpace cannot say as it is becomes an IN of the
// parent's values for which it holds (a not_in of several values; a comparison on an ordinal, which ConfigSpace orders
// by position). Throws InputError for what has no exact form.
json::json leaf_configspace(const Condition& k, const Param& parent, const std::string& child) {
  json::json j = {{"child", child}, {"parent", k.parent}};
  auto in = [&](std::vector<json::json> values) {
    if (values.size() == 1) {
      j["type"] = "EQ";
      j["value"] = values.front();
    } else {
      j["type"] = "IN";
      j["values"] = std::move(values);
    }
    return j;
  };
  // The parent's values for which the clause holds, where it has a finite set of them (choices or a small int range).
  auto holding = [&]() {
    std::vector<json::json> all = parent.choices;
    if (!has_choices(parent.kind)) {
      if (parent.high - parent.low > 10000)
        throw InputError(
            fmt::format("'{}' depends on '{}' in a way ConfigSpace has no condition for (its range is "
                        "too wide to list the values for which it holds)",
                        child, k.parent));
      for (auto v = static_cast<std::int64_t>(parent.low); v <= static_cast<std::int64_t>(parent.high); ++v)
        all.emplace_back(v);
    }
    std::vector<json::json> out;
    for (const auto& v : all) {
      const bool listed = std::any_of(k.values.begin(), k.values.end(), [&](const json::json& x) {
        return x == v || (x.is_number() && v.is_number() && x.get<double>() == v.get<double>());
      });
      bool holds = listed;
      if (k.op == Condition::Op::kNotIn) holds = !listed;
      if (k.op == Condition::Op::kGreater) holds = v.is_number() && v.get<double>() > k.bound;
      if (k.op == Condition::Op::kLess) holds = v.is_number() && v.get<double>() < k.bound;
      if (holds) out.push_back(v);
    }
    return out;
  };
  switch (k.op) {
    case Condition::Op::kIn:
      return in(k.values);
    case Condition::Op::kNotIn:
      if (k.values.size() == 1) {
        j["type"] = "NEQ";
        j["value"] = k.values.front();
        return j;
      }
      return in(holding());
    case Condition::Op::kGreater:
    case Condition::Op::kLess: {
      if (has_choices(parent.kind)) return in(holding());
      const bool greater = k.op == Condition::Op::kGreater;
      // ConfigSpace takes a value of the parent: an integer parent's bound moves to the integer with the same effect
      double b = k.bound;
      if (parent.kind == ParamKind::kInteger) b = greater ? std::floor(b) : std::ceil(b);
      if (b < parent.low || b > parent.high)
        throw InputError(
            fmt::format("'{}' applies when '{}' {} {}, a bound outside its range {}..{}: ConfigSpace "
                        "takes a value of the parent",
                        child, k.parent, greater ? ">" : "<", k.bound, parent.low, parent.high));
      j["type"] = greater ? "GT" : "LT";
      j["value"] = detail::bound_json(parent, b);
      return j;
    }
    case Condition::Op::kAll:
    case Condition::Op::kAny:
      break;  // clauses_configspace
  }
  return j;
}

// A list of clauses (all or any of them) as one ConfigSpace condition: a clause alone, or an AND / OR of them (a
// group nested as a conjunction inside).
json::json clauses_configspace(const SearchSpace& s, const std::vector<Condition>& list, bool any,
                               const std::string& child) {
  json::json parts = json::json::array();
  for (const auto& k : list)
    parts.push_back(k.is_group() ? clauses_configspace(s, k.group, k.op == Condition::Op::kAny, child)
                                 : leaf_configspace(k, s.param(k.parent), child));
  if (parts.size() == 1) return std::move(parts.front());
  return {{"type", any ? "OR" : "AND"}, {"child", child}, {"conditions", std::move(parts)}};
}

json::json natural_default(const Param& p) {
  if (has_choices(p.kind)) return p.choices.front();
  const double mid = p.log ? std::exp((std::log(p.low) + std::log(p.high)) / 2) : (p.low + p.high) / 2;
  if (p.kind == ParamKind::kInteger) return static_cast<std::int64_t>(std::llround(mid));
  return mid;
}

}  // namespace

// ConfigSpace refuses a space whose default configuration is forbidden: the first choice / middle of the range of
// every parameter, or where that is forbidden, a seeded draw (fhist itself has no defaults).
Config SearchSpace::configspace_defaults() const {
  Config natural;
  for (const auto& p : params_)
    if (active(p, natural)) natural.set(p.name, natural_default(p));
  if (satisfies_constraints(natural)) return natural;
  Rng rng(0);
  return sample(rng);
}

namespace {

json::json default_value(const Param& p, const Config& defaults) {
  return defaults.has(p.name) ? defaults.get(p.name) : natural_default(p);
}

}  // namespace

json::json SearchSpace::to_configspace_json() const {
  if (!constraints_.empty())
    throw InputError(fmt::format("space '{}' has constraints written in code ({}): ConfigSpace's JSON cannot hold them",
                                 name_, constraints_.front().name));
  const Config defaults = configspace_defaults();
  json::json hps = json::json::array();
  json::json conds = json::json::array();
  for (const auto& p : params_) {
    json::json h = {{"type", ""}, {"name", p.name}};
    switch (p.kind) {
      case ParamKind::kFloat:
      case ParamKind::kInteger:
        h["type"] = p.kind == ParamKind::kFloat ? "uniform_float" : "uniform_int";
        h["lower"] = detail::bound_json(p, p.low);
        h["upper"] = detail::bound_json(p, p.high);
        h["default_value"] = default_value(p, defaults);
        h["log"] = p.log;
        break;
      case ParamKind::kCategorical:
        h["type"] = "categorical";
        h["choices"] = p.choices;
        h["weights"] = p.weights.empty() ? json::json(nullptr) : json::json(p.weights);
        h["default_value"] = default_value(p, defaults);
        break;
      case ParamKind::kOrdinal:
        h["type"] = "ordinal";
        h["sequence"] = p.choices;
        h["default_value"] = default_value(p, defaults);
        break;
    }
    h["meta"] = nullptr;
    hps.push_back(std::move(h));
    if (p.conditions.empty()) continue;
    conds.push_back(clauses_configspace(*this, p.conditions, p.any_condition, p.name));
  }
  json::json forbs = json::json::array();
  for (const auto& f : forbidden_) {
    json::json clauses = json::json::array();
    for (const auto& k : f.clauses) {
      if (k.values.size() == 1)
        clauses.push_back({{"type", "EQUALS"}, {"name", k.parent}, {"value", k.values.front()}});
      else
        clauses.push_back({{"type", "IN"}, {"name", k.parent}, {"values", k.values}});
    }
    forbs.push_back(clauses.size() == 1 ? std::move(clauses.front())
                                        : json::json{{"type", "AND"}, {"clauses", std::move(clauses)}});
  }
  return {{"name", name_},
          {"hyperparameters", std::move(hps)},
          {"conditions", std::move(conds)},
          {"forbiddens", std::move(forbs)},
          {"format_version", 0.4}};
}

}  // namespace fhist::space
