// The adaptive ranking's evidence (issue 26 part 4): pairs of (score at a rung, accuracy at the next) by source
// budget, Kendall's tau per candidate, and the choice it makes; then a HyperBand whose rungs follow it.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>

#include "core/errors.hpp"
#include "sched/evidence.hpp"
#include "sched/scheduler.hpp"

namespace fhist::sched {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Trials 0..n-1 of one group reported at rung 0 (budget 1) and promoted to rung 1 (budget 3): candidate 0 ranks them
// backwards, candidate 1 as their accuracy at rung 1 will come out.
void feed(ScoreEvidence& e, std::int64_t group, int n, std::int64_t b0 = 1, std::int64_t b1 = 3) {
  for (int t = 0; t < n; ++t) e.add(group, 0, b0, group * 100 + t, {-1.0 * t, 1.0 * t, kNaN}, 0.1);
  for (int t = 0; t < n; ++t) e.add(group, 1, b1, group * 100 + t, {0.0, 0.0, 0.0}, 0.5 + 0.01 * t);
}

TEST(ScoreEvidence, WithoutPairsTheFallbackRanks) {
  ScoreEvidence e(3, 10);
  EXPECT_EQ(e.choice(1), 0u);
  feed(e, 0, 4);  // 6 pairs < 10
  EXPECT_EQ(e.choice(1), 0u);
  EXPECT_DOUBLE_EQ(e.tallies().at(1).tau(1), 1.0);
  EXPECT_DOUBLE_EQ(e.tallies().at(1).tau(0), -1.0);
  EXPECT_TRUE(std::isnan(e.tallies().at(1).tau(2)));  // never finite: no pair counted
}

TEST(ScoreEvidence, TheCandidateThatPredictedTheNextRungWins) {
  ScoreEvidence e(3, 10);
  feed(e, 0, 5);  // 10 pairs: enough
  EXPECT_EQ(e.choice(1), 1u);
  EXPECT_EQ(e.tallies().at(1).pairs[1], 10);
  EXPECT_EQ(e.tallies().at(1).pairs[2], 0);
  // A budget without its own evidence falls back to the pooled tally.
  EXPECT_EQ(e.choice(9), 1u);
}

TEST(ScoreEvidence, NoSwitchOnANegativeOrMarginalTau) {
  // 5 trials, 10 pairs. Accuracy order 0 < 1 < 2 < 3 < 4 at rung 1.
  auto run = [](std::vector<double> c0, std::vector<double> c1) {
    ScoreEvidence e(2, 10, 0.1);
    for (int t = 0; t < 5; ++t) e.add(0, 0, 1, t, {c0[t], c1[t]}, kNaN);
    for (int t = 0; t < 5; ++t) e.add(0, 1, 3, t, {0.0, 0.0}, 0.5 + 0.01 * t);
    return e;
  };
  // Both negative (tau -1 and -0.8): the fallback ranks, though candidate 1 is "best".
  auto e = run({4, 3, 2, 1, 0}, {4, 3, 2, 0, 1});
  EXPECT_NEAR(e.tallies().at(1).tau(1), -0.8, 1e-12);
  EXPECT_EQ(e.choice(1), 0u);
  // Candidate 1 at 1.0 against the fallback's 0.8 (one discordant pair of 10): above the margin, it ranks.
  e = run({0, 1, 2, 4, 3}, {0, 1, 2, 3, 4});
  EXPECT_NEAR(e.tallies().at(1).tau(0), 0.8, 1e-12);
  EXPECT_EQ(e.choice(1), 1u);
  // Within the margin (0.8 against the fallback's 0.8): the fallback stays.
  e = run({0, 1, 2, 4, 3}, {1, 0, 2, 3, 4});
  EXPECT_NEAR(e.tallies().at(1).tau(1), 0.8, 1e-12);
  EXPECT_EQ(e.choice(1), 0u);
}

TEST(ScoreEvidence, EachBudgetFollowsItsOwnEvidence) {
  ScoreEvidence e(2, 3);
  // Budget 1 -> 3: candidate 1 right. Budget 3 -> 9: candidate 0 right.
  for (int t = 0; t < 4; ++t) e.add(0, 0, 1, t, {-1.0 * t, 1.0 * t}, kNaN);
  for (int t = 0; t < 4; ++t) e.add(0, 1, 3, t, {1.0 * t, -1.0 * t}, 0.5 + 0.01 * t);
  for (int t = 0; t < 4; ++t) e.add(0, 2, 9, t, {0.0, 0.0}, 0.5 + 0.01 * t);
  EXPECT_EQ(e.choice(1), 1u);
  EXPECT_EQ(e.choice(3), 0u);
}

TEST(ScoreEvidence, PairsOnlyWithinARungOfOneBracket) {
  ScoreEvidence e(2, 1);
  // Two groups with one promoted trial each: no pair can be formed across groups.
  e.add(0, 0, 1, 1, {0.0, 1.0}, 0.1);
  e.add(0, 1, 3, 1, {0.0, 0.0}, 0.9);
  e.add(1, 0, 1, 2, {1.0, 0.0}, 0.1);
  e.add(1, 1, 3, 2, {0.0, 0.0}, 0.2);
  EXPECT_TRUE(e.tallies().empty() || e.tallies().at(1).pairs[0] == 0);
  EXPECT_EQ(e.choice(1), 0u);
  EXPECT_THROW(e.add(0, 0, 1, 3, {0.0}, 0.1), Error);
}

// HyperBand (1..9, eta 3, two rounds) ranking by adaptive candidates: candidate 0 (the fallback) is the true
// quality reversed, candidate 1 the true quality. The first rungs rank by candidate 0; once promotions have shown
// candidate 1 predicting the next rung, the second round's rungs promote by it.
TEST(AdaptiveRanking, LaterRungsFollowTheScoreThatPredicted) {
  SchedulerOptions o;
  o.min_budget = 1;
  o.max_budget = 9;
  o.eta = 3;
  o.iterations = 2;
  o.adaptive = 2;
  o.adaptive_min_pairs = 3;
  TrialId next = 0;
  auto s = make_scheduler("hyperband", o, [&](int) { return next++; });
  auto quality = [](TrialId t) { return static_cast<double>((t * 37) % 101); };
  std::vector<Job> promotions;
  while (auto job = s->next_job()) {
    JobResult r{job->trial, job->budget_epochs, -quality(job->trial), TrialState::kComplete};
    r.candidates = {-quality(job->trial), quality(job->trial)};
    r.accuracy = quality(job->trial) / 101.0;
    if (job->rung > 0) promotions.push_back(*job);
    s->on_result(r);
  }
  ASSERT_TRUE(s->done());
  const auto* ev = s->evidence();
  ASSERT_NE(ev, nullptr);
  EXPECT_EQ(ev->choice(1), 1u);
  // One job at a time, a round is bracket 2 (trials 0-8 at 1 epoch), bracket 1 (9-13 at 3), bracket 0 (14-16 at 9).
  // Round 1's first rung ranked by candidate 0 (no evidence yet) and promoted the 3 worst; round 2's (trials 17-25)
  // ranks by candidate 1 and must promote the 3 best by quality.
  std::vector<TrialId> round2_rung1;
  for (const auto& job : promotions)
    if (job.bracket == 2 && job.rung == 1 && job.trial >= 17) round2_rung1.push_back(job.trial);
  ASSERT_EQ(round2_rung1.size(), 3u);
  std::vector<std::pair<double, TrialId>> rung0;
  for (TrialId t = 17; t < 26; ++t) rung0.push_back({quality(t), t});
  std::sort(rung0.rbegin(), rung0.rend());
  std::vector<TrialId> best3 = {rung0[0].second, rung0[1].second, rung0[2].second};
  std::sort(best3.begin(), best3.end());
  std::sort(round2_rung1.begin(), round2_rung1.end());
  EXPECT_EQ(round2_rung1, best3);
  std::vector<TrialId> round1_rung1;
  for (const auto& job : promotions)
    if (job.bracket == 2 && job.rung == 1 && job.trial < 9) round1_rung1.push_back(job.trial);
  std::vector<std::pair<double, TrialId>> first(9);
  for (TrialId t = 0; t < 9; ++t) first[static_cast<std::size_t>(t)] = {quality(t), t};
  std::sort(first.begin(), first.end());
  std::vector<TrialId> worst3 = {first[0].second, first[1].second, first[2].second};
  std::sort(worst3.begin(), worst3.end());
  std::sort(round1_rung1.begin(), round1_rung1.end());
  EXPECT_EQ(round1_rung1, worst3);
}

TEST(AdaptiveRanking, RefusedWhereRungsAreNotSynchronous) {
  SchedulerOptions o;
  o.min_budget = 1;
  o.max_budget = 9;
  o.adaptive = 2;
  try {
    make_scheduler("asha", o, [](int) { return TrialId{0}; });
    FAIL() << "ASHA accepted an adaptive ranking";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("auto"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace fhist::sched
