#pragma once
// A synthetic multi-fidelity problem whose true optimum is known (BOHB's and DEHB's tests): a bowl at 0.7 in five
// coordinates plus a bonus for one category, seen through noise that shrinks with the budget.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/rng.hpp"
#include "sched/scheduler.hpp"
#include "search/sampler.hpp"
#include "space/space.hpp"

namespace fhist::search::synthetic {

inline space::SearchSpace space() {
  std::vector<space::Param> params;
  for (int i = 0; i < 5; ++i) params.push_back(space::Param::real("x" + std::to_string(i), 0.0, 1.0));
  params.push_back(space::Param::categorical("kind", {"a", "b", "c", "d"}));
  return space::SearchSpace("synthetic", std::move(params));
}

// True quality; the maximum is 0.3.
inline double true_quality(const space::Config& c) {
  double q = 0.0;
  for (int i = 0; i < 5; ++i) q -= std::pow(c.get_double("x" + std::to_string(i)) - 0.7, 2);
  const auto kind = c.get_string("kind");
  return q + (kind == "c" ? 0.3 : kind == "b" ? 0.1 : 0.0);
}

// What a short run sees: the true quality blurred by budget-dependent noise (less noise at larger budgets).
inline double observed(double q, std::int64_t trial, std::int64_t budget, std::uint64_t seed) {
  const auto h = derive_seed(seed, Stream::kTrial, static_cast<std::uint64_t>(trial * 1000 + budget));
  const double u = static_cast<double>(h >> 11) / static_cast<double>(1ULL << 53) - 0.5;  // [-0.5, 0.5)
  return q + 0.2 * u / std::sqrt(static_cast<double>(budget));
}

// Runs `algo` with `sampler` as a study wires them (each bracket's new configurations sampled at the bracket's first
// budget); returns the true quality of the incumbent (best observed score at the largest budget) and the epochs spent
// (promoted trials continue).
inline std::pair<double, std::int64_t> run(const std::string& algo, Sampler& sampler, const sched::SchedulerOptions& o,
                                           std::uint64_t seed) {
  std::map<int, std::int64_t> first_budget;
  for (const auto& b : sched::search_plan(algo, o)) first_budget.emplace(b.bracket, b.rungs.front().budget_epochs);
  std::map<sched::TrialId, space::Config> configs;
  std::map<sched::TrialId, std::int64_t> trained;
  auto scheduler = sched::make_scheduler(algo, o, [&](int bracket) {
    const auto id = static_cast<sched::TrialId>(configs.size());
    space::Rng rng(derive_seed(seed, Stream::kSample, static_cast<std::uint64_t>(id)));
    configs[id] = sampler.sample_at(first_budget.at(bracket), rng);
    return id;
  });
  std::int64_t epochs = 0, best_budget = -1;
  double best_score = -HUGE_VAL, best_true = -HUGE_VAL;
  while (auto job = scheduler->next_job()) {
    const auto& config = configs.at(job->trial);
    epochs += job->budget_epochs - trained[job->trial];
    trained[job->trial] = job->budget_epochs;
    const double score = observed(true_quality(config), job->trial, job->budget_epochs, seed);
    scheduler->on_result({job->trial, job->budget_epochs, score, sched::TrialState::kComplete});
    sampler.observe(config, job->budget_epochs, score);
    if (job->budget_epochs > best_budget || (job->budget_epochs == best_budget && score > best_score)) {
      best_budget = job->budget_epochs;
      best_score = score;
      best_true = true_quality(config);
    }
  }
  EXPECT_TRUE(scheduler->done());
  return {best_true, epochs};
}

}  // namespace fhist::search::synthetic
