// ConfigSpace's JSON (what SMAC3, HpBandSter, DEHB and NNI's users already have) read into a SearchSpace
// (configspace_write.cpp writes it). Every problem names the ConfigSpace field (hyperparameters[2].lower,
// conditions[1].conditions[0].value), and what fhist cannot represent exactly (priors, quantization, relations between
// two parameters) is refused with what to do instead, never approximated.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <set>

#include "core/errors.hpp"
#include "space/space.hpp"
#include "space/space_detail.hpp"

namespace fhist::space {

namespace json = nlohmann;
using detail::clause_problem;
using detail::forbidden_problem;
using detail::has_choices;
using detail::is_integral;

namespace {

using Fail = std::function<InputError(const std::string& field, const std::string& what)>;

bool is_value(const json::json& v) { return v.is_number() || v.is_string(); }

const json::json* find(const json::json& j, const char* key) {
  const auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

// One entry of "hyperparameters".
Param read_hyperparameter(const json::json& h, const std::string& at, const Fail& fail) {
  if (!h.is_object()) throw fail(at, "expected an object with \"name\" and \"type\"");
  const auto* name = find(h, "name");
  if (name == nullptr || !name->is_string() || name->get<std::string>().empty())
    throw fail(at + ".name", "expected a non-empty string");
  const auto* type_j = find(h, "type");
  if (type_j == nullptr || !type_j->is_string())
    throw fail(at + ".type", "expected a string (\"uniform_float\", \"uniform_int\", \"categorical\", ...)");
  const std::string type = type_j->get<std::string>();
  const std::string who = fmt::format("'{}'", name->get<std::string>());
  if (type.rfind("normal_", 0) == 0 || type.rfind("beta_", 0) == 0)
    throw fail(at + ".type",
               fmt::format("{} has a {} prior: fhist draws floats and integers uniformly; make it uniform_{} over its "
                           "lower..upper (ConfigSpace's remove_hyperparameter_priors() does)",
                           who, type.substr(0, type.find('_')), type.substr(type.find('_') + 1)));

  Param p;
  p.name = name->get<std::string>();
  std::set<std::string> allowed = {"name", "type", "default", "default_value", "meta"};
  if (type == "uniform_float" || type == "uniform_int") {
    const bool integer = type == "uniform_int";
    p.kind = integer ? ParamKind::kInteger : ParamKind::kFloat;
    allowed.insert({"lower", "upper", "log", "q"});
    for (const char* key : {"lower", "upper"}) {
      const auto* v = find(h, key);
      if (v == nullptr || !v->is_number())
        throw fail(at + "." + key, v == nullptr ? "missing (expected a number)" : "expected a number");
      if (integer && !is_integral(*v)) throw fail(at + "." + key, "expected an integer");
    }
    p.low = h["lower"].get<double>();
    p.high = h["upper"].get<double>();
    if (const auto* log = find(h, "log")) {
      if (!log->is_boolean()) throw fail(at + ".log", "expected true or false");
      p.log = log->get<bool>();
    }
    if (const auto* q = find(h, "q"); q != nullptr && !q->is_null())
      throw fail(at + ".q", fmt::format("{} is quantized (q = {}): fhist has no quantization (ConfigSpace 1.0 dropped "
                                        "it too); remove q, or list the values as an ordinal",
                                        who, q->dump()));
  } else if (type == "categorical" || type == "ordinal" || type == "constant") {
    p.kind = type == "ordinal" ? ParamKind::kOrdinal : ParamKind::kCategorical;
    const char* key = type == "categorical" ? "choices" : type == "ordinal" ? "sequence" : "value";
    allowed.insert(key);
    const auto* v = find(h, key);
    if (type == "constant") {
      if (v == nullptr || !is_value(*v)) throw fail(at + ".value", "expected a number or a string");
      p.choices.push_back(*v);  // a categorical with one choice: always set, as ConfigSpace's Constant
    } else {
      if (v == nullptr || !v->is_array() || v->empty()) throw fail(at + "." + key, "expected a non-empty list");
      for (std::size_t c = 0; c < v->size(); ++c) {
        if (!is_value((*v)[c]))
          throw fail(fmt::format("{}.{}[{}]", at, key, c),
                     "expected a number or a string (fhist's configurations hold JSON numbers and strings; write "
                     "true / false / null as strings)");
        p.choices.push_back((*v)[c]);
      }
    }
    if (type == "categorical") {
      allowed.insert({"weights", "probabilities"});  // "probabilities" in ConfigSpace 0.4's files
      for (const char* wkey : {"weights", "probabilities"}) {
        const auto* w = find(h, wkey);
        if (w == nullptr || w->is_null()) continue;
        if (!w->is_array() || w->size() != p.choices.size())
          throw fail(at + "." + wkey,
                     fmt::format("expected a list of {} numbers, one per choice, or null", p.choices.size()));
        std::vector<double> weights;
        for (std::size_t c = 0; c < w->size(); ++c) {
          if (!(*w)[c].is_number()) throw fail(fmt::format("{}.{}[{}]", at, wkey, c), "expected a number");
          weights.push_back((*w)[c].get<double>());
        }
        // equal weights are the uniform draw fhist makes without them (and draw the same configurations)
        if (std::any_of(weights.begin(), weights.end(), [&](double x) { return x != weights.front(); }))
          p.weights = std::move(weights);
      }
    }
  } else {
    throw fail(at + ".type", fmt::format("unknown hyperparameter type \"{}\" (expected uniform_float, uniform_int, "
                                         "categorical, ordinal or constant)",
                                         type));
  }
  for (auto it = h.begin(); it != h.end(); ++it)
    if (!allowed.count(it.key()))
      throw fail(at + "." + it.key(), fmt::format("unknown field for a hyperparameter of type \"{}\"", type));
  try {
    p.validate();
  } catch (const InputError& e) {
    throw fail(at, e.what());
  }
  return p;
}

// The "value" (one) or "values" (a list) of an EQ / NEQ / IN condition or an EQUALS / IN forbidden clause at `at`.
std::vector<json::json> values_of(const json::json& v, bool list, const std::string& at, const Fail& fail) {
  if (!list) {
    if (!is_value(v)) throw fail(at + ".value", "expected a number or a string");
    return {v};
  }
  if (!v.is_array() || v.empty()) throw fail(at + ".values", "expected a non-empty list of values");
  std::vector<json::json> out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!is_value(v[i])) throw fail(fmt::format("{}.values[{}]", at, i), "expected a number or a string");
    out.push_back(v[i]);
  }
  return out;
}

// A parameter's condition as read: its clause (a group for AND / OR), the top-level entry it came from, and the
// parents its clauses name.
struct Read {
  Condition clause;
  std::string at;  // conditions[k]
  std::set<std::string> parents;
};

std::string child_of(const json::json& c, const std::string& at, const Fail& fail) {
  const auto* child = find(c, "child");
  if (child == nullptr || !child->is_string() || child->get<std::string>().empty())
    throw fail(at + ".child", "expected the name of the hyperparameter this condition activates");
  return child->get<std::string>();
}

// One condition at `at`, or a conjunction as a group of them (an AND inside an AND is one AND; an AND inside an OR a
// group inside the OR's).
Condition read_condition(const json::json& c, const std::string& at, const std::string& child,
                         const std::map<std::string, const Param*>& by_name, const Fail& fail) {
  if (!c.is_object()) throw fail(at, "expected an object with \"type\" and \"child\"");
  const auto* type_j = find(c, "type");
  if (type_j == nullptr || !type_j->is_string())
    throw fail(at + ".type", "expected one of \"EQ\", \"NEQ\", \"IN\", \"GT\", \"LT\", \"AND\", \"OR\"");
  const std::string type = type_j->get<std::string>();
  if (const auto* ch = find(c, "child"); ch != nullptr && (!ch->is_string() || ch->get<std::string>() != child))
    throw fail(at + ".child", fmt::format("expected \"{}\", the child of the conjunction it is in", child));
  if (type == "AND" || type == "OR") {
    for (auto it = c.begin(); it != c.end(); ++it)
      if (it.key() != "type" && it.key() != "child" && it.key() != "conditions")
        throw fail(at + "." + it.key(), "unknown field for a conjunction (expected type, child, conditions)");
    const auto* parts = find(c, "conditions");
    if (parts == nullptr || !parts->is_array() || parts->empty())
      throw fail(at + ".conditions", "expected a non-empty list of conditions");
    Condition group = type == "AND" ? Condition::all_of({}) : Condition::any_of({});
    for (std::size_t k = 0; k < parts->size(); ++k) {
      Condition part = read_condition((*parts)[k], fmt::format("{}.conditions[{}]", at, k), child, by_name, fail);
      if (part.op == group.op)  // same kind nested: one level
        group.group.insert(group.group.end(), part.group.begin(), part.group.end());
      else
        group.group.push_back(std::move(part));
    }
    return group;
  }
  static const std::set<std::string> kSimple = {"EQ", "NEQ", "IN", "GT", "LT"};
  if (!kSimple.count(type))
    throw fail(at + ".type",
               fmt::format("unknown condition type \"{}\" (expected EQ, NEQ, IN, GT, LT, AND, OR)", type));
  const char* value_key = type == "IN" ? "values" : "value";
  for (auto it = c.begin(); it != c.end(); ++it)
    if (it.key() != "type" && it.key() != "child" && it.key() != "parent" && it.key() != value_key)
      throw fail(
          at + "." + it.key(),
          fmt::format("unknown field for a condition of type \"{}\" (expected child, parent, {})", type, value_key));
  const auto* parent_j = find(c, "parent");
  if (parent_j == nullptr || !parent_j->is_string()) throw fail(at + ".parent", "expected a hyperparameter's name");
  Condition k;
  k.parent = parent_j->get<std::string>();
  const auto parent = by_name.find(k.parent);
  if (parent == by_name.end()) throw fail(at + ".parent", fmt::format("unknown hyperparameter '{}'", k.parent));
  if (k.parent == child) throw fail(at + ".parent", fmt::format("'{}' cannot depend on itself", child));
  const auto* v = find(c, value_key);
  if (v == nullptr) throw fail(at + "." + value_key, "missing");
  const Param& pp = *parent->second;
  if (type == "GT" || type == "LT") {
    if (!is_value(*v)) throw fail(at + ".value", "expected a value of the parent");
    if (pp.kind == ParamKind::kCategorical)
      throw fail(at + ".parent", fmt::format("'{}' is categorical: {} needs an ordered parent (an ordinal, int or "
                                             "float)",
                                             k.parent, type));
    if (pp.kind == ParamKind::kOrdinal) {
      // ConfigSpace orders an ordinal by its sequence: the values before or after this one.
      const auto pos = std::find(pp.choices.begin(), pp.choices.end(), *v);
      if (pos == pp.choices.end())
        throw fail(at + ".value", fmt::format("{} is not in the sequence of '{}'", v->dump(), k.parent));
      if (type == "GT")
        k.values.assign(pos + 1, pp.choices.end());
      else
        k.values.assign(pp.choices.begin(), pos);
      if (k.values.empty())
        throw fail(at + ".value", fmt::format("never holds: {} is the {} of the sequence of '{}'", v->dump(),
                                              type == "GT" ? "last" : "first", k.parent));
    } else {
      if (!v->is_number()) throw fail(at + ".value", "expected a number");
      k.op = type == "GT" ? Condition::Op::kGreater : Condition::Op::kLess;
      k.bound = v->get<double>();
    }
  } else {
    k.values = values_of(*v, type == "IN", at, fail);
    k.op = type == "NEQ" ? Condition::Op::kNotIn : Condition::Op::kIn;
  }
  const auto [sub, what] = clause_problem(k, pp);
  if (!what.empty()) {
    // fhist's subfield (".in[0]", ".greater_than", ".param") as ConfigSpace names it
    std::string field = sub == ".param" ? ".parent" : type == "IN" ? ".values" : ".value";
    if (type == "IN" && sub.find('[') != std::string::npos) field += sub.substr(sub.find('['));
    throw fail(at + field, what);
  }
  return k;
}

// One forbidden clause (EQUALS, IN) or an AND of them, appended to `f`.
void read_forbidden(const json::json& j, const std::string& at, Forbidden& f, std::vector<std::string>& fields,
                    const Fail& fail) {
  if (!j.is_object()) throw fail(at, "expected an object with \"type\"");
  const auto* type_j = find(j, "type");
  if (type_j == nullptr || !type_j->is_string())
    throw fail(at + ".type", "expected one of \"EQUALS\", \"IN\", \"AND\"");
  const std::string type = type_j->get<std::string>();
  if (type.rfind("RELATION", 0) == 0)
    throw fail(at + ".type",
               "a forbidden relation compares two hyperparameters (ForbiddenLessThanRelation, ...): "
               "fhist's forbidden combinations name values only; list the pairs it forbids with AND "
               "of EQUALS / IN clauses");
  if (type == "AND") {
    for (auto it = j.begin(); it != j.end(); ++it)
      if (it.key() != "type" && it.key() != "clauses")
        throw fail(at + "." + it.key(), "unknown field for a forbidden AND (expected type, clauses)");
    const auto* clauses = find(j, "clauses");
    if (clauses == nullptr || !clauses->is_array() || clauses->empty())
      throw fail(at + ".clauses", "expected a non-empty list of EQUALS / IN clauses");
    for (std::size_t k = 0; k < clauses->size(); ++k)
      read_forbidden((*clauses)[k], fmt::format("{}.clauses[{}]", at, k), f, fields, fail);
    return;
  }
  if (type != "EQUALS" && type != "IN")
    throw fail(at + ".type", fmt::format("unknown forbidden type \"{}\" (expected EQUALS, IN, AND)", type));
  const char* value_key = type == "IN" ? "values" : "value";
  for (auto it = j.begin(); it != j.end(); ++it)
    if (it.key() != "type" && it.key() != "name" && it.key() != value_key)
      throw fail(at + "." + it.key(),
                 fmt::format("unknown field for a forbidden {} (expected type, name, {})", type, value_key));
  const auto* name = find(j, "name");
  if (name == nullptr || !name->is_string()) throw fail(at + ".name", "expected a hyperparameter's name");
  const auto* v = find(j, value_key);
  if (v == nullptr) throw fail(at + "." + value_key, "missing");
  Condition k;
  k.parent = name->get<std::string>();
  k.values = values_of(*v, type == "IN", at, fail);
  f.clauses.push_back(std::move(k));
  fields.push_back(at);
}

}  // namespace

