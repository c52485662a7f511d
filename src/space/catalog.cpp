// The catalog of built-in spaces and of the parameters a trial can apply: what a space may name, and the ranges a
// training option accepts, checked before any work.
#include "space/catalog.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>

#include "core/errors.hpp"
#include "core/text.hpp"
#include "space/darts.hpp"
#include "space/nb201.hpp"
#include "space/resnet_scale.hpp"

namespace fhist::space {

namespace fs = std::filesystem;

namespace {

// Configuration keys the objective understands; anything else in a space is refused before any work.
const std::vector<std::string> kKnownParams = {"lr", "weight_decay", "momentum", "batch_size", "width_mult",
                                               "model", "ra_n", "ra_m", "d2", "d3", "d4", "d5",
                                               "w2", "w3", "w4", "w5", "depth", "width", "dropout"};
const std::vector<std::string>& kDepthParams = resnet_scale_depth_params();
const std::vector<std::string>& kWidthParams = resnet_scale_width_params();

bool has_prefix(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// Every name a trial can apply: the training options and the cell parameters of the nb201 and darts spaces. Built
// once (apply_config asks for every trial).
const std::vector<std::string>& known_param_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v = kKnownParams;
    for (const auto& sp : {nb201_space(), darts_space()}) {
      for (const auto& p : sp.params()) v.push_back(p.name);
    }
    return v;
  }();
  return names;
}

}  // namespace

bool is_nb201_param(const std::string& name) { return has_prefix(name, "edge_"); }
bool is_darts_param(const std::string& name) { return has_prefix(name, "normal_") || has_prefix(name, "reduce_"); }

std::string model_of_param(const std::string& name) {
  if (name == "depth" || name == "width" || name == "dropout") return "mlp";
  for (const auto* stage_params : {&kDepthParams, &kWidthParams})
    if (std::find(stage_params->begin(), stage_params->end(), name) != stage_params->end()) return "resnet-scale";
  if (is_nb201_param(name)) return "nb201";
  if (is_darts_param(name)) return "darts";
  return "";
}

bool is_known_param(const std::string& name) {
  const auto& known = known_param_names();
  return std::find(known.begin(), known.end(), name) != known.end();
}

namespace {

// The values a training option can take, for checking a space's ranges before any trial: low < x (or <=) < high.
struct Domain {
  double low;
  bool low_inclusive;
  double high;
  bool high_inclusive;
  const char* text;
};
const Domain* domain_of(const std::string& name) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  static const std::map<std::string, Domain> domains = [] {
    const Domain positive{0, false, kInf, false, "> 0"};
    std::map<std::string, Domain> m = {{"lr", positive},
                                       {"weight_decay", {0, true, kInf, false, ">= 0"}},
                                       {"momentum", {0, true, 1, false, "in [0, 1)"}},
                                       {"batch_size", {1, true, kInf, false, ">= 1"}},
                                       {"width_mult", positive},
                                       {"ra_n", {0, true, kInf, false, ">= 0"}},
                                       {"ra_m", {0, true, 30, true, "in [0, 30]"}},
                                       {"depth", {1, true, 64, true, "in 1..64"}},
                                       {"width", {1, true, 65536, true, "in 1..65536"}},
                                       {"dropout", {0, true, 1, false, "in [0, 1)"}}};
    for (const auto* stage_params : {&kDepthParams, &kWidthParams})
      for (const auto& k : *stage_params) m.emplace(k, positive);
    return m;
  }();
  const auto it = domains.find(name);
  return it == domains.end() ? nullptr : &it->second;
}

bool inside(const Domain& d, double x) {
  return (d.low_inclusive ? x >= d.low : x > d.low) && (d.high_inclusive ? x <= d.high : x < d.high);
}

std::vector<nlohmann::json> models_under(const SearchSpace& s, const Param& p, const Param& model);

