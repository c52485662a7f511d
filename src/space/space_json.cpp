// Reading and writing search-space files (JSON): every problem is reported with the file and the field.
#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "core/errors.hpp"
#include "space/space.hpp"
#include "space/space_detail.hpp"

namespace fhist::space {

namespace json = nlohmann;
using detail::condition_problem;
using detail::forbidden_problem;
using detail::has_choices;
using detail::is_integral;
using detail::kind_name;

namespace {

json::json clause_json(const Condition& c) {
  if (c.is_group()) {
    json::json members = json::json::array();
    for (const auto& m : c.group) members.push_back(clause_json(m));
    return {{c.op == Condition::Op::kAll ? "all" : "any", std::move(members)}};
  }
  json::json j = {{"param", c.parent}};
  switch (c.op) {
    case Condition::Op::kIn:
      j["in"] = c.values;
      break;
    case Condition::Op::kNotIn:
      j["not_in"] = c.values;
      break;
    case Condition::Op::kGreater:
      j["greater_than"] = c.bound;
      break;
    case Condition::Op::kLess:
      j["less_than"] = c.bound;
      break;
    case Condition::Op::kAll:
    case Condition::Op::kAny:
      break;  // above
  }
  return j;
}

// One clause as an object, several as a list (all must hold), or {"any": [...]}: the forms from_json reads.
json::json condition_json(const Param& p) {
  if (p.conditions.size() == 1 && !p.any_condition) return clause_json(p.conditions.front());
  json::json list = json::json::array();
  for (const auto& c : p.conditions) list.push_back(clause_json(c));
  return p.any_condition ? json::json{{"any", std::move(list)}} : list;
}

}  // namespace

json::json SearchSpace::to_json() const {
  json::json ps = json::json::array();
  for (const auto& p : params_) {
    json::json j = {{"name", p.name}, {"type", kind_name(p.kind)}};
    if (has_choices(p.kind)) {
      j["choices"] = p.choices;
      if (!p.weights.empty()) j["weights"] = p.weights;
    } else {
      j["low"] = detail::bound_json(p, p.low);
      j["high"] = detail::bound_json(p, p.high);
      j["log"] = p.log;
    }
    if (!p.conditions.empty()) j["condition"] = condition_json(p);
    ps.push_back(std::move(j));
  }
  json::json out = {{"name", name_}, {"params", std::move(ps)}};
  if (!forbidden_.empty()) {
    json::json fs = json::json::array();
    for (const auto& f : forbidden_) {
      json::json one = json::json::object();
      for (const auto& k : f.clauses) one[k.parent] = k.values.size() == 1 ? k.values.front() : json::json(k.values);
      fs.push_back(std::move(one));
    }
    out["forbidden"] = std::move(fs);
  }
  // Constraints are code, not data: only their names are written, and from_json refuses them.
  if (!constraints_.empty()) {
    json::json names = json::json::array();
    for (const auto& c : constraints_) names.push_back(c.name);
    out["constraints"] = std::move(names);
  }
  return out;
}

namespace {

// One clause: {"param": "model", "equals": "mlp"}, or "in": [VALUES], "not_equals", "not_in", "greater_than": NUMBER,
// "less_than"; or a group of them, {"all": [...]} or {"any": [...]}; `fail(subfield, what)` makes the error.
using ClauseFail = std::function<InputError(const std::string& field, const std::string& what)>;

Condition read_clause(const json::json& j, const ClauseFail& fail) {
  static const char* const kOps[] = {"equals", "in", "not_equals", "not_in", "greater_than", "less_than"};
  if (!j.is_object())
    throw fail("",
               "expected an object: {\"param\": NAME, \"equals\": VALUE} (or \"in\", \"not_equals\", \"not_in\", "
               "\"greater_than\", \"less_than\"), a list of them (all must hold) or {\"any\": [...]}");
  if (j.contains("all") || j.contains("any")) {
    const std::string key = j.contains("all") ? "all" : "any";
    if (j.size() != 1) throw fail("", fmt::format("an object with \"{}\" takes nothing else (a list of clauses)", key));
    const auto& list = j[key];
    if (!list.is_array() || list.empty()) throw fail("." + key, "expected a non-empty list of clauses");
    std::vector<Condition> members;
    for (std::size_t k = 0; k < list.size(); ++k) {
      members.push_back(read_clause(list[k], [&](const std::string& f, const std::string& w) {
        return fail(fmt::format(".{}[{}]{}", key, k, f), w);
      }));
    }
    return key == "all" ? Condition::all_of(std::move(members)) : Condition::any_of(std::move(members));
  }
  std::string op;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "param") continue;
    if (std::find(std::begin(kOps), std::end(kOps), it.key()) == std::end(kOps))
      throw fail("." + it.key(),
                 "unknown field (expected param, and one of equals, in, not_equals, not_in, "
                 "greater_than, less_than; or all / any with a list of clauses)");
    if (!op.empty())
      throw fail("", fmt::format("expected exactly one of equals, in, not_equals, not_in, greater_than, less_than "
                                 "(got {} and {}; a list of clauses makes them all hold)",
                                 op, it.key()));
    op = it.key();
  }
  if (!j.contains("param") || !j["param"].is_string() || j["param"].get<std::string>().empty())
    throw fail(".param", "expected the name of the parameter this one depends on");
  if (op.empty()) throw fail("", "expected one of equals, in, not_equals, not_in, greater_than, less_than");
  Condition c;
  c.parent = j["param"].get<std::string>();
  const auto& v = j[op];
  if (op == "greater_than" || op == "less_than") {
    c.op = op == "greater_than" ? Condition::Op::kGreater : Condition::Op::kLess;
    if (!v.is_number()) throw fail("." + op, "expected a number");
    c.bound = v.get<double>();
    return c;
  }
  c.op = op == "equals" || op == "in" ? Condition::Op::kIn : Condition::Op::kNotIn;
  if (op == "equals" || op == "not_equals") {
    if (!v.is_number() && !v.is_string()) throw fail("." + op, "expected a number or a string");
    c.values.push_back(v);
    return c;
  }
  if (!v.is_array() || v.empty()) throw fail("." + op, "expected a non-empty list of the parent's values");
  for (const auto& one : v) c.values.push_back(one);
  return c;
}