bool is_configspace_json(const json::json& j) {
  return j.is_object() && j.contains("hyperparameters") && !j.contains("params");
}

SearchSpace SearchSpace::from_configspace_json(const json::json& j, const std::string& source) {
  const Fail fail = [&](const std::string& field, const std::string& what) {
    return InputError(field.empty() ? fmt::format("{}: {}", source, what)
                                    : fmt::format("{}: {}: {}", source, field, what));
  };
  if (!j.is_object()) throw fail("", "expected a JSON object with \"hyperparameters\"");
  static const std::set<std::string> kTop = {"name",          "hyperparameters",       "conditions",
                                             "forbiddens",    "python_module_version", "json_format_version",
                                             "format_version"};
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!kTop.count(it.key()))
      throw fail(it.key(),
                 "unknown field (ConfigSpace's JSON has name, hyperparameters, conditions, forbiddens, "
                 "python_module_version, json_format_version / format_version)");
  // the file's stem where the space has no name (ConfigSpace's often have none)
  std::string name = std::filesystem::path(source).stem().string();
  if (name.empty()) name = "space";
  if (const auto* n = find(j, "name"); n != nullptr && !n->is_null()) {
    if (!n->is_string()) throw fail("name", "expected a string or null");
    name = n->get<std::string>();
  }
  const auto& hs = j["hyperparameters"];
  if (!hs.is_array() || hs.empty()) throw fail("hyperparameters", "expected a non-empty list");
  std::vector<Param> read;
  std::set<std::string> names;
  for (std::size_t i = 0; i < hs.size(); ++i) {
    const std::string at = fmt::format("hyperparameters[{}]", i);
    Param p = read_hyperparameter(hs[i], at, fail);
    if (!names.insert(p.name).second) throw fail(at + ".name", fmt::format("duplicate hyperparameter '{}'", p.name));
    read.push_back(std::move(p));
  }
  std::map<std::string, const Param*> by_name;
  for (const auto& p : read) by_name.emplace(p.name, &p);

  std::map<std::string, Read> conditions;  // by child
  if (const auto* cs = find(j, "conditions"); cs != nullptr && !cs->is_null()) {
    if (!cs->is_array()) throw fail("conditions", "expected a list");
    for (std::size_t k = 0; k < cs->size(); ++k) {
      const std::string at = fmt::format("conditions[{}]", k);
      if (!(*cs)[k].is_object()) throw fail(at, "expected an object with \"type\" and \"child\"");
      const std::string child = child_of((*cs)[k], at, fail);
      if (!by_name.count(child)) throw fail(at + ".child", fmt::format("unknown hyperparameter '{}'", child));
      if (conditions.count(child))
        throw fail(at + ".child", fmt::format("'{}' already has a condition ({}): join them with AND or OR, as "
                                              "ConfigSpace requires",
                                              child, conditions[child].at));
      Read r{read_condition((*cs)[k], at, child, by_name, fail), at, {}};
      detail::for_each_leaf({r.clause}, [&](const Condition& leaf) { r.parents.insert(leaf.parent); });
      conditions.emplace(child, std::move(r));
    }
  }
  // Parents before children (fhist samples in order): each parameter at the first place where its parents are all
  // placed, so a file already in that order (ConfigSpace writes one) keeps it.
  std::vector<Param> params;
  std::set<std::string> placed;
  auto ready = [&](const Param& p) {
    const auto c = conditions.find(p.name);
    return c == conditions.end() || std::all_of(c->second.parents.begin(), c->second.parents.end(),
                                                [&](const std::string& parent) { return placed.count(parent) > 0; });
  };
  while (params.size() < read.size()) {
    const auto next =
        std::find_if(read.begin(), read.end(), [&](const Param& p) { return !placed.count(p.name) && ready(p); });
    if (next == read.end()) {
      std::string left;
      for (const auto& p : read)
        if (!placed.count(p.name))
          left += fmt::format("{}'{}' ({})", left.empty() ? "" : ", ", p.name, conditions[p.name].at);
      throw fail("conditions", fmt::format("the conditions form a cycle: {} each wait on another", left));
    }
    Param p = *next;
    if (const auto c = conditions.find(p.name); c != conditions.end()) {
      const Condition& top = c->second.clause;  // an AND's or OR's members at the top, as fhist's own files have them
      p.conditions = top.is_group() ? top.group : std::vector<Condition>{top};
      p.any_condition = top.op == Condition::Op::kAny && p.conditions.size() > 1;
    }
    placed.insert(p.name);
    params.push_back(std::move(p));
  }

  std::vector<Forbidden> forbidden;
  if (const auto* fs = find(j, "forbiddens"); fs != nullptr && !fs->is_null()) {
    if (!fs->is_array()) throw fail("forbiddens", "expected a list");
    for (std::size_t k = 0; k < fs->size(); ++k) {
      const std::string at = fmt::format("forbiddens[{}]", k);
      Forbidden f;
      std::vector<std::string> fields;
      read_forbidden((*fs)[k], at, f, fields, fail);
      const auto [where, what] = forbidden_problem(params, f);
      if (!what.empty()) {
        // `where` names the hyperparameter (maybe with [i]): point at the clause that names it
        std::string field = at;
        for (std::size_t c = 0; c < f.clauses.size(); ++c)
          if (where == f.clauses[c].parent || where.rfind(f.clauses[c].parent + "[", 0) == 0) field = fields[c];
        throw fail(field, what);
      }
      forbidden.push_back(std::move(f));
    }
  }
  return SearchSpace(std::move(name), std::move(params), {}, std::move(forbidden));
}

}  // namespace fhist::space