// The values of `model` under which a list of clauses can hold: a clause on `model` keeps the values it allows, one on
// another parameter those under which that parameter can be active, a group its own list's; all clauses must hold
// (intersection) or any (union).
std::vector<nlohmann::json> models_of(const SearchSpace& s, const std::vector<Condition>& list, bool any,
                                      const Param& model) {
  // All: start from every model and intersect; any: start from none and unite.
  std::vector<nlohmann::json> out = any ? std::vector<nlohmann::json>{} : model.choices;
  for (const Condition& c : list) {
    std::vector<nlohmann::json> allowed;
    if (c.is_group()) {
      allowed = models_of(s, c.group, c.op == Condition::Op::kAny, model);
    } else if (c.parent == model.name) {
      for (const auto& v : model.choices) {
        const bool listed = std::find(c.values.begin(), c.values.end(), v) != c.values.end();
        if (c.op == Condition::Op::kIn ? listed : c.op == Condition::Op::kNotIn && !listed) allowed.push_back(v);
      }
    } else {
      allowed = models_under(s, s.param(c.parent), model);
    }
    std::vector<nlohmann::json> merged;
    for (const auto& v : model.choices) {
      const bool in_out = std::find(out.begin(), out.end(), v) != out.end();
      const bool in_allowed = std::find(allowed.begin(), allowed.end(), v) != allowed.end();
      if (any ? in_out || in_allowed : in_out && in_allowed) merged.push_back(v);
    }
    out = std::move(merged);
  }
  return out;
}

// The values of `model` under which p can be active.
std::vector<nlohmann::json> models_under(const SearchSpace& s, const Param& p, const Param& model) {
  if (p.conditions.empty()) return model.choices;
  return models_of(s, p.conditions, p.any_condition, model);
}

// A network's own parameter (the mlp's depth) in a space that also searches `model` must be conditional on that
// model: unconditioned it would be drawn for every row, and a `cnn` row carrying depth trains an mlp.
void check_model_condition(const SearchSpace& s, std::size_t i, const std::string& where) {
  const auto& p = s.params()[i];
  const std::string own = model_of_param(p.name);
  const auto& params = s.params();
  const auto model = std::find_if(params.begin(), params.end(), [](const Param& q) { return q.name == "model"; });
  if (own.empty() || model == params.end()) return;
  const auto under = models_under(s, p, *model);
  for (const auto& v : under) {
    if (v == nlohmann::json(own)) continue;
    throw InputError(
        fmt::format("{}: params[{}]: '{}' belongs to the {} model, but it is drawn when model is {} too: "
                    "add \"condition\": {{\"param\": \"model\", \"equals\": \"{}\"}}",
                    where, i, p.name, own, v.dump(), own));
  }
}

}  // namespace

void check_space_params(const SearchSpace& s, const std::string& source) {
  const std::string where = source.empty() ? fmt::format("space '{}'", s.name()) : source;
  for (std::size_t i = 0; i < s.params().size(); ++i) {
    const auto& p = s.params()[i];
    if (!is_known_param(p.name)) {
      throw InputError(fmt::format("{}: params[{}].name: '{}' is not a training option fhist knows (known: {}, and "
                                   "the cell parameters of the nb201 and darts spaces)",
                                   where, i, p.name, fmt::join(kKnownParams, ", ")));
    }
    check_model_condition(s, i, where);
    const Domain* d = domain_of(p.name);
    if (d == nullptr) continue;
    const auto bad = [&](const std::string& field, const std::string& value) {
      return InputError(fmt::format("{}: params[{}].{}: {} must be {} (got {})", where, i, field, p.name, d->text, value));
    };
    if (p.kind == ParamKind::kInteger || p.kind == ParamKind::kFloat) {
      if (!inside(*d, p.low)) throw bad("low", fmt::format("{}", p.low));
      if (!inside(*d, p.high)) throw bad("high", fmt::format("{}", p.high));
      continue;
    }
    for (std::size_t c = 0; c < p.choices.size(); ++c) {
      const auto& v = p.choices[c];
      if (!v.is_number() || !inside(*d, v.get<double>())) throw bad(fmt::format("choices[{}]", c), v.dump());
    }
  }
}

