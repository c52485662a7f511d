// Conditions and forbidden combinations of a search space: what is wrong with a clause (named by its field), whether a
// clause or a group of them holds in a configuration, and how each is said in a message.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <set>

#include "space/space.hpp"
#include "space/space_detail.hpp"

namespace fhist::space::detail {

namespace json = nlohmann;
namespace {

// The field of p's clause k as a space file names it: "condition" (one clause), "condition[k]" (a list, all must
// hold) or "condition.any[k]".
std::string condition_field(const Param& p, std::size_t k) {
  if (p.any_condition) return fmt::format("condition.any[{}]", k);
  return p.conditions.size() == 1 ? "condition" : fmt::format("condition[{}]", k);
}

// The smallest and largest value a parameter with numeric values takes; nullopt for one with a string choice.
std::optional<std::pair<double, double>> numeric_range(const Param& p) {
  if (!has_choices(p.kind)) return std::make_pair(p.low, p.high);
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const auto& v : p.choices) {
    if (!v.is_number()) return std::nullopt;
    lo = std::min(lo, v.get<double>());
    hi = std::max(hi, v.get<double>());
  }
  return std::make_pair(lo, hi);
}

}  // namespace

std::pair<std::string, std::string> clause_problem(const Condition& c, const Param& parent) {
  const bool compare = c.op == Condition::Op::kGreater || c.op == Condition::Op::kLess;
  if (compare) {
    const auto range = numeric_range(parent);
    const char* key = c.op == Condition::Op::kGreater ? ".greater_than" : ".less_than";
    if (!range)
      return {".param", fmt::format("'{}' has a choice that is not a number: {} needs a parent with numeric values",
                                    c.parent, key + 1)};
    if (!std::isfinite(c.bound)) return {key, "expected a finite number"};
    if (c.op == Condition::Op::kGreater ? range->second <= c.bound : range->first >= c.bound)
      return {key,
              fmt::format("never holds: '{}' is at {} {}", c.parent, c.op == Condition::Op::kGreater ? "most" : "least",
                          c.op == Condition::Op::kGreater ? range->second : range->first)};
    return {};
  }
  const char* key = c.op == Condition::Op::kIn ? ".in" : ".not_in";
  if (parent.kind == ParamKind::kFloat)
    return {".param", fmt::format("'{}' is a float: {} needs a parent with choices or integer values (a float takes "
                                  "greater_than or less_than)",
                                  c.parent, key + 1)};
  if (c.values.empty()) return {key, "expected a non-empty list of the parent's values"};
  for (std::size_t k = 0; k < c.values.size(); ++k) {
    if (!parent.contains(c.values[k]))
      return {fmt::format("{}[{}]", key, k), fmt::format("{} is not a value of '{}'", c.values[k].dump(), c.parent)};
  }
  if (c.op == Condition::Op::kNotIn) {
    std::set<std::string> excluded;  // 2 and 2.0 are one value of an integer parameter
    for (const auto& v : c.values) excluded.insert(v.is_number() ? fmt::format("{}", v.get<double>()) : v.dump());
    const double count =
        has_choices(parent.kind) ? static_cast<double>(parent.choices.size()) : parent.high - parent.low + 1;
    if (static_cast<double>(excluded.size()) >= count)
      return {key, fmt::format("never holds: it excludes every value of '{}'", c.parent)};
  }
  return {};
}

namespace {

// What is wrong with clause c of params[i] (a group: with each of its members), its field `field`.
std::pair<std::string, std::string> clause_problem_at(const std::vector<Param>& params, std::size_t i,
                                                      const Condition& c, const std::string& field) {
  if (c.is_group()) {
    const char* key = c.op == Condition::Op::kAll ? ".all" : ".any";
    if (c.group.empty()) return {field + key, "expected a non-empty list of clauses"};
    for (std::size_t k = 0; k < c.group.size(); ++k) {
      auto problem = clause_problem_at(params, i, c.group[k], fmt::format("{}{}[{}]", field, key, k));
      if (!problem.second.empty()) return problem;
    }
    return {};
  }
  const Param& p = params[i];
  std::size_t at = 0;
  while (at < i && params[at].name != c.parent) ++at;
  if (at == i) {
    const bool later = std::any_of(params.begin() + static_cast<std::ptrdiff_t>(i), params.end(),
                                   [&](const Param& q) { return q.name == c.parent; });
    return {field + ".param",
            later ? fmt::format("'{}' must be defined before '{}', which depends on it", c.parent, p.name)
                  : fmt::format("unknown parameter '{}'", c.parent)};
  }
  const auto [sub, what] = clause_problem(c, params[at]);
  if (!what.empty()) return {field + sub, what};
  return {};
}

}  // namespace

