#pragma once
// Helpers shared by space.cpp (parameters, spaces), conditions.cpp (conditions and forbidden combinations),
// space_json.cpp and configspace*.cpp (reading and writing space files). Internal to fhist::space: not installed, not
// included outside src/space.
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "space/space.hpp"

namespace fhist::space::detail {

// A number whose value is a whole number (JSON files may write 64 or 64.0 for an integer parameter).
bool is_integral(const nlohmann::json& v);
const char* kind_name(ParamKind k);
bool has_choices(ParamKind k);
// A bound of p as a file writes it: a whole number for an integer parameter, else the number.
nlohmann::json bound_json(const Param& p, double v);
// What is wrong with one clause whose parent is `parent`, as (subfield as a space file names it: ".in[1]",
// ".greater_than", ".param"; message); empty when nothing is.
std::pair<std::string, std::string> clause_problem(const Condition& c, const Param& parent);
// What is wrong with params[i]'s condition, as (field under the parameter, message); empty when nothing is. Parents
// must come first, so sampling in order sees a parent's value before its children and no cycle can form.
std::pair<std::string, std::string> condition_problem(const std::vector<Param>& params, std::size_t i);
// What is wrong with a forbidden combination, as (the field under it: a parameter's name, maybe with [k], or empty;
// message); empty when nothing is. Its parameters must exist and have choices or integer values (a float is never
// equal to a given value), and each value must be one the parameter can take.
std::pair<std::string, std::string> forbidden_problem(const std::vector<Param>& params, const Forbidden& f);
// Whether `c` takes the combination: every clause's parameter set to one of its values (each clause holds).
bool takes(const Forbidden& f, const Config& c);
// Whether clause k holds in `c` (false when its parent is not set; a group: all / any of its members).
bool clause_holds(const Condition& k, const Config& c);
// Whether all of `list` (any of it, with `any`) holds in `c`: a parameter's clauses, or a group's.
bool clauses_hold(const std::vector<Condition>& list, bool any, const Config& c);
// f for every clause of `list` that is not a group, through the groups.
void for_each_leaf(const std::vector<Condition>& list, const std::function<void(const Condition&)>& f);
// `'model' is "mlp" and 'lr' < 0.1`, as an error message says when p applies.
std::string condition_text(const Param& p);
// `model = "mlp" and batch_size in [16,32]`
std::string forbidden_text(const Forbidden& f);

}  // namespace fhist::space::detail
