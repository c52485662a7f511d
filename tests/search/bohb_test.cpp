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

space::SearchSpace synthetic_space() { return synthetic::space(); }

using synthetic::run;

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
