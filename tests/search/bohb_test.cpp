// BOHB (HyperBand + KDE sampler) against random search at equal compute, on a synthetic multi-fidelity function
// whose true optimum is known: the scheduler and sampler exactly as a study wires them, without training.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "core/rng.hpp"
#include "sched/scheduler.hpp"
#include "search/sampler.hpp"
#include "synthetic.hpp"

namespace fhist::search {
namespace {

using synthetic::observed;
using synthetic::true_quality;
space::SearchSpace synthetic_space() { return synthetic::space(); }

// Runs `algo` with `sampler`; returns the true quality of the incumbent (best observed score at the largest budget)
// and the epochs spent (promoted trials continue).
std::pair<double, std::int64_t> run(const std::string& algo, Sampler& sampler, const sched::SchedulerOptions& o,
                                    std::uint64_t seed) {
  std::map<sched::TrialId, space::Config> configs;
  std::map<sched::TrialId, std::int64_t> trained;
  auto scheduler = sched::make_scheduler(algo, o, [&](int) {
    const auto id = static_cast<sched::TrialId>(configs.size());
    space::Rng rng(derive_seed(seed, Stream::kSample, static_cast<std::uint64_t>(id)));
    configs[id] = sampler.sample(rng);
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

TEST(Bohb, BeatsRandomSearchAtEqualBudgetOver20Seeds) {
  sched::SchedulerOptions hb;
  hb.min_budget = 1;
  hb.max_budget = 27;
  hb.eta = 3;
  hb.iterations = 2;
  const auto plan_epochs = 2 * sched::total_epochs(sched::hyperband_plan(1, 27, 3));
  sched::SchedulerOptions rs = hb;
  rs.n_configs = plan_epochs / hb.max_budget;  // as many full-budget trials as HyperBand's epochs buy

  double bohb_sum = 0.0, random_sum = 0.0;
  int bohb_wins = 0;
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    KdeSampler kde(synthetic_space());
    RandomSampler uniform(synthetic_space());
    const auto [bohb_true, bohb_epochs] = run("hyperband", kde, hb, seed);
    const auto [rs_true, rs_epochs] = run("random", uniform, rs, seed);
    EXPECT_EQ(bohb_epochs, plan_epochs);
    EXPECT_LE(rs_epochs, plan_epochs);  // random search never gets more compute than BOHB
    bohb_sum += bohb_true;
    random_sum += rs_true;
    bohb_wins += bohb_true > rs_true ? 1 : 0;
  }
  EXPECT_GT(bohb_sum / 20, random_sum / 20) << "BOHB mean " << bohb_sum / 20 << ", random " << random_sum / 20;
  std::printf("mean true quality of the incumbent (max 0.3): BOHB %.4f, random search %.4f; BOHB better on %d of 20\n",
              bohb_sum / 20, random_sum / 20, bohb_wins);
}

}  // namespace
}  // namespace fhist::search
