// Bracket plans for HyperBand (Li et al. 2018) and single successive-halving brackets. Integer arithmetic only, so
// plans are exact and identical on every machine (no log/pow rounding surprises at powers of eta).
#include <fmt/format.h>

#include <algorithm>

#include "core/errors.hpp"
#include "sched/plan_detail.hpp"
#include "sched/scheduler.hpp"

namespace fhist::sched {

void validate_budgets(std::int64_t min_budget, std::int64_t max_budget, int eta) {
  if (min_budget < 1) throw InputError(fmt::format("--min-budget must be >= 1 (got {})", min_budget));
  if (max_budget < min_budget)
    throw InputError(fmt::format("--max-budget must be >= --min-budget ({}) (got {})", min_budget, max_budget));
  if (eta < 2) throw InputError(fmt::format("--eta must be >= 2 (got {})", eta));
}

std::vector<std::int64_t> rung_budgets(std::int64_t min_budget, std::int64_t max_budget, int eta) {
  std::vector<std::int64_t> budgets{min_budget};
  while (budgets.back() < max_budget) {
    const std::int64_t b = budgets.back();
    budgets.push_back(b > max_budget / eta ? max_budget : std::min(b * eta, max_budget));  // no overflow
  }
  return budgets;
}

std::vector<BracketPlan> hyperband_plan(std::int64_t min_budget, std::int64_t max_budget, int eta) {
  validate_budgets(min_budget, max_budget, eta);
  // s_max = floor(log_eta(max/min)): the largest s with min * eta^s <= max. p*eta <= floor(max/min) is checked as
  // p <= floor(max/min)/eta, which is equivalent for integers and cannot overflow.
  const std::int64_t ratio = max_budget / min_budget;
  int s_max = 0;
  for (std::int64_t p = 1; p <= ratio / eta; p *= eta) ++s_max;

  std::vector<BracketPlan> plan;
  for (int s = s_max; s >= 0; --s) {
    std::int64_t eta_s = 1;  // eta^s <= max/min, so it fits
    for (int i = 0; i < s; ++i) eta_s *= eta;
    // n = ceil((s_max+1)/(s+1) * eta^s) = ceil((s_max+1) * eta^s / (s+1)).
    std::int64_t num = 0;
    if (__builtin_mul_overflow(static_cast<std::int64_t>(s_max + 1), eta_s, &num))
      throw InputError(fmt::format("--max-budget {} is too large for HyperBand with --eta {}", max_budget, eta));
    const std::int64_t n = (num + s) / (s + 1);

    BracketPlan bracket{s, {}};
    std::int64_t configs = n;
    for (int i = 0; i <= s; ++i) {
      // budget max * eta^(i-s) = max / d rounded half up, d = eta^(s-i).
      std::int64_t d = 1;
      for (int j = i; j < s; ++j) d *= eta;
      const std::int64_t budget = max_budget / d + (2 * (max_budget % d) >= d ? 1 : 0);
      bracket.rungs.push_back({configs, budget});
      configs /= eta;  // floor(floor(n/eta^i)/eta) == floor(n/eta^(i+1))
    }
    plan.push_back(std::move(bracket));
  }
  return plan;
}

BracketPlan successive_halving_plan(std::int64_t n_configs, std::int64_t min_budget, std::int64_t max_budget,
                                    int eta) {
  validate_budgets(min_budget, max_budget, eta);
  if (n_configs < 0) throw InputError(fmt::format("--n-configs must be >= 0 (got {})", n_configs));
  BracketPlan bracket{0, {}};  // bracket 0: a lone SH bracket is not one of HyperBand's
  if (n_configs == 0) return bracket;
  // Every rung keeps at least one config, so the best always reaches max_budget (as HpBandSter's
  // max(floor(n / eta^i), 1)), even with fewer configs than eta^rungs.
  std::int64_t configs = n_configs;
  for (std::int64_t budget : rung_budgets(min_budget, max_budget, eta)) {
    bracket.rungs.push_back({configs, budget});
    configs = std::max<std::int64_t>(1, configs / eta);
  }
  return bracket;
}

BracketPlan as_first_bracket(BracketPlan b, const SchedulerOptions& o) {
  b.bracket = hyperband_plan(o.min_budget, o.max_budget, o.eta).front().bracket;
  return b;
}

std::vector<BracketPlan> then_hyperband(std::vector<BracketPlan> first_round, const SchedulerOptions& o) {
  const auto hb = hyperband_plan(o.min_budget, o.max_budget, o.eta);
  for (int it = 1; it < o.iterations; ++it) first_round.insert(first_round.end(), hb.begin(), hb.end());
  return first_round;
}

BracketPlan top_k_plan(const SchedulerOptions& o) {
  validate_budgets(o.min_budget, o.max_budget, o.eta);
  if (o.top_k < 1) throw InputError(fmt::format("--top-k must be >= 1 (got {})", o.top_k));
  if (o.n_configs < 0) throw InputError(fmt::format("--n-configs must be >= 0 (got {})", o.n_configs));
  const std::int64_t k = o.top_k;
  std::int64_t n = o.n_configs;
  if (n == 0) {
    const std::int64_t round = total_epochs(hyperband_plan(o.min_budget, o.max_budget, o.eta));
    n = std::max(k, (round - k * (o.max_budget - o.min_budget)) / o.min_budget);
  }
  BracketPlan bracket{0, {{n, o.min_budget}}};
  if (o.max_budget > o.min_budget) bracket.rungs.push_back({std::min(k, n), o.max_budget});
  return bracket;
}

std::int64_t total_epochs(const std::vector<BracketPlan>& plan) {
  std::int64_t total = 0;
  for (const BracketPlan& bracket : plan) {
    std::int64_t previous = 0;  // a promoted trial continues from its checkpoint: it trains only the difference
    for (const Rung& rung : bracket.rungs) {
      total += rung.configs * (rung.budget_epochs - previous);
      previous = rung.budget_epochs;
    }
  }
  return total;
}

}  // namespace fhist::sched
