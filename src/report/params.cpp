// The report's views of a search that varies hyperparameters, as Optuna's dashboard users know them: parallel
// coordinates (each trial's configuration against its validation accuracy) and a per-parameter importance.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>

#include "report/html.hpp"
#include "space/space.hpp"

namespace fhist::report {

namespace {

using nlohmann::json;

std::string value_text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) return fmt::format("{:.3g}", v.get<double>());
  return v.dump();
}

// The index of `v` among a categorical's choices, -1 when it is none of them.
int choice_index(const space::Param& p, const json& v) {
  for (std::size_t i = 0; i < p.choices.size(); ++i) {
    if (p.choices[i] == v) return static_cast<int>(i);
  }
  return -1;
}

bool is_choice(const space::Param& p) {
  return p.kind == space::ParamKind::kCategorical || p.kind == space::ParamKind::kOrdinal;
}

// Where a value sits on its axis, 0 (bottom) to 1: numbers by the parameter's own scale (log where it is), choices
// evenly in their declared order.
double axis_position(const space::Param& p, const json& v) {
  if (is_choice(p)) {
    const int i = choice_index(p, v);
    if (i < 0) return NAN;
    return p.choices.size() < 2 ? 0.5 : static_cast<double>(i) / static_cast<double>(p.choices.size() - 1);
  }
  if (!v.is_number()) return NAN;
  const double x = v.get<double>();
  if (p.high <= p.low) return 0.5;
  const double u = p.log && p.low > 0 && x > 0 ? (std::log(x) - std::log(p.low)) / (std::log(p.high) - std::log(p.low))
                                               : (x - p.low) / (p.high - p.low);
  return std::clamp(u, 0.0, 1.0);
}

}  // namespace

double eta_squared(const std::vector<double>& y, const std::vector<int>& group) {
  if (y.size() != group.size() || y.size() < 2) return NAN;
  const double mean = std::accumulate(y.begin(), y.end(), 0.0) / static_cast<double>(y.size());
  std::map<int, std::pair<double, int>> sums;  // group -> (sum, count)
  double total = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    total += (y[i] - mean) * (y[i] - mean);
    auto& s = sums[group[i]];
    s.first += y[i];
    ++s.second;
  }
  if (!(total > 0) || sums.size() < 2) return NAN;
  double between = 0;
  for (const auto& [g, s] : sums) {
    const double m = s.first / s.second;
    between += s.second * (m - mean) * (m - mean);
  }
  return between / total;
}

std::vector<int> rank_bins(const std::vector<double>& x, int max_bins) {
  std::vector<double> distinct(x);
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  const int bins = std::max(1, std::min<int>(max_bins, static_cast<int>(distinct.size())));
  std::vector<int> out;
  out.reserve(x.size());
  for (const double v : x) {
    // Equal shares of the distinct values, so equal values share a bin.
    const auto rank = std::lower_bound(distinct.begin(), distinct.end(), v) - distinct.begin();
    out.push_back(static_cast<int>(rank * bins / static_cast<std::ptrdiff_t>(distinct.size())));
  }
  return out;
}

json parameter_views(const json& space_definition, const std::vector<ParamRow>& rows) {
  json none = {{"budget", nullptr}, {"n", 0}, {"params", json::array()}, {"lines", json::array()},
               {"ticks", json::array()}, {"importance", json::array()}, {"min_importance", kMinImportanceTrials}};
  if (!space_definition.is_object() || rows.empty()) return none;
  auto def = space_definition;
  def.erase("constraints");  // code, not JSON; the parameters are what is drawn
  space::SearchSpace space;
  try {
    space = space::SearchSpace::from_json(def, "the journal's space definition");
  } catch (const std::exception&) {
    return none;  // a definition this fhist cannot read: no parameter views, the rest of the page stands
  }
  // The largest budget with at least kMinParallelTrials results; else the budget with the most.
  std::map<std::int64_t, std::vector<const ParamRow*>> by_budget;
  for (const auto& r : rows) {
    if (std::isfinite(r.val_acc)) by_budget[r.budget].push_back(&r);
  }
  if (by_budget.empty()) return none;
  auto chosen = by_budget.rbegin();
  for (auto it = by_budget.rbegin(); it != by_budget.rend(); ++it) {
    if (it->second.size() >= static_cast<std::size_t>(kMinParallelTrials)) {
      chosen = it;
      break;
    }
    if (it->second.size() > chosen->second.size()) chosen = it;
  }
  const auto& at = chosen->second;
  json out = none;
  out["budget"] = chosen->first;
  out["n"] = at.size();
  for (const auto& p : space.params()) {
    std::set<std::string> seen;
    std::vector<double> pos;
    std::vector<const ParamRow*> set;  // the trials where the parameter is active (a condition may leave it out)
    for (const auto* r : at) {
      const json v = r->config.is_object() && r->config.contains(p.name) ? r->config.at(p.name) : json(nullptr);
      if (!v.is_null()) {
        seen.insert(v.dump());
        set.push_back(r);
      }
      pos.push_back(axis_position(p, v));
    }
    if (seen.size() < 2) continue;  // the same value in every trial: nothing to compare
    out["params"].push_back(p.name);
    for (std::size_t i = 0; i < at.size(); ++i) {
      if (!std::isfinite(pos[i])) continue;
      out["lines"].push_back({{"trial", at[i]->trial}, {"param", p.name}, {"pos", pos[i]},
                              {"value", value_text(at[i]->config.at(p.name))}, {"val_acc", at[i]->val_acc}});
    }
    if (is_choice(p)) {
      for (const auto& c : p.choices) out["ticks"].push_back({{"param", p.name}, {"pos", axis_position(p, c)},
                                                              {"label", value_text(c)}});
    } else {
      const bool integer = p.kind == space::ParamKind::kInteger;
      for (const double v : {p.low, p.high}) {
        out["ticks"].push_back({{"param", p.name}, {"pos", axis_position(p, json(v))},
                                {"label", integer ? fmt::format("{:.0f}", v) : fmt::format("{:.3g}", v)}});
      }
    }
    if (static_cast<int>(set.size()) < kMinImportanceTrials) continue;
    std::vector<int> group;
    std::vector<double> set_acc;
    for (const auto* r : set) set_acc.push_back(r->val_acc);
    if (is_choice(p)) {
      for (const auto* r : set) group.push_back(choice_index(p, r->config.at(p.name)));
    } else {
      std::vector<double> x;
      for (const auto* r : set) x.push_back(r->config.at(p.name).get<double>());
      group = rank_bins(x, kImportanceBins);
    }
    const double e = eta_squared(set_acc, group);
    if (std::isfinite(e)) {
      std::set<int> groups(group.begin(), group.end());
      out["importance"].push_back({{"param", p.name}, {"eta_squared", e}, {"groups", groups.size()}});
    }
  }
  return out;
}

}  // namespace fhist::report