// A parameter's "condition": one clause, a list of clauses that must all hold, or {"any": [clauses]}.
template <class Fail>
void read_condition(const json::json& j, Param& p, const Fail& fail) {
  const bool any = j.is_object() && j.contains("any");
  if (any && j.size() != 1) throw fail("", "an object with \"any\" takes nothing else (a list of clauses)");
  if (!j.is_array() && !any) {
    p.conditions.push_back(read_clause(j, fail));
    return;
  }
  const auto& list = any ? j["any"] : j;
  const std::string at = any ? ".any" : "";
  if (!list.is_array() || list.empty()) throw fail(at, "expected a non-empty list of clauses");
  p.any_condition = any;
  for (std::size_t k = 0; k < list.size(); ++k) {
    p.conditions.push_back(read_clause(list[k], [&](const std::string& f, const std::string& w) {
      return fail(fmt::format("{}[{}]{}", at, k, f), w);
    }));
  }
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
    if (it.key() != "name" && it.key() != "params" && it.key() != "forbidden")
      throw fail(it.key(), "unknown field (expected name, params, forbidden)");
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
      if (p.kind == ParamKind::kCategorical) allowed.insert("weights");
      if (pj.contains("weights") && p.kind == ParamKind::kCategorical) {
        const auto& w = pj["weights"];
        if (!w.is_array() || w.size() != p.choices.size())
          throw fail(field("weights"), fmt::format("expected a list of {} numbers, one per choice", p.choices.size()));
        for (std::size_t c = 0; c < w.size(); ++c) {
          if (!w[c].is_number() || w[c].get<double>() < 0)
            throw fail(fmt::format("{}.weights[{}]", at, c), "expected a number >= 0");
          p.weights.push_back(w[c].get<double>());
        }
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
      read_condition(pj["condition"], p,
                     [&](const std::string& f, const std::string& w) { return fail(at + ".condition" + f, w); });
    params.push_back(std::move(p));
  }
  for (std::size_t i = 0; i < params.size(); ++i) {  // once all are read: a parent named later is said to be so
    const auto [where, what] = condition_problem(params, i);
    if (!what.empty()) throw fail(fmt::format("params[{}].{}", i, where), what);
  }
  std::vector<Forbidden> forbidden;
  if (j.contains("forbidden")) {
    const auto& fs = j["forbidden"];
    if (!fs.is_array())
      throw fail("forbidden", "expected a list of combinations, e.g. [{\"model\": \"mlp\", \"batch_size\": [16, 32]}]");
    for (std::size_t i = 0; i < fs.size(); ++i) {
      const std::string at = fmt::format("forbidden[{}]", i);
      if (!fs[i].is_object() || fs[i].empty())
        throw fail(at, "expected an object of parameter names and their forbidden value (or list of values)");
      Forbidden f;
      for (auto it = fs[i].begin(); it != fs[i].end(); ++it) {
        Condition k{it.key(), {}};
        const auto& v = it.value();
        for (const auto& one : v.is_array() ? v : json::json::array({v})) {
          if (!one.is_number() && !one.is_string())
            throw fail(at + "." + it.key(), "expected a number, a string or a list of them");
          k.values.push_back(one);
        }
        f.clauses.push_back(std::move(k));
      }
      const auto [where, what] = forbidden_problem(params, f);
      if (!what.empty()) throw fail(where.empty() ? at : at + "." + where, what);
      forbidden.push_back(std::move(f));
    }
  }
  return SearchSpace(std::move(name), std::move(params), {}, std::move(forbidden));
}

std::vector<std::string> SearchSpace::describe() const {
  std::size_t width = 0;
  for (const auto& p : params_) width = std::max(width, p.name.size());
  std::vector<std::string> lines;
  for (const auto& p : params_) {
    std::string values;
    if (has_choices(p.kind)) {
      for (std::size_t c = 0; c < p.choices.size(); ++c) {
        values += (values.empty() ? "" : ", ") + p.choices[c].dump();
        if (!p.weights.empty()) values += fmt::format(" (weight {})", p.weights[c]);
      }
    } else {
      values = fmt::format("{} .. {}{}", p.low, p.high, p.log ? ", log" : "");
    }
    std::string line = fmt::format("  {:<{}}  {:<11}  {}", p.name, width, kind_name(p.kind), values);
    if (!p.conditions.empty()) line += "  (when " + detail::condition_text(p) + ")";
    lines.push_back(std::move(line));
  }
  for (const auto& f : forbidden_) lines.push_back("  forbidden: " + detail::forbidden_text(f));
  for (const auto& c : constraints_) lines.push_back("  constraint: " + c.name);
  return lines;
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
  const auto j = parse_user_json(ss.str(), path);
  return is_configspace_json(j) ? from_configspace_json(j, path) : from_json(j, path);
}

}  // namespace fhist::space
