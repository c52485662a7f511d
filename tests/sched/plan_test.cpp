// Bracket plans: HyperBand (Li et al., not HpBandSter), single SH brackets, epoch totals with continuation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>

#include "core/errors.hpp"
#include "sched/plan_detail.hpp"
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

// top-k-auto, driven one job at a time: each trial's ranking score is `score(t)`, its validation accuracy
// `accuracy(t)` (the same at every budget). Returns the jobs in hand-out order.
std::vector<Job> drive_gated(Scheduler& s, const std::function<double(TrialId)>& score,
                             const std::function<double(TrialId)>& accuracy) {
  std::vector<Job> jobs;
  while (auto job = s.next_job()) {
    jobs.push_back(*job);
    JobResult r{job->trial, job->budget_epochs, score(job->trial), TrialState::kComplete};
    r.accuracy = accuracy(job->trial);
    s.on_result(r);
  }
  EXPECT_TRUE(s.done());
  return jobs;
}

std::int64_t jobs_at(const std::vector<Job>& jobs, std::int64_t budget) {
  return std::count_if(jobs.begin(), jobs.end(), [&](const Job& j) { return j.budget_epochs == budget; });
}

// The trials among ids 0..n-1 that `jobs` trained to `budget`, sorted.
std::vector<TrialId> reached(const std::vector<Job>& jobs, std::int64_t budget, TrialId n) {
  std::vector<TrialId> out;
  for (const Job& j : jobs)
    if (j.budget_epochs == budget && j.trial < n) out.push_back(j.trial);
  std::sort(out.begin(), out.end());
  return out;
}

// The best k of ids 0..n-1 by `quality`, sorted.
std::vector<TrialId> best_of(TrialId n, std::size_t k, const std::function<double(TrialId)>& quality) {
  std::vector<TrialId> ids(static_cast<std::size_t>(n));
  std::iota(ids.begin(), ids.end(), 0);
  std::sort(ids.begin(), ids.end(), [&](TrialId a, TrialId b) { return quality(a) > quality(b); });
  ids.resize(k);
  std::sort(ids.begin(), ids.end());
  return ids;
}

// Where the sample's scores rank as its accuracies do, top-K's rounds; where they rank the other way, rounds of the
// sample's size whose best few train on, for the same epochs. Either way the sample's trials are the plan's first ones.
TEST(GatedTopK, TheFirstSampleDecidesHowManyTrialsTrainOn) {
  SchedulerOptions o;
  o.min_budget = 1;
  o.max_budget = 12;
  o.eta = 3;
  o.iterations = 2;
  ASSERT_EQ(gate_sample(o), kGateSample);  // top-K's N is 57 here, HyperBand's first rung 9
  auto quality = [](TrialId t) { return static_cast<double>((t * 7919) % 10007); };
  TrialId next = 0;
  auto s = make_scheduler("top-k-auto", o, [&](int) { return next++; });
  EXPECT_TRUE(s->next_is_new_trial());
  const auto agree = drive_gated(*s, quality, quality);
  EXPECT_NE(s->decision().find("tau 1.00 (>= 0.2): the one-epoch top-K's rounds"), std::string::npos)
      << s->decision();
  EXPECT_EQ(s->chosen_plan_name(), "the one-epoch top-K's rounds");  // what the console's "plan: now" names
  EXPECT_EQ(jobs_at(agree, 1), 2 * 57);
  EXPECT_EQ(jobs_at(agree, 12), 2 * 3);
  // The first round's finalists: the best 3 by score of its 57 trials (ids 0..56).
  EXPECT_EQ(reached(agree, 12, 57), best_of(57, 3, quality));

  next = 0;
  s = make_scheduler("top-k-auto", o, [&](int) { return next++; });
  EXPECT_TRUE(s->chosen_plan().empty());  // nothing chosen before the gate's sample has reported
  EXPECT_EQ(s->chosen_plan_name(), "");
  const auto disagree = drive_gated(*s, quality, [&](TrialId t) { return -quality(t); });
  EXPECT_NE(s->decision().find("tau -1.00 (< 0.2): rounds of 40 trials whose best 4 train on to 12 epochs"),
            std::string::npos)
      << s->decision();
  EXPECT_EQ(s->chosen_plan_name(), "rounds of 40 trials whose best 4 train on to 12 epochs");
  // A top-K round spends 57 x 1 + 3 x 11 = 90 epochs; 40 x 1 + 4 x 11 = 84 is the most that fits with 40 trials.
  EXPECT_EQ(gate_fallback_top_k(o, kGateSample), 4);
  const auto plan = gated_plan(o, false, kGateSample);
  ASSERT_EQ(plan.size(), 2u);
  for (const auto& b : plan) EXPECT_EQ(rungs_of(b), (Rungs{{40, 1}, {4, 12}}));
  EXPECT_EQ(static_cast<std::int64_t>(disagree.size()), total_jobs(plan));
  // What progress counts against once the gate has decided (console's "plan: now"): the plan that ran.
  ASSERT_EQ(s->chosen_plan().size(), plan.size());
  EXPECT_EQ(total_jobs(s->chosen_plan()), total_jobs(plan));
  EXPECT_EQ(total_epochs(s->chosen_plan()), 2 * 84);
  for (std::size_t i = 0; i < 40; ++i) EXPECT_EQ(disagree[i].trial, static_cast<TrialId>(i));
  // The first round's finalists: the best 4 by score of the sample (ids 0..39), whatever their accuracies say.
  EXPECT_EQ(reached(disagree, 12, 40), best_of(40, 4, quality));
  // Never fewer finalists than --top-k, never more than the sample: with a longer schedule (top-K's N 97 of a
  // 154-epoch round at 20 epochs) 40 + 6 x 19 = 154; with one budget only, --top-k (nothing trains on).
  o.max_budget = 20;
  EXPECT_EQ(gate_fallback_top_k(o, kGateSample), 6);
  o.top_k = 8;
  EXPECT_EQ(gate_fallback_top_k(o, kGateSample), 8);
  EXPECT_EQ(gate_fallback_top_k(o, 5), 5);
  o.max_budget = 1;
  EXPECT_EQ(gate_fallback_top_k(o, kGateSample), 8);
  o.max_budget = 12;
  o.top_k = 3;
  // The decision's tau shows the side of the gate it is on.
  EXPECT_EQ(gate_tau_text(0.55), "0.55");
  EXPECT_EQ(gate_tau_text(0.2), "0.20");
  EXPECT_EQ(gate_tau_text(-0.1), "-0.10");
  EXPECT_EQ(gate_tau_text(0.1996), "0.1996");  // "0.20" and "0.200" would read as passing
  EXPECT_EQ(gate_tau_text(0.194), "0.19");
  // `fhist plan` and progress count the top-K branch; the plan also prints the other one's totals.
  EXPECT_EQ(total_jobs(search_plan("top-k-auto", o)), 2 * (57 + 3));
  const auto other = gate_fallback_plan(o);
  ASSERT_EQ(other.size(), 2u);
  for (const auto& b : other) EXPECT_EQ(rungs_of(b), (Rungs{{40, 1}, {4, 12}}));
  EXPECT_EQ(total_configs(other), 2 * 40);
  EXPECT_EQ(total_jobs(other), 2 * (40 + 4));
  EXPECT_EQ(total_epochs(other), 2 * 84);
}

}  // namespace
}  // namespace fhist::sched
