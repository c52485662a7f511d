// The console reporter's progress totals: a search that chooses its plan as it runs (top-k-auto) counts against the
// plan it chose once it has.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "report/console.hpp"
#include "sched/scheduler.hpp"

namespace fhist::report {
namespace {

std::string read_all(std::FILE* f) {
  std::rewind(f);
  std::string text;
  for (int c = std::fgetc(f); c != EOF; c = std::fgetc(f)) text.push_back(static_cast<char>(c));
  return text;
}

// A top-k-auto search with budgets 1..12, eta 3.
study::StudyOptions top_k_auto(int iterations) {
  study::StudyOptions o;
  o.algo = "top-k-auto";
  o.estimator = "tse-ema";
  o.sched.min_budget = 1;
  o.sched.max_budget = 12;
  o.sched.eta = 3;
  o.sched.iterations = iterations;
  return o;
}

TEST(Console, ProgressFollowsThePlanTopKAutoChose) {
  const auto o = top_k_auto(2);
  std::FILE* out = std::tmpfile();
  ASSERT_NE(out, nullptr);
  ConsoleReporter reporter(o, 1, 0, out);
  auto cb = reporter.callbacks();
  study::TrialResult r;
  r.budget_epochs = 1;
  r.state = sched::TrialState::kComplete;
  study::StudySummary s;
  s.jobs = 1;
  s.epochs_trained = 1;
  cb.on_result(r, s);  // before the gate: top-K's rounds, 2 x (57 + 3) jobs and 2 x 90 epochs
  EXPECT_NE(read_all(out).find("job 1/120, epochs 1/180"), std::string::npos) << read_all(out);

  // The gate disagreed: rounds of 40 trials and 4 finalists, 2 x 44 jobs and 2 x 84 epochs.
  const sched::BracketPlan round{0, {{40, 1}, {4, 12}}};
  s.plan = {round, round};
  s.decision = "the ranking score and the validation accuracy of the first 40 trials at 1 epoch(s) agree with "
               "Kendall tau -0.10 (< 0.2): rounds of 40 trials whose best 4 train on to 12 epochs";
  s.plan_name = "rounds of 40 trials whose best 4 train on to 12 epochs";  // the scheduler's chosen_plan_name
  s.jobs = s.epochs_trained = 40;
  cb.on_result(r, s);
  s.jobs = s.epochs_trained = 41;
  cb.on_result(r, s);
  const auto text = read_all(out);
  const std::string now =
      "plan: now 80 configurations, 88 jobs, 168 epochs (top-k-auto: rounds of 40 trials whose best 4 train on to 12 "
      "epochs)\n";
  EXPECT_NE(text.find(now), std::string::npos) << text;
  EXPECT_EQ(text.find(now), text.rfind(now)) << "said once: " << text;
  EXPECT_NE(text.find("job 40/88, epochs 40/168"), std::string::npos) << text;
  EXPECT_NE(text.find("job 41/88, epochs 41/168"), std::string::npos) << text;
  std::fclose(out);
}

TEST(Console, NoNewPlanLineWhenTheChosenPlanIsTheOneCounted) {
  const auto o = top_k_auto(1);
  std::FILE* out = std::tmpfile();
  ASSERT_NE(out, nullptr);
  ConsoleReporter reporter(o, 1, 0, out);
  study::TrialResult r;
  r.budget_epochs = 1;
  r.state = sched::TrialState::kComplete;
  study::StudySummary s;
  s.plan = {sched::BracketPlan{0, {{57, 1}, {3, 12}}}};
  s.decision = "... (>= 0.2): the one-epoch top-K's rounds";
  s.jobs = s.epochs_trained = 40;
  reporter.callbacks().on_result(r, s);
  const auto text = read_all(out);
  EXPECT_EQ(text.find("plan: now"), std::string::npos) << text;
  EXPECT_NE(text.find("job 40/60, epochs 40/90"), std::string::npos) << text;
  std::fclose(out);
}

}  // namespace
}  // namespace fhist::report
