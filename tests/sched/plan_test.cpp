// Bracket plans: HyperBand (Li et al., not HpBandSter), single SH brackets, epoch totals with continuation.
#include <gtest/gtest.h>

#include <cmath>

#include "core/errors.hpp"
#include "sched/scheduler.hpp"

namespace fhist::sched {
namespace {

using Rungs = std::vector<std::pair<std::int64_t, std::int64_t>>;  // (configs, budget)

Rungs rungs_of(const BracketPlan& b) {
  Rungs r;
  for (const Rung& x : b.rungs) r.emplace_back(x.configs, x.budget_epochs);
  return r;
}

TEST(PlanTest, HyperBandEta3Budgets1To27IsLiEtAl) {
  const auto plan = hyperband_plan(1, 27, 3);
  ASSERT_EQ(plan.size(), 4u);
  EXPECT_EQ(plan[0].bracket, 3);
  EXPECT_EQ(rungs_of(plan[0]), (Rungs{{27, 1}, {9, 3}, {3, 9}, {1, 27}}));
  EXPECT_EQ(plan[1].bracket, 2);
  EXPECT_EQ(rungs_of(plan[1]), (Rungs{{12, 3}, {4, 9}, {1, 27}}));  // HpBandSter would start 9
  EXPECT_EQ(plan[2].bracket, 1);
  EXPECT_EQ(rungs_of(plan[2]), (Rungs{{6, 9}, {2, 27}}));
  EXPECT_EQ(plan[3].bracket, 0);
  EXPECT_EQ(rungs_of(plan[3]), (Rungs{{4, 27}}));
}

TEST(PlanTest, HyperBandEta2Budgets1To128MatchesClosedForm) {
  const auto plan = hyperband_plan(1, 128, 2);
  // Closed form in floating point, independent of the integer implementation.
  const int s_max = static_cast<int>(std::floor(std::log(128.0) / std::log(2.0) + 1e-9));
  ASSERT_EQ(s_max, 7);
  ASSERT_EQ(plan.size(), 8u);
  for (int s = s_max; s >= 0; --s) {
    const BracketPlan& b = plan[s_max - s];
    EXPECT_EQ(b.bracket, s);
    const double n = std::ceil((s_max + 1.0) / (s + 1.0) * std::pow(2.0, s));
    ASSERT_EQ(b.rungs.size(), static_cast<std::size_t>(s + 1));
    for (int i = 0; i <= s; ++i) {
      EXPECT_EQ(b.rungs[i].configs, static_cast<std::int64_t>(std::floor(n * std::pow(2.0, -i)))) << s << " " << i;
      EXPECT_EQ(b.rungs[i].budget_epochs, std::llround(128.0 * std::pow(2.0, i - s))) << s << " " << i;
    }
  }
  EXPECT_EQ(plan[0].rungs[0].configs, 128);  // ceil(8/8 * 128)
  EXPECT_EQ(plan[1].rungs[0].configs, 74);   // ceil(8/7 * 64) = ceil(73.14)
}

TEST(PlanTest, HyperBandRoundsBudgetsToWholeEpochs) {
  const auto plan = hyperband_plan(1, 100, 3);  // s_max = 4 (81 <= 100 < 243)
  ASSERT_EQ(plan.size(), 5u);
  std::vector<std::int64_t> budgets;
  for (const Rung& r : plan[0].rungs) budgets.push_back(r.budget_epochs);
  EXPECT_EQ(budgets, (std::vector<std::int64_t>{1, 4, 11, 33, 100}));  // 100/81, 100/27, 100/9, 100/3 rounded
}

TEST(PlanTest, MinEqualsMaxIsOneBracket) {
  const auto plan = hyperband_plan(5, 5, 3);
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_EQ(rungs_of(plan[0]), (Rungs{{1, 5}}));
}

TEST(PlanTest, TotalEpochsCountsContinuation) {
  // Bracket 3: 27*1 + 9*(3-1) + 3*(9-3) + 1*(27-9) = 81; bracket 2: 12*3 + 4*6 + 1*18 = 78;
  // bracket 1: 6*9 + 2*18 = 90; bracket 0: 4*27 = 108.
  EXPECT_EQ(total_epochs(hyperband_plan(1, 27, 3)), 81 + 78 + 90 + 108);
  EXPECT_EQ(total_epochs({}), 0);
}

TEST(PlanTest, SuccessiveHalvingCapsLastRungAtMax) {
  EXPECT_EQ(rungs_of(successive_halving_plan(27, 1, 10, 3)), (Rungs{{27, 1}, {9, 3}, {3, 9}, {1, 10}}));
  EXPECT_EQ(rungs_of(successive_halving_plan(8, 2, 16, 2)), (Rungs{{8, 2}, {4, 4}, {2, 8}, {1, 16}}));
  // Fewer configs than eta^rungs: one config goes on to the maximum budget (HpBandSter's max(floor(n / eta^i), 1)).
  EXPECT_EQ(rungs_of(successive_halving_plan(4, 1, 27, 3)), (Rungs{{4, 1}, {1, 3}, {1, 9}, {1, 27}}));
  EXPECT_EQ(rungs_of(successive_halving_plan(1, 1, 4, 2)), (Rungs{{1, 1}, {1, 2}, {1, 4}}));
  EXPECT_TRUE(successive_halving_plan(0, 1, 27, 3).rungs.empty());
}

TEST(PlanTest, BadOptionsThrowInputErrorNamingTheFlag) {
  auto message = [](auto f) {
    try {
      f();
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no InputError");
  };
  EXPECT_EQ(message([] { hyperband_plan(1, 27, 1); }), "--eta must be >= 2 (got 1)");
  EXPECT_NE(message([] { hyperband_plan(0, 27, 3); }).find("--min-budget"), std::string::npos);
  EXPECT_NE(message([] { hyperband_plan(9, 3, 3); }).find("--max-budget"), std::string::npos);
  EXPECT_NE(message([] { successive_halving_plan(-1, 1, 27, 3); }).find("--n-configs"), std::string::npos);
  EXPECT_THROW(successive_halving_plan(9, 1, 27, 0), InputError);
}

// Egele et al.'s one-epoch top-K, compute-matched to one HyperBand round: N first-budget trials and K to the end.
TEST(PlanTest, TopKSpendsOneHyperBandRound) {
  SchedulerOptions o;
  o.min_budget = 1;
  o.max_budget = 12;
  o.eta = 3;
  const std::int64_t round = total_epochs(hyperband_plan(1, 12, 3));
  ASSERT_EQ(round, 90);
  o.top_k = 4;  // the measurement: 46 rows for one epoch, the top 4 to 12 epochs
  EXPECT_EQ(rungs_of(top_k_plan(o)), (Rungs{{46, 1}, {4, 12}}));
  EXPECT_EQ(total_epochs({top_k_plan(o)}), round);
  o.top_k = 3;
  EXPECT_EQ(rungs_of(top_k_plan(o)), (Rungs{{57, 1}, {3, 12}}));
  o.min_budget = 2;  // n * 2 + 3 * 10 <= 90 (the round of budgets 2..12)
  const std::int64_t round2 = total_epochs(hyperband_plan(2, 12, 3));
  EXPECT_EQ(top_k_plan(o).rungs[0].configs, (round2 - 3 * 10) / 2);
  EXPECT_LE(total_epochs({top_k_plan(o)}), round2);
  o.n_configs = 10;  // given: used as is
  EXPECT_EQ(rungs_of(top_k_plan(o)), (Rungs{{10, 2}, {3, 12}}));
  o.top_k = 20;  // more than there are: all go on
  EXPECT_EQ(rungs_of(top_k_plan(o)), (Rungs{{10, 2}, {10, 12}}));
  o.top_k = 0;
  EXPECT_THROW(top_k_plan(o), InputError);
  // --iterations repeats the round; search_plan and make_scheduler know the algorithm.
  o.top_k = 3;
  o.n_configs = 0;
  o.min_budget = 1;
  o.iterations = 3;
  EXPECT_EQ(search_plan("top-k", o).size(), 3u);
  EXPECT_EQ(total_epochs(search_plan("top-k", o)), 3 * round);
}

// top-k-hb: the one-epoch top-K's round, then HyperBand's brackets for the other iterations.
TEST(PlanTest, TopKThenHyperBand) {
  SchedulerOptions o;
  o.min_budget = 1;
  o.max_budget = 12;
  o.eta = 3;
  o.iterations = 3;
  const auto hb = hyperband_plan(1, 12, 3);
  const auto plan = search_plan("top-k-hb", o);
  ASSERT_EQ(plan.size(), 1 + 2 * hb.size());
  EXPECT_EQ(rungs_of(plan[0]), (Rungs{{57, 1}, {3, 12}}));
  EXPECT_EQ(plan[0].bracket, hb.front().bracket);
  for (std::size_t i = 0; i < 2 * hb.size(); ++i) EXPECT_EQ(rungs_of(plan[1 + i]), rungs_of(hb[i % hb.size()]));
  EXPECT_EQ(total_epochs(plan), 3 * 90);
  o.iterations = 1;
  EXPECT_EQ(search_plan("top-k-hb", o).size(), 1u);
  EXPECT_EQ(make_scheduler("top-k-hb", o, [](int) { return TrialId{0}; })->name(), "top-k-hb");
}

}  // namespace
}  // namespace fhist::sched
