// Schedulers driven by a fake objective whose scores are known in advance: score = quality(trial) + tiny budget term.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include "core/errors.hpp"
#include "sched/scheduler.hpp"

namespace fhist::sched {
namespace {

using Key = std::tuple<TrialId, int, int, std::int64_t>;  // (trial, bracket, rung, budget)
Key key(const Job& j) { return {j.trial, j.bracket, j.rung, j.budget_epochs}; }

// Distinct for trial ids below 10007, and not monotone in the id, so ranking is not just creation order.
double quality(TrialId t) { return static_cast<double>((t * 7919) % 10007); }

JobResult default_objective(const Job& j) {
  return {j.trial, j.budget_epochs, quality(j.trial) + 1e-6 * static_cast<double>(j.budget_epochs),
          TrialState::kComplete};
}
using Objective = std::function<JobResult(const Job&)>;

// Hands out trial ids 0, 1, 2, ... and remembers which bracket asked for each.
struct Trials {
  std::vector<int> bracket_of;
  NewTrial callback() {
    return [this](int bracket) {
      bracket_of.push_back(bracket);
      return static_cast<TrialId>(bracket_of.size() - 1);
    };
  }
};

struct Event {
  bool is_job;  // next_job returned `job`; else on_result(result) was called
  Job job;
  JobResult result;
};

// Runs the scheduler to the end with up to `workers` jobs outstanding. The job to report is picked by a fixed
// rotation rather than FIFO, so reports arrive out of order. Returns every call made, in order.
std::vector<Event> drive(Scheduler& s, int workers, const Objective& f = default_objective) {
  std::vector<Event> events;
  std::vector<Job> running;
  for (std::size_t step = 0; step < 100000; ++step) {
    while (static_cast<int>(running.size()) < workers) {
      auto job = s.next_job();
      if (!job) break;
      running.push_back(*job);
      events.push_back({true, *job, {}});
    }
    if (running.empty()) break;
    const std::size_t pick = (step * 5) % running.size();
    const Job job = running[pick];
    running.erase(running.begin() + static_cast<std::ptrdiff_t>(pick));
    const JobResult r = f(job);
    s.on_result(r);
    events.push_back({false, job, r});
  }
  EXPECT_TRUE(s.done()) << s.name();
  EXPECT_FALSE(s.next_job().has_value()) << s.name();
  return events;
}

std::vector<Job> jobs_of(const std::vector<Event>& events) {
  std::vector<Job> jobs;
  for (const Event& e : events)
    if (e.is_job) jobs.push_back(e.job);
  return jobs;
}

SchedulerOptions options(std::int64_t min, std::int64_t max, int eta, std::int64_t n = 0, int iterations = 1) {
  SchedulerOptions o;
  o.min_budget = min;
  o.max_budget = max;
  o.eta = eta;
  o.n_configs = n;
  o.iterations = iterations;
  return o;
}

// Trials of `jobs` at the given rung, in hand-out order.
std::vector<TrialId> trials_at(const std::vector<Job>& jobs, int rung) {
  std::vector<TrialId> t;
  for (const Job& j : jobs)
    if (j.rung == rung) t.push_back(j.trial);
  return t;
}

// The best `k` of `trials` by quality (the objective's ranking does not depend on the budget).
std::set<TrialId> best(std::vector<TrialId> trials, std::size_t k) {
  std::sort(trials.begin(), trials.end(), [](TrialId a, TrialId b) { return quality(a) > quality(b); });
  trials.resize(std::min(k, trials.size()));
  return {trials.begin(), trials.end()};
}
std::set<TrialId> as_set(const std::vector<TrialId>& v) { return {v.begin(), v.end()}; }

TEST(RandomTest, RunsNConfigsAtMaxBudget) {
  Trials trials;
  auto s = make_scheduler("random", options(1, 27, 3, 10), trials.callback());
  const auto jobs = jobs_of(drive(*s, 4));
  ASSERT_EQ(jobs.size(), 10u);
  for (const Job& j : jobs) EXPECT_EQ(key(j), Key(j.trial, 0, 0, 27));
  EXPECT_EQ(as_set(trials_at(jobs, 0)).size(), 10u);
  EXPECT_EQ(trials.bracket_of, std::vector<int>(10, 0));
}

// The one-epoch top-K: every trial at min_budget, then exactly the K best continue to max_budget.
TEST(TopKTest, TrainsTheKBestOfTheFirstBudgetToTheEnd) {
  Trials trials;
  auto o = options(1, 12, 3, 20);
  o.top_k = 4;
  auto s = make_scheduler("top-k", o, trials.callback());
  const auto jobs = jobs_of(drive(*s, 3));
  const auto first = trials_at(jobs, 0);
  ASSERT_EQ(first.size(), 20u);
  const auto last = trials_at(jobs, 1);
  ASSERT_EQ(last.size(), 4u);
  EXPECT_EQ(as_set(last), best(first, 4));
  for (const Job& j : jobs) EXPECT_EQ(j.budget_epochs, j.rung == 0 ? 1 : 12);
  EXPECT_EQ(jobs.size(), 24u);
}

// A hedged ranking (--estimator A+B): top-K's finalists are taken in turn from A's ranking and B's, each the best not
// yet taken, never a failed trial; A's best first until a trial B promoted reaches a better validation accuracy at the
// full budget than every trial A promoted, then B's. The third waits for the first two (see the next test). Where B
// has no value, the scores as reported (A's) rank alone.
TEST(TopKTest, AHedgedRankingTakesTheFinalistsInTurnFromBothRankings) {
  Trials trials;
  auto o = options(1, 12, 3, 12, 2);  // two rounds of 12 trials, 3 finalists each
  o.top_k = 3;
  o.hedge = true;
  const auto by_quality = [](TrialId from) {
    std::vector<TrialId> t;
    for (TrialId i = from; i < from + 12; ++i) t.push_back(i);
    std::sort(t.begin(), t.end(), [](TrialId x, TrialId y) { return quality(x) > quality(y); });
    return t;
  };
  // A ranks by quality; B by minus quality, except that A's best of the first round is B's best too.
  const auto first = by_quality(0), second = by_quality(12);
  const TrialId shared = first[0], failed = first.back();
  const auto objective = [&](const Job& j) {
    JobResult r = default_objective(j);
    r.candidates = {r.score, j.trial == shared ? 1e9 : -quality(j.trial)};
    // At the full budget B's first-round pick does best: the second round's first pick is B's.
    r.accuracy = j.budget_epochs == 12 && j.trial == first[10] ? 0.9 : 0.5;
    if (j.trial == failed) {
      r.state = TrialState::kFailed;
      r.candidates.clear();
    }
    return r;
  };
  auto s = make_scheduler("top-k", o, trials.callback());
  const auto jobs = jobs_of(drive(*s, 1, objective));
  const auto last = trials_at(jobs, 1);
  // Round 1: A's best (shared, also B's best), then B's next best (the second-worst by quality, the worst failed);
  // B's did better at the full budget, so B's next. Round 2: B's best (the worst by quality), A's best, B's next.
  EXPECT_EQ(last, (std::vector<TrialId>{shared, first[10], first[9], second[11], second[0], second[10]}));
  // The evidence the search's summary prints: B picks first now, its finalists' best 0.9 against A's 0.5.
  const auto state = s->hedge();
  ASSERT_TRUE(state);
  EXPECT_EQ(state->first, 1u);
  EXPECT_DOUBLE_EQ(state->best[0], 0.5);
  EXPECT_DOUBLE_EQ(state->best[1], 0.9);

  // Without B's scores the hedge has nothing to hedge with: A's three best.
  Trials plain;
  auto q = options(1, 12, 3, 12);
  q.hedge = true;
  auto p = make_scheduler("top-k", q, plain.callback());
  const auto no_b = jobs_of(drive(*p, 3, default_objective));
  EXPECT_EQ(as_set(trials_at(no_b, 1)), best(trials_at(no_b, 0), 3));
  EXPECT_FALSE(make_scheduler("top-k", options(1, 12, 3, 12), plain.callback())->hedge());  // no hedge, no state

  // ASHA ranks as results arrive: it refuses a hedged ranking.
  EXPECT_THROW(make_scheduler("asha", o, plain.callback()), InputError);
}

// A hedged top-K stages its finalists: one from each ranking first, and the third only once both have reported at
// the full budget, from the ranking whose finalist reached the better validation accuracy. The trials either ranking
// could still pick are kept (not retired) until then; every trial retires once.
TEST(TopKTest, AHedgedTopKPicksItsThirdFinalistByHowItsFirstTwoEnded) {
  for (const std::size_t winner : {0u, 1u}) {
    Trials trials;
    auto o = options(1, 12, 3, 12);
    o.top_k = 3;
    o.hedge = true;
    std::vector<TrialId> by_quality;
    for (TrialId i = 0; i < 12; ++i) by_quality.push_back(i);
    std::sort(by_quality.begin(), by_quality.end(), [](TrialId x, TrialId y) { return quality(x) > quality(y); });
    const TrialId a_best = by_quality.front(), b_best = by_quality.back();  // B ranks by minus quality
    auto s = make_scheduler("top-k", o, trials.callback());
    std::vector<Job> running, finalists;
    std::set<TrialId> reported_last, retired;
    std::map<TrialId, std::size_t> reported_before;  // finalist -> last-rung results in before it was handed out
    while (true) {
      while (running.size() < 3) {  // three workers: the third finalist could start with the first two
        auto j = s->next_job();
        if (!j) break;
        EXPECT_FALSE(retired.count(j->trial)) << "retired trial " << j->trial << " got a job";
        if (j->rung == 1) {
          finalists.push_back(*j);
          reported_before[j->trial] = reported_last.size();
        }
        running.push_back(*j);
      }
      if (running.empty()) break;
      const Job j = running.front();
      running.erase(running.begin());
      JobResult r = default_objective(j);
      r.candidates = {r.score, -quality(j.trial)};
      r.accuracy = 0.5;
      if (j.rung == 1 && j.trial == (winner == 0 ? a_best : b_best)) r.accuracy = 0.9;
      s->on_result(r);
      if (j.rung == 1) reported_last.insert(j.trial);
      for (TrialId t : s->take_retired()) EXPECT_TRUE(retired.insert(t).second) << "trial " << t << " retired twice";
    }
    EXPECT_TRUE(s->done());
    ASSERT_EQ(finalists.size(), 3u);
    EXPECT_EQ(finalists[0].trial, a_best);
    EXPECT_EQ(finalists[1].trial, b_best);
    EXPECT_EQ(finalists[2].trial, winner == 0 ? by_quality[1] : by_quality[10]) << "winner " << winner;
    EXPECT_EQ(reported_before[finalists[2].trial], 2u) << "the third finalist started before the first two ended";
    EXPECT_EQ(s->hedge()->first, winner);
    EXPECT_EQ(retired.size(), 12u);
  }
}

TEST(SuccessiveHalvingTest, KeepsExactlyTopOneOverEta) {
  Trials trials;
  auto s = make_scheduler("sh", options(1, 27, 3, 27), trials.callback());
  const auto jobs = jobs_of(drive(*s, 1));
  const std::vector<std::int64_t> budgets{1, 3, 9, 27};
  const std::vector<std::size_t> sizes{27, 9, 3, 1};
  for (int rung = 0; rung < 4; ++rung) {
    const auto at = trials_at(jobs, rung);
    ASSERT_EQ(at.size(), sizes[rung]) << rung;
    for (const Job& j : jobs)
      if (j.rung == rung) {
        EXPECT_EQ(j.budget_epochs, budgets[rung]);
      }
    if (rung > 0) {
      EXPECT_EQ(as_set(at), best(trials_at(jobs, rung - 1), sizes[rung])) << rung;
    }
  }
  EXPECT_EQ(jobs.size(), 27u + 9 + 3 + 1);
}

TEST(SuccessiveHalvingTest, WaitsForTheWholeRung) {
  Trials trials;
  auto s = make_scheduler("sh", options(1, 9, 3, 9), trials.callback());
  std::vector<Job> rung0;
  while (auto j = s->next_job()) rung0.push_back(*j);
  ASSERT_EQ(rung0.size(), 9u);
  for (std::size_t i = 0; i + 1 < rung0.size(); ++i) {
    s->on_result(default_objective(rung0[i]));
    EXPECT_FALSE(s->next_job().has_value()) << "promoted before the rung finished";
  }
  s->on_result(default_objective(rung0.back()));
  auto promoted = s->next_job();
  ASSERT_TRUE(promoted.has_value());
  EXPECT_EQ(promoted->rung, 1);
  EXPECT_EQ(promoted->budget_epochs, 3);
}

TEST(SuccessiveHalvingTest, TiesBrokenByLowerTrialId) {
  Trials trials;
  auto s = make_scheduler("sh", options(1, 9, 3, 9), trials.callback());
  const auto jobs = jobs_of(drive(*s, 4, [](const Job& j) {
    return JobResult{j.trial, j.budget_epochs, 0.5, TrialState::kComplete};
  }));
  EXPECT_EQ(as_set(trials_at(jobs, 1)), (std::set<TrialId>{0, 1, 2}));
  EXPECT_EQ(as_set(trials_at(jobs, 2)), (std::set<TrialId>{0}));
}

TEST(SuccessiveHalvingTest, FailedTrialNeverPromoted) {
  // Trial 0 diverged (with a huge score it must not be trusted for), 1..7 failed; only trial 8 is promotable,
  // so rung 1 shrinks from the planned 3 to 1.
  Trials trials;
  auto s = make_scheduler("sh", options(1, 9, 3, 9), trials.callback());
  const auto jobs = jobs_of(drive(*s, 4, [](const Job& j) {
    if (j.trial == 0) return JobResult{j.trial, j.budget_epochs, 1e9, TrialState::kDiverged};
    if (j.trial < 8) return JobResult{j.trial, j.budget_epochs, -HUGE_VAL, TrialState::kFailed};
    return JobResult{j.trial, j.budget_epochs, 0.1, TrialState::kComplete};
  }));
  EXPECT_EQ(trials_at(jobs, 0).size(), 9u);
  EXPECT_EQ(trials_at(jobs, 1), (std::vector<TrialId>{8}));
  EXPECT_EQ(trials_at(jobs, 2), (std::vector<TrialId>{8}));
}

TEST(SuccessiveHalvingTest, AllFailedEndsTheBracket) {
  Trials trials;
  auto s = make_scheduler("sh", options(1, 9, 3, 9), trials.callback());
  const auto jobs = jobs_of(drive(*s, 2, [](const Job& j) {
    return JobResult{j.trial, j.budget_epochs, std::nan(""), TrialState::kComplete};  // NaN counts as failed
  }));
  EXPECT_EQ(jobs.size(), 9u);
}

TEST(HyperBandTest, FullRunHandsOutPlannedJobsPerBracketAndRung) {
  for (const auto& [min, max, eta, iterations] : std::vector<std::tuple<int, int, int, int>>{
           {1, 27, 3, 2}, {1, 128, 2, 1}, {1, 100, 3, 1}}) {
    Trials trials;
    auto s = make_scheduler("hyperband", options(min, max, eta, 0, iterations), trials.callback());
    const auto jobs = jobs_of(drive(*s, 3));
    std::map<std::tuple<int, int, std::int64_t>, std::int64_t> got, want;  // (bracket, rung, budget) -> jobs
    std::map<int, std::int64_t> created_want, created_got;                  // bracket -> new trials
    for (const Job& j : jobs) ++got[{j.bracket, j.rung, j.budget_epochs}];
    for (int b : trials.bracket_of) ++created_got[b];
    for (const BracketPlan& p : hyperband_plan(min, max, eta)) {
      for (std::size_t i = 0; i < p.rungs.size(); ++i)
        want[{p.bracket, static_cast<int>(i), p.rungs[i].budget_epochs}] += iterations * p.rungs[i].configs;
      created_want[p.bracket] += iterations * p.rungs[0].configs;
    }
    EXPECT_EQ(got, want) << max;
    EXPECT_EQ(created_got, created_want) << max;
  }
}

TEST(HyperBandTest, NextBracketStartsWhileARungWaits) {
  Trials trials;
  auto s = make_scheduler("hyperband", options(1, 27, 3), trials.callback());
  for (int i = 0; i < 27; ++i) {
    auto j = s->next_job();
    ASSERT_TRUE(j.has_value());
    EXPECT_EQ(j->bracket, 3);
  }
  auto j = s->next_job();  // bracket 3 waits for its 27 results; bracket 2 starts
  ASSERT_TRUE(j.has_value());
  EXPECT_EQ(j->bracket, 2);
  EXPECT_EQ(j->rung, 0);
  EXPECT_EQ(j->budget_epochs, 3);
}

TEST(AshaTest, PromotesBeforeTheRungHasReported) {
  Trials trials;
  auto s = make_scheduler("asha", options(1, 9, 3, 9), trials.callback());
  std::vector<Job> first;
  for (int i = 0; i < 3; ++i) first.push_back(*s->next_job());
  for (const Job& j : first) {
    EXPECT_EQ(j.rung, 0);
    EXPECT_EQ(j.budget_epochs, 1);
    s->on_result(default_objective(j));
  }
  // Only 3 of 9 rung-0 trials have reported, yet the best of them (floor(3/3) = 1) goes on at once.
  auto j = s->next_job();
  ASSERT_TRUE(j.has_value());
  EXPECT_EQ(j->rung, 1);
  EXPECT_EQ(j->budget_epochs, 3);
  EXPECT_EQ(std::set<TrialId>{j->trial}, best({0, 1, 2}, 1));
  // Nothing else is promotable, so a new trial starts rather than waiting.
  auto next = s->next_job();
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->rung, 0);
  EXPECT_EQ(next->trial, 3);
}

TEST(AshaTest, FinishesWithEveryRungTopPromotedAndReachesMax) {
  for (int workers : {1, 4}) {
    Trials trials;
    auto s = make_scheduler("asha", options(1, 10, 3, 27), trials.callback());
    const auto jobs = jobs_of(drive(*s, workers));
    const std::vector<std::int64_t> budgets{1, 3, 9, 10};  // last rung capped at max
    for (const Job& j : jobs) EXPECT_EQ(j.budget_epochs, budgets.at(j.rung));
    EXPECT_EQ(trials_at(jobs, 0).size(), 27u);
    for (int rung = 1; rung < 4; ++rung) {
      const auto below = trials_at(jobs, rung - 1);
      const auto at = as_set(trials_at(jobs, rung));
      // At the end the top floor(n_k/eta) of each rung has been promoted (maybe more, promoted earlier).
      for (TrialId t : best(below, below.size() / 3)) EXPECT_TRUE(at.count(t)) << workers << " " << rung << " " << t;
      EXPECT_EQ(at.size(), trials_at(jobs, rung).size()) << "a trial ran twice at one rung";
    }
    EXPECT_FALSE(trials_at(jobs, 3).empty());
  }
}

// Fewer configurations than eta^rungs: 3 at eta 3 over 1, 3, 9 epochs. The rung of 3 epochs never holds 3 results,
// so floor(1/3) = 0 would promote nobody and the search would end at 3 epochs while its plan says 9; at the end the
// best of each rung goes on, as the plan counts (3 + 1 + 1 jobs).
TEST(AshaTest, FewConfigurationsStillReachTheMaximumBudgetAsPlanned) {
  for (int workers : {1, 3}) {
    Trials trials;
    auto s = make_scheduler("asha", options(1, 9, 3, 3), trials.callback());
    const auto jobs = jobs_of(drive(*s, workers));
    const auto plan = successive_halving_plan(3, 1, 9, 3);
    std::size_t planned = 0;
    for (const auto& rung : plan.rungs) planned += static_cast<std::size_t>(rung.configs);
    EXPECT_EQ(jobs.size(), planned) << workers;
    ASSERT_EQ(trials_at(jobs, 2).size(), 1u) << workers;
    EXPECT_EQ(std::set<TrialId>{trials_at(jobs, 2)[0]}, best(trials_at(jobs, 1), 1));
    EXPECT_EQ(as_set(trials_at(jobs, 1)), best({0, 1, 2}, 1));
  }
}

TEST(AshaTest, FailedTrialNeverPromoted) {
  Trials trials;
  auto s = make_scheduler("asha", options(1, 9, 3, 9), trials.callback());
  const auto jobs = jobs_of(drive(*s, 4, [](const Job& j) {
    if (j.trial != 5) return JobResult{j.trial, j.budget_epochs, 1e9, TrialState::kFailed};
    return JobResult{j.trial, j.budget_epochs, 0.0, TrialState::kComplete};
  }));
  for (const Job& j : jobs)
    if (j.rung > 0) {
      EXPECT_EQ(j.trial, 5);
    }
  EXPECT_EQ(trials_at(jobs, 0).size(), 9u);
}

TEST(AshaTest, ReleasesATrialAsSoonAsItCanNeverBePromoted) {
  // Each new trial is better than all before it, so early trials sink below the top floor(9/3) = 3 of rung 0 and
  // can be released (their checkpoints deleted) long before the search ends; none of them gets a job afterwards.
  for (int workers : {1, 3}) {
    Trials trials;
    auto s = make_scheduler("asha", options(1, 9, 3, 9), trials.callback());
    std::set<TrialId> retired;
    std::int64_t released_early = 0;
    std::vector<Job> running;
    while (true) {
      while (static_cast<int>(running.size()) < workers) {
        auto j = s->next_job();
        if (!j) break;
        EXPECT_FALSE(retired.count(j->trial)) << "released trial " << j->trial << " got a job";
        running.push_back(*j);
      }
      if (running.empty()) break;
      const Job j = running.front();
      running.erase(running.begin());
      s->on_result({j.trial, j.budget_epochs, static_cast<double>(j.trial) + 1e-3 * j.budget_epochs,
                    TrialState::kComplete});
      for (TrialId t : s->take_retired()) {
        retired.insert(t);
        released_early += s->done() ? 0 : 1;
      }
    }
    EXPECT_TRUE(s->done());
    EXPECT_EQ(retired.size(), 9u) << workers;
    EXPECT_GE(released_early, 5) << workers << " workers: trials 0..5 sink below rung 0's top 3 before the end";
  }
}

TEST(SchedulerTest, FourWorkersGiveTheSameJobMultisetAsOne) {
  // ASHA is left out on purpose: what it promotes depends on the order results arrive (that is its point).
  for (const std::string name : {"random", "sh", "hyperband"}) {
    std::multiset<std::tuple<int, int, std::int64_t>> shape[2];
    std::multiset<Key> full[2];
    for (int k = 0; k < 2; ++k) {
      Trials trials;
      auto s = make_scheduler(name, options(1, 27, 3, 0, 2), trials.callback());
      for (const Job& j : jobs_of(drive(*s, k == 0 ? 1 : 4))) {
        shape[k].insert({j.bracket, j.rung, j.budget_epochs});
        full[k].insert(key(j));
      }
    }
    EXPECT_EQ(shape[0], shape[1]) << name;
    // Trial ids are interleaved across HyperBand's brackets with parallel workers; within one bracket they are not.
    if (name != "hyperband") {
      EXPECT_EQ(full[0], full[1]) << name;
    }
  }
}

TEST(SchedulerTest, ReplayingTheCallsGivesIdenticalJobs) {
  for (const std::string& name : scheduler_names()) {
    Trials first;
    auto s = make_scheduler(name, options(1, 27, 3, 0, 2), first.callback());
    const auto events = drive(*s, 4);
    Trials again;
    auto r = make_scheduler(name, options(1, 27, 3, 0, 2), again.callback());
    for (const Event& e : events) {
      if (e.is_job) {
        auto j = r->next_job();
        ASSERT_TRUE(j.has_value()) << name;
        ASSERT_EQ(key(*j), key(e.job)) << name;
      } else {
        r->on_result(e.result);
      }
    }
    EXPECT_TRUE(r->done()) << name;
    EXPECT_EQ(again.bracket_of, first.bracket_of) << name;
  }
}

TEST(SchedulerTest, ResultForAJobNotHandedOutThrows) {
  for (const std::string& name : scheduler_names()) {
    Trials trials;
    auto s = make_scheduler(name, options(1, 27, 3), trials.callback());
    EXPECT_THROW(s->on_result({999, 1, 0.5, TrialState::kComplete}), Error) << name;
    const Job j = *s->next_job();
    EXPECT_THROW(s->on_result({j.trial, j.budget_epochs + 1, 0.5, TrialState::kComplete}), Error) << name;
    s->on_result(default_objective(j));
    EXPECT_THROW(s->on_result(default_objective(j)), Error) << name << ": reported twice";
  }
}

TEST(SchedulerTest, BadOptionsThrowInputError) {
  Trials trials;
  for (const std::string& name : scheduler_names()) {
    EXPECT_THROW(make_scheduler(name, options(0, 27, 3), trials.callback()), InputError) << name;
    EXPECT_THROW(make_scheduler(name, options(5, 4, 3), trials.callback()), InputError) << name;
    EXPECT_THROW(make_scheduler(name, options(1, 27, 1), trials.callback()), InputError) << name;
    EXPECT_THROW(make_scheduler(name, options(1, 27, 3, -1), trials.callback()), InputError) << name;
    EXPECT_THROW(make_scheduler(name, options(1, 27, 3, 0, 0), trials.callback()), InputError) << name;
  }
  try {
    make_scheduler("bohb", options(1, 27, 3), trials.callback());
    FAIL() << "no InputError";
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("bohb"), std::string::npos) << what;
    for (const std::string& name : scheduler_names()) EXPECT_NE(what.find(name), std::string::npos) << what;
  }
}