std::pair<std::string, std::string> condition_problem(const std::vector<Param>& params, std::size_t i) {
  const Param& p = params[i];
  for (std::size_t n = 0; n < p.conditions.size(); ++n) {
    auto problem = clause_problem_at(params, i, p.conditions[n], condition_field(p, n));
    if (!problem.second.empty()) return problem;
  }
  return {};
}

bool clauses_hold(const std::vector<Condition>& list, bool any, const Config& c) {
  const auto holds = [&](const Condition& m) { return clause_holds(m, c); };
  return any ? std::any_of(list.begin(), list.end(), holds) : std::all_of(list.begin(), list.end(), holds);
}

bool clause_holds(const Condition& k, const Config& c) {
  if (k.is_group()) return clauses_hold(k.group, k.op == Condition::Op::kAny, c);
  if (!c.has(k.parent)) return false;  // the parent is inactive itself
  const auto& v = c.get(k.parent);
  switch (k.op) {
    case Condition::Op::kIn:
      return std::find(k.values.begin(), k.values.end(), v) != k.values.end();
    case Condition::Op::kNotIn:
      return std::find(k.values.begin(), k.values.end(), v) == k.values.end();
    case Condition::Op::kGreater:
      return v.is_number() && v.get<double>() > k.bound;
    case Condition::Op::kLess:
      return v.is_number() && v.get<double>() < k.bound;
    case Condition::Op::kAll:
    case Condition::Op::kAny:
      break;  // above
  }
  return false;
}

namespace {

std::string clauses_text(const std::vector<Condition>& list, bool any);

std::string clause_text(const Condition& k) {
  if (k.is_group()) return "(" + clauses_text(k.group, k.op == Condition::Op::kAny) + ")";
  const std::string values = k.values.size() == 1 ? k.values.front().dump() : "one of " + json::json(k.values).dump();
  switch (k.op) {
    case Condition::Op::kIn:
      return fmt::format("'{}' is {}", k.parent, values);
    case Condition::Op::kNotIn:
      return fmt::format("'{}' is not {}", k.parent, values);
    case Condition::Op::kGreater:
      return fmt::format("'{}' > {}", k.parent, k.bound);
    case Condition::Op::kLess:
      return fmt::format("'{}' < {}", k.parent, k.bound);
    case Condition::Op::kAll:
    case Condition::Op::kAny:
      break;  // above
  }
  return "";
}

std::string clauses_text(const std::vector<Condition>& list, bool any) {
  std::string out;
  for (const auto& k : list) out += (out.empty() ? "" : any ? " or " : " and ") + clause_text(k);
  return out;
}

}  // namespace

std::string condition_text(const Param& p) { return clauses_text(p.conditions, p.any_condition); }

void for_each_leaf(const std::vector<Condition>& list, const std::function<void(const Condition&)>& f) {
  for (const auto& k : list) {
    if (k.is_group())
      for_each_leaf(k.group, f);
    else
      f(k);
  }
}

std::pair<std::string, std::string> forbidden_problem(const std::vector<Param>& params, const Forbidden& f) {
  if (f.clauses.empty()) return {"", "expected at least one parameter and its forbidden value(s)"};
  for (std::size_t i = 0; i < f.clauses.size(); ++i) {
    const Condition& c = f.clauses[i];
    for (std::size_t j = 0; j < i; ++j)
      if (f.clauses[j].parent == c.parent) return {c.parent, "named twice in one combination"};
    const auto at = std::find_if(params.begin(), params.end(), [&](const Param& p) { return p.name == c.parent; });
    if (at == params.end()) return {c.parent, fmt::format("unknown parameter '{}'", c.parent)};
    if (c.op != Condition::Op::kIn) return {c.parent, "a forbidden combination takes equals / in clauses only"};
    if (at->kind == ParamKind::kFloat)
      return {c.parent, fmt::format("'{}' is a float: a forbidden combination needs parameters with choices or "
                                    "integer values",
                                    c.parent)};
    if (c.values.empty()) return {c.parent, "expected a value or a non-empty list of values"};
    for (std::size_t k = 0; k < c.values.size(); ++k)
      if (!at->contains(c.values[k]))
        return {c.values.size() == 1 ? c.parent : fmt::format("{}[{}]", c.parent, k),
                fmt::format("{} is not a value of '{}'", c.values[k].dump(), c.parent)};
  }
  return {};
}

bool takes(const Forbidden& f, const Config& c) {
  return std::all_of(f.clauses.begin(), f.clauses.end(), [&](const Condition& k) { return clause_holds(k, c); });
}

std::string forbidden_text(const Forbidden& f) {
  std::string out;
  for (const auto& k : f.clauses) {
    if (!out.empty()) out += " and ";
    out += k.values.size() == 1 ? fmt::format("{} = {}", k.parent, k.values.front().dump())
                                : fmt::format("{} in {}", k.parent, json::json(k.values).dump());
  }
  return out;
}

}  // namespace fhist::space::detail
