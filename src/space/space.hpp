#pragma once
// The search-space language (no Torch): parameters, constraints, configurations.
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace fhist::space {

using Rng = std::mt19937_64;

// One configuration: parameter name -> value (number or string). A value type; JSON round-trips exactly.
class Config {
 public:
  Config() = default;
  explicit Config(std::map<std::string, nlohmann::json> values) : values_(std::move(values)) {}

  bool has(const std::string& name) const { return values_.count(name) > 0; }
  // Throws InputError naming the parameter if it is missing or not of the requested type.
  double get_double(const std::string& name) const;
  std::int64_t get_int(const std::string& name) const;
  std::string get_string(const std::string& name) const;
  const nlohmann::json& get(const std::string& name) const;
  void set(const std::string& name, nlohmann::json value) { values_[name] = std::move(value); }
  const std::map<std::string, nlohmann::json>& values() const { return values_; }

  nlohmann::json to_json() const;                       // {"lr": 0.01, "width_mult": 0.25, ...}
  static Config from_json(const nlohmann::json& j);     // throws InputError unless j is an object
  std::string to_string() const;                        // compact JSON, keys sorted

  bool operator==(const Config& o) const { return values_ == o.values_; }
  bool operator!=(const Config& o) const { return !(*this == o); }

 private:
  std::map<std::string, nlohmann::json> values_;
};

// kOrdinal: a list of choices whose order means something (e.g. depth multipliers 1, 1.5, 2): sampled like a
// categorical, but encoded on [0, 1] like an integer, so models (BOHB's KDE) see neighbours as close.
enum class ParamKind { kCategorical, kInteger, kFloat, kOrdinal };

// One clause of a parameter's condition (ConfigSpace's EqualsCondition / InCondition, NotEqualsCondition,
// GreaterThanCondition, LessThanCondition): it holds when `parent` is active and its value is one of `values` (kIn),
// none of them (kNotIn), or above / below `bound` (kGreater / kLess, for a parent with numeric values). A clause on an
// inactive parent does not hold. kAll / kAny is a group of clauses (no parent) that must all / may any hold: an AND
// inside an OR and the reverse, as ConfigSpace's nested conjunctions. An inactive parameter is absent from a
// configuration, so neither the trainer nor a user's script sees a value that does nothing (`depth` only when `model`
// is "mlp").
struct Condition {
  enum class Op { kIn, kNotIn, kGreater, kLess, kAll, kAny };
  std::string parent;
  std::vector<nlohmann::json> values;  // kIn / kNotIn
  Op op = Op::kIn;
  double bound = 0.0;            // kGreater / kLess
  std::vector<Condition> group;  // kAll / kAny

  bool is_group() const { return op == Op::kAll || op == Op::kAny; }
  static Condition all_of(std::vector<Condition> clauses) { return {"", {}, Op::kAll, 0.0, std::move(clauses)}; }
  static Condition any_of(std::vector<Condition> clauses) { return {"", {}, Op::kAny, 0.0, std::move(clauses)}; }
};

struct Param {
  std::string name;
  ParamKind kind = ParamKind::kFloat;
  std::vector<nlohmann::json> choices;  // categorical / ordinal: the values (numbers or strings), in order
  double low = 0.0;                     // integer / float: inclusive bounds
  double high = 1.0;
  bool log = false;                     // integer / float: sample uniformly in log space (low > 0)
  // Active when every clause holds (ConfigSpace's AndConjunction), or any of them with `any_condition` (its
  // OrConjunction); no clause: always active.
  std::vector<Condition> conditions;
  bool any_condition = false;
  // categorical: how often each choice is drawn, relative to the others (ConfigSpace's weights); empty: uniformly.
  // Random draws follow them (random search, the samples HyperBand and top-K start from, BOHB's random fraction,
  // DEHB's first population, a table's rows); BOHB's and DEHB's models do not.
  std::vector<double> weights;

  static Param categorical(std::string name, std::vector<nlohmann::json> choices);
  static Param ordinal(std::string name, std::vector<nlohmann::json> choices);
  static Param integer(std::string name, std::int64_t low, std::int64_t high, bool log = false);
  static Param real(std::string name, double low, double high, bool log = false);

  // Throws InputError naming the parameter if the definition is inconsistent.
  void validate() const;
  nlohmann::json sample(Rng& rng) const;
  // Position of a value in [0, 1] (log-scaled where `log`), and back; categorical: index / (n - 1) is NOT used —
  // categorical parameters encode as their index (see SearchSpace::encode), so for them to_unit returns the index
  // and from_unit rounds and clamps one. Integers map [low - 0.5, high + 0.5] onto [0, 1], so every value gets an
  // equal share of the unit interval; so do ordinals, by index: choice i of n covers [i/n, (i+1)/n].
  double to_unit(const nlohmann::json& v) const;
  nlohmann::json from_unit(double u) const;
  // Whether `v` is a legal value of this parameter.
  bool contains(const nlohmann::json& v) const;
};

// A combination no configuration may take (ConfigSpace's ForbiddenAndConjunction of equals / in clauses; e.g.
// `penalty` "l1" with `loss` "hinge"): a configuration is forbidden when every clause's parameter (Condition::parent)
// is set to one of its values. Data, unlike a Constraint: a space file defines it and the journal stores it.
struct Forbidden {
  std::vector<Condition> clauses;
};

// A predicate a sampled configuration must satisfy (e.g. a FLOPs cap). `message` says what was violated.
struct Constraint {
  std::string name;
  std::function<bool(const Config&)> satisfied;
};

class SearchSpace {
 public:
  SearchSpace() = default;
  SearchSpace(std::string name, std::vector<Param> params, std::vector<Constraint> constraints = {},
              std::vector<Forbidden> forbidden = {});

  const std::string& name() const { return name_; }
  const std::vector<Param>& params() const { return params_; }
  const Param& param(const std::string& name) const;  // throws InputError for an unknown name
  std::size_t dims() const { return params_.size(); }
  const std::vector<Constraint>& constraints() const { return constraints_; }
  const std::vector<Forbidden>& forbidden() const { return forbidden_; }

  // Whether `p` (one of params()) applies to `c`: unconditional, or its condition holds on the parents set in `c`.
  // Parents come before their children in params(), so a configuration built in that order can be asked as it grows.
  bool active(const Param& p, const Config& c) const;

  // Uniform sample of every active parameter; re-draws until every constraint holds and no forbidden combination is
  // taken (throws Error after `max_tries` rejections, naming the constraint or combination that rejected most).
  Config sample(Rng& rng, int max_tries = 10000) const;
  // Throws InputError naming the field: unknown/missing parameter, a value for an inactive one, value out of range,
  // violated constraint, a forbidden combination.
  void validate(const Config& c) const;
  // Every constraint holds and no forbidden combination is taken.
  bool satisfies_constraints(const Config& c) const;

  // Numeric encoding for model-based samplers: one entry per parameter, floats/integers in [0, 1] (log-scaled
  // where the parameter is), categoricals as their choice index (0..n-1), NaN for an inactive parameter (each
  // sampler imputes what its model needs).
  std::vector<double> encode(const Config& c) const;
  // The inverse; integers rounded, indices clamped, inactive parameters left out (whatever their entries hold).
  Config decode(const std::vector<double>& v) const;

  nlohmann::json to_json() const;  // the definition (constraints by name only)
  // Reads the JSON space format (README): {"name": "...", "params": [{"name": "lr", "type": "float", "low": 1e-3,
  // "high": 0.5, "log": true}, {"name": "bs", "type": "categorical", "choices": [64, 128]}, {"name": "depth",
  // "type": "int", "low": 1, "high": 4, "condition": {"param": "model", "in": ["mlp"]}}]} (a clause takes one of
  // "equals", "in", "not_equals", "not_in", "greater_than", "less_than"; a list of clauses must all hold, {"any":
  // [...]} needs one; {"all": [...]} and {"any": [...]} nest as clauses), and "forbidden": [{"model": "mlp",
  // "batch_size": [16, 32]}] (a value, or a list: any of them).
  // Throws InputError naming the file/field on bad input.
  static SearchSpace from_json(const nlohmann::json& j, const std::string& source = "space");
  // Reads ConfigSpace's JSON (ConfigurationSpace.to_json, or read_and_write.json.write of older versions):
  // uniform_float / uniform_int / categorical / ordinal / constant, the EQ, NEQ, IN, GT, LT conditions with AND and
  // OR nested to any depth, EQUALS / IN forbiddens with AND, and a categorical's weights. Parents are put before their
  // children. Refused, naming the field and what to write instead: normal and beta priors, q, forbidden relations.
  // Defaults and meta are ignored (fhist has no default configuration).
  static SearchSpace from_configspace_json(const nlohmann::json& j, const std::string& source = "space");
  // This space as ConfigSpace's JSON (format_version 0.4, what ConfigSpace 1.x reads with
  // ConfigurationSpace.from_json); a clause ConfigSpace has no condition for is written as the IN of the parent's
  // values for which it holds. Throws InputError for what has no exact form (constraints in code; a comparison bound
  // outside the parent's range).
  nlohmann::json to_configspace_json() const;
  // The default configuration written there (ConfigSpace refuses a forbidden one): each parameter's first choice or
  // the middle of its range, or a seeded draw where that is forbidden.
  Config configspace_defaults() const;
  // Either format, told apart by its fields ("params" or "hyperparameters").
  static SearchSpace from_file(const std::string& path);
  // One line per parameter (name, type, range or choices, when it applies) and per forbidden combination.
  std::vector<std::string> describe() const;

 private:
  std::string name_;
  std::vector<Param> params_;
  std::vector<Constraint> constraints_;
  std::vector<Forbidden> forbidden_;
};

// Whether `j` is ConfigSpace's JSON (it has "hyperparameters" and no "params").
bool is_configspace_json(const nlohmann::json& j);

// JSON a user hands fhist (a space file, --config, run.json, a replay file), parsed with a nesting limit: printing or
// walking a value nested 100,000 deep recurses until the stack overflows. Throws InputError naming `what` for text
// that is not JSON or is nested deeper than 64 levels.
nlohmann::json parse_user_json(const std::string& text, const std::string& what);
constexpr int kMaxJsonDepth = 64;

// Built-in spaces by name ("hparams", ...); throws InputError listing the known names.
SearchSpace builtin_space(const std::string& name);
std::vector<std::string> builtin_space_names();

}  // namespace fhist::space