TEST(SchedulerTest, ZeroConfigsMeansHyperBandsLargestBracket) {
  for (const std::string name : {"random", "sh", "asha"}) {
    Trials trials;
    auto s = make_scheduler(name, options(1, 27, 3, 0), trials.callback());
    drive(*s, 4);
    EXPECT_EQ(trials.bracket_of.size(), 27u) << name;
  }
}

TEST(SchedulerTest, NamesMatch) {
  Trials trials;
  EXPECT_EQ(scheduler_names(),
            (std::vector<std::string>{"random", "sh", "hyperband", "asha", "top-k", "top-k-hb", "top-k-auto"}));
  for (const std::string& name : scheduler_names())
    EXPECT_EQ(make_scheduler(name, options(1, 27, 3), trials.callback())->name(), name);
}

}  // namespace
}  // namespace fhist::sched

namespace fhist::sched {
namespace {

// Every trial is retired exactly once, and never before its last job has reported.
TEST(SchedulerRetired, EveryTrialRetiresOnceAfterItsLastJob) {
  for (const std::string name : {"random", "sh", "hyperband", "asha", "top-k-auto"}) {
    Trials trials;
    auto s = make_scheduler(name, options(1, 27, 3), trials.callback());
    std::map<TrialId, int> retired;
    std::map<TrialId, int> last_job_index, job_count;
    std::vector<Job> running;
    int index = 0;
    while (true) {
      while (running.size() < 3) {
        auto job = s->next_job();
        if (!job) break;
        ASSERT_EQ(retired.count(job->trial), 0u) << name << ": job for a retired trial " << job->trial;
        running.push_back(*job);
        last_job_index[job->trial] = index++;
      }
      if (running.empty()) break;
      const Job job = running.front();
      running.erase(running.begin());
      s->on_result(default_objective(job));
      for (TrialId t : s->take_retired()) {
        ++retired[t];
        EXPECT_TRUE(std::none_of(running.begin(), running.end(), [&](const Job& j) { return j.trial == t; }))
            << name << ": trial " << t << " retired while running";
      }
    }
    EXPECT_EQ(retired.size(), trials.bracket_of.size()) << name;
    for (const auto& [t, n] : retired) EXPECT_EQ(n, 1) << name << " trial " << t;
  }
}

// The journal's words for the states and back: every state survives the round trip; a word this fhist does not
// know reads as the fallback the caller chose.
TEST(SchedulerTest, StateNamesRoundTrip) {
  for (auto s : {TrialState::kPending, TrialState::kRunning, TrialState::kPaused, TrialState::kComplete,
                 TrialState::kFailed, TrialState::kDiverged}) {
    EXPECT_EQ(state_from_name(state_name(s), TrialState::kPending), s) << state_name(s);
  }
  EXPECT_EQ(std::string(state_name(TrialState::kDiverged)), "diverged");
  EXPECT_EQ(state_from_name("exploded", TrialState::kFailed), TrialState::kFailed);
}

}  // namespace
}  // namespace fhist::sched