namespace {

// Paper A.6: scale ResNet-18's stages C2..C5 in depth (d_s x 2 blocks) and width (w_s x channels) under a MACs cap
// relative to ResNet-18 (0.56 G on 3x32x32 / 100 classes at width 1). The cap applies to the network that trains:
// the candidate at the study's --width-mult against ResNet-18 at the same width, so "2x" keeps its meaning when
// the search trains narrow stand-ins. The multipliers are ordinal: 1.5 lies between 1 and 2 for BOHB's model.
SearchSpace resnet_scale_space(const std::string& flops_cap, double width_mult) {
  std::vector<Param> params;
  for (const auto& d : kDepthParams) params.push_back(Param::ordinal(d, {1.0, 1.5, 2.0, 2.5, 3.0}));
  for (const auto& w : kWidthParams) params.push_back(Param::ordinal(w, {1.0, 1.25, 1.5, 1.75, 2.0}));
  std::vector<Constraint> constraints;
  if (flops_cap != "none") {
    if (!flops_cap.empty() && flops_cap != "2x" && flops_cap != "4x") {
      throw InputError(fmt::format("--flops-cap '{}': expected 2x (the default: 1.12 G MACs at width 1), 4x (2.24 G) "
                                   "or none",
                                   flops_cap));
    }
    if (!(width_mult > 0)) throw InputError(fmt::format("--width-mult {}: expected a number > 0", width_mult));
    const double ratio = flops_cap == "4x" ? 4.0 : 2.0;
    const double cap = ratio * static_cast<double>(scaled_resnet_macs({}, {}, 3, 32, 32, 100, width_mult));
    constraints.push_back({fmt::format("macs <= {}x ResNet-18 (at width {})", ratio, width_mult),
                           [cap, width_mult](const Config& c) {
                             std::vector<double> d, w;
                             for (const auto& k : kDepthParams) d.push_back(c.get_double(k));
                             for (const auto& k : kWidthParams) w.push_back(c.get_double(k));
                             return static_cast<double>(
                                        scaled_resnet_macs(d, w, 3, 32, 32, 100, width_mult)) <= cap;
                           }});
  }
  return SearchSpace("resnet-scale", std::move(params), std::move(constraints));
}

}  // namespace

std::vector<std::string> space_names() {
  auto names = builtin_space_names();
  for (const char* n : {"nb201", "darts", "resnet-scale"}) names.push_back(n);
  return names;
}

std::vector<std::string> network_names() {
  return {"resnet18", "resnet34", "resnet50", "resnet-scale", "vgg16", "mobilenetv2", "cnn", "mlp", "nb201", "darts"};
}

bool is_builtin_space(const std::string& spec) {
  const auto names = space_names();
  return std::find(names.begin(), names.end(), spec) != names.end();
}

SearchSpace load_space(const std::string& spec, const std::string& flops_cap, double width_mult) {
  if (spec == "nb201") return nb201_space();
  if (spec == "darts") return darts_space();
  if (spec == "resnet-scale") return resnet_scale_space(flops_cap, width_mult);
  const auto names = builtin_space_names();
  if (std::find(names.begin(), names.end(), spec) != names.end()) return builtin_space(spec);
  if (fs::exists(spec)) return SearchSpace::from_file(spec);
  throw InputError(fmt::format("--space '{}': neither a built-in space ({}) nor an existing JSON file", spec,
                               fmt::join(space_names(), ", ")));
}

void check_config_keys(const Config& cfg) {
  // Names other tools use for the same options: the suggestion a typo search would miss.
  const std::map<std::string, std::string> synonyms = {
      {"learning_rate", "lr"}, {"wd", "weight_decay"}, {"bs", "batch_size"}, {"layers", "depth"}};
  for (const auto& [key, value] : cfg.values()) {
    if (is_known_param(key)) continue;
    const auto syn = synonyms.find(key);
    const auto hint = syn != synonyms.end() ? fmt::format(" (did you mean '{}'?)", syn->second)
                                            : did_you_mean(key, known_param_names());
    throw InputError(fmt::format("configuration key '{}' is not an option fhist knows{}; known: {}, and the cell "
                                 "parameters of the nb201 (edge_*) and darts (normal_*, reduce_*) spaces",
                                 key, hint, fmt::join(kKnownParams, ", ")));
  }
}

}  // namespace fhist::space
