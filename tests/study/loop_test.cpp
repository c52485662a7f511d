// The search loop (scheduler + sampler + executor + journal, with replay and resume) driven by a fake objective:
// nothing trains, so each test runs in milliseconds. Promotions follow the scores, failures are data, the thread
// executor gives the inline results, and an interrupt or a fatal error followed by a resume ends where an
// uninterrupted search ends, with no epoch recorded twice.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include "core/errors.hpp"
#include "store/trial_store.hpp"
#include "study/study.hpp"
#include "test_study.hpp"
#include "test_util.hpp"
#include "test_util.hpp"

namespace fhist::study {
namespace {

// Scores from the configuration alone: a trial's accuracy after e epochs rises with e and peaks at lr = 0.05.
// Trials in `fail` fail and those in `diverge` diverge; the job numbered `stop_at` (0-based, counted by this object)
// ends the run: with `fatal` by an EnvironmentError, else as an interrupt (it raises the flag `interrupt` reads).
class FakeObjective : public exec::Objective {
 public:
  FakeObjective(exec::EpochSink& journal, std::set<std::int64_t> fail = {}, std::set<std::int64_t> diverge = {},
                int stop_at = -1, bool fatal = false)
      : journal_(journal), fail_(std::move(fail)), diverge_(std::move(diverge)), stop_at_(stop_at), fatal_(fatal) {}

  static double accuracy(const space::Config& c, std::int64_t epoch) {
    return 0.9 - 0.1 * std::abs(std::log10(c.get_double("lr") / 0.05)) - 0.3 / static_cast<double>(epoch);
  }

  exec::Outcome run(const sched::Job& job, const space::Config& config, const exec::Worker&) override {
    if (jobs_++ == stop_at_) {
      if (fatal_) throw EnvironmentError("disk full (fake)");
      interrupted = true;
      throw exec::Cancelled{};
    }
    exec::Outcome o;
    o.trial = job.trial;
    o.bracket = job.bracket;
    o.rung = job.rung;
    o.budget_epochs = job.budget_epochs;
    if (fail_.count(job.trial)) {
      o.state = sched::TrialState::kFailed;
      o.score = -INFINITY;
      o.message = "fake failure";
      return o;
    }
    for (std::int64_t e = journal_.recorded(job.trial) + 1; e <= job.budget_epochs; ++e) {
      journal_.add(job.trial, e, {{"original_val_acc", accuracy(config, e)}, {"train_loss", 1.0 / e}});
    }
    o.value = accuracy(config, job.budget_epochs);
    o.state = diverge_.count(job.trial) ? sched::TrialState::kDiverged : sched::TrialState::kComplete;
    o.score = o.state == sched::TrialState::kComplete ? o.value : -INFINITY;
    return o;
  }

  // The loop calls release on its own thread: no lock needed.
  void release(std::int64_t trial) override { ++released[trial]; }

  static inline std::atomic<bool> interrupted{false};
  static inline std::map<std::int64_t, int> released;  // trial -> release calls

 private:
  exec::EpochSink& journal_;
  std::set<std::int64_t> fail_, diverge_;
  std::atomic<int> jobs_{0};
  int stop_at_;
  bool fatal_;
};

StudyOptions hyperband(int workers = 1) {
  auto o = fhist::testing::hyperband_options("original", 1, 9, 3, 11);
  o.workers = workers;
  return o;
}

using Result = std::tuple<std::int64_t, int, int, std::int64_t, double, std::string>;  // trial .. score, state

std::vector<Result> results(const std::string& journal) {
  auto store = store::open_sqlite_store_readonly(journal);
  std::vector<Result> out;
  for (const auto& e : store->events()) {
    if (e.kind == "result") out.emplace_back(e.trial, e.bracket, e.rung, e.budget_epochs, e.score, e.state);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::size_t epoch_rows(const std::string& journal, bool* unique) {
  auto store = store::open_sqlite_store_readonly(journal);
  std::set<std::pair<std::int64_t, std::int64_t>> seen;
  const auto rows = store->epochs();
  for (const auto& r : rows) seen.insert({r.trial, r.epoch});
  *unique = seen.size() == rows.size();
  return rows.size();
}

MakeObjective fake(std::set<std::int64_t> fail = {}, std::set<std::int64_t> diverge = {}, int stop_at = -1,
                   bool fatal = false) {
  return [=](const ObjectiveContext& ctx) {
    return std::make_unique<FakeObjective>(*ctx.sink, fail, diverge, stop_at, fatal);
  };
}

Callbacks interruptible() {
  FakeObjective::interrupted = false;
  Callbacks cb;
  cb.interrupt = [] { return FakeObjective::interrupted.load(); };
  return cb;
}

TEST(StudyLoop, HyperBandPromotesTheBestScoresAndFailuresAreData) {
  testing::TempDir dir;
  FakeObjective::released.clear();
  const auto s = run_study(hyperband(), dir.str("j.db"), fake({2}, {3}));
  const auto r = results(dir.str("j.db"));
  ASSERT_EQ(r.size(), 22u);  // the plan for 1..9 eta 3: 17 configurations, 22 jobs
  EXPECT_EQ(s.trials, 17);
  // Every trial is released once, when the scheduler is done with it (its checkpoint may go).
  ASSERT_EQ(FakeObjective::released.size(), 17u);
  for (const auto& [trial, calls] : FakeObjective::released) EXPECT_EQ(calls, 1) << "trial " << trial;
  bool unique = false;
  EXPECT_EQ(static_cast<std::int64_t>(epoch_rows(dir.str("j.db"), &unique)), s.epochs_trained);
  EXPECT_TRUE(unique);
  // Within each bracket and rung, every promoted trial scored at least as well as every trial left behind.
  std::map<std::pair<int, int>, std::vector<Result>> rungs;
  std::map<std::int64_t, std::int64_t> reached;
  for (const auto& x : r) {
    rungs[{std::get<1>(x), std::get<2>(x)}].push_back(x);
    reached[std::get<0>(x)] = std::max(reached[std::get<0>(x)], std::get<3>(x));
  }
  for (const auto& [key, list] : rungs) {
    double worst_promoted = INFINITY, best_left = -INFINITY;
    for (const auto& x : list) {
      if (reached[std::get<0>(x)] > std::get<3>(x)) {
        worst_promoted = std::min(worst_promoted, std::get<4>(x));
      } else {
        best_left = std::max(best_left, std::get<4>(x));
      }
    }
    EXPECT_GE(worst_promoted, best_left) << "bracket " << key.first << " rung " << key.second;
  }
  const std::map<std::int64_t, std::string> states = {{2, "failed"}, {3, "diverged"}};
  for (const auto& x : r) {
    const auto it = states.find(std::get<0>(x));
    EXPECT_EQ(std::get<5>(x), it == states.end() ? "complete" : it->second) << "trial " << std::get<0>(x);
  }
  EXPECT_EQ(reached.at(2), 1);  // failed in bracket 2's first rung: never promoted
  ASSERT_TRUE(s.best);
  EXPECT_EQ(s.best->budget_epochs, 9);
}

TEST(StudyLoop, ThreadsGiveTheInlineResults) {
  testing::TempDir dir;
  const auto a = run_study(hyperband(1), dir.str("a.db"), fake({4}));
  const auto b = run_study(hyperband(3), dir.str("b.db"), fake({4}));
  EXPECT_EQ(results(dir.str("a.db")), results(dir.str("b.db")));
  ASSERT_TRUE(a.best && b.best);
  EXPECT_EQ(a.best->trial, b.best->trial);
  EXPECT_EQ(b.worker_busy_seconds.size(), 3u);
}

// A program's own objective says so in the journal (objective custom, named), so reports do not describe fhist's
// default network and data, and the commands that would train those instead can refuse it.
TEST(StudyLoop, AProgramsOwnObjectiveIsNamedInItsJournal) {
  fhist::testing::TempDir dir;
  auto o = hyperband();
  o.objective = "custom";
  o.objective_options = {{"name", "a made-up curve"}};
  run_study(o, dir.str("own.db"), fake());
  const auto stored = journal_options(dir.str("own.db"));
  EXPECT_EQ(stored.objective, "custom");
  EXPECT_EQ(objective_text(stored), "your objective 'a made-up curve'");
  o.objective_options = nlohmann::json::object();
  EXPECT_EQ(objective_text(o), "your own objective (C++)");
  o.objective = "train";
  EXPECT_EQ(objective_text(o), "resnet18 on fashion-mnist (8000 train / 2000 val)");
  o.objective = "mine";
  FHIST_EXPECT_INPUT_ERROR(o.validate(), "--objective 'mine': expected train, table or command");
}

// The default search is top-k-auto; its ranking is the hedged tse-ema+fh where fhist's trainer (or a table) gives
// the network's features, tse-ema where it does not (a user's loop), for another metric and for the algorithms
// whose rungs the hedge did not help (decision record 0019). The journal stores what the default resolved to.
TEST(StudyLoop, TheDefaultRankingDependsOnWhatTrainsAndOnTheAlgorithm) {
  StudyOptions o;
  EXPECT_EQ(o.algo, "top-k-auto");
  EXPECT_EQ(o.default_estimator(), "tse-ema+fh");
  o.objective = "table";
  EXPECT_EQ(o.default_estimator(), "tse-ema+fh");
  o.algo = "top-k";
  EXPECT_EQ(o.default_estimator(), "tse-ema+fh");
  for (const std::string algo : {"hyperband", "asha", "bohb", "sh", "random"}) {
    o.algo = algo;
    EXPECT_EQ(o.default_estimator(), "tse-ema") << algo;
    EXPECT_NO_THROW(o.validate()) << algo;  // asha refuses a hedge, so its default is not one
  }
  o.algo = "top-k-auto";
  o.metric = "val_loss";
  o.direction = "minimize";
  EXPECT_EQ(o.default_estimator(), "tse-ema");
  o.metric = "val_acc";
  o.direction.clear();
  for (const std::string objective : {"command", "ask-tell", "custom"}) {
    o.objective = objective;
    EXPECT_EQ(o.default_estimator(), "tse-ema") << objective;
  }
  o.estimator = "fh";
  o.resolve_defaults();
  EXPECT_EQ(o.estimator, "fh");  // a given estimator stays

  fhist::testing::TempDir dir;
  StudyOptions custom;
  custom.objective = "custom";
  custom.sched.max_budget = 9;
  const auto sum = run_study(custom, dir.str("default.db"), fake());
  EXPECT_TRUE(sum.best);
  const auto stored = journal_options(dir.str("default.db"));
  EXPECT_EQ(stored.algo, "top-k-auto");
  EXPECT_EQ(stored.estimator, "tse-ema");
}

TEST(StudyLoop, InterruptThenResumeEndsAsAnUninterruptedSearch) {
  testing::TempDir dir;
  const auto straight = run_study(hyperband(), dir.str("straight.db"), fake());
  for (int workers : {1, 2}) {
    const auto path = dir.str("cut" + std::to_string(workers) + ".db");
    const auto cut = run_study(hyperband(workers), path, fake({}, {}, 9), interruptible());
    EXPECT_TRUE(cut.interrupted);
    EXPECT_LT(results(path).size(), 22u);
    const auto resumed = resume_study(path, fake());
    EXPECT_FALSE(resumed.interrupted);
    EXPECT_EQ(results(path), results(dir.str("straight.db"))) << workers << " worker(s)";
    ASSERT_TRUE(resumed.best);
    EXPECT_EQ(resumed.best->trial, straight.best->trial);
    bool unique = false;
    EXPECT_EQ(epoch_rows(path, &unique), epoch_rows(dir.str("straight.db"), &unique));
    EXPECT_TRUE(unique);
  }
}

TEST(StudyLoop, AFatalErrorStopsTheSearchAndAResumeFinishesIt) {
  testing::TempDir dir;
  run_study(hyperband(), dir.str("straight.db"), fake());
  const auto path = dir.str("fatal.db");
  EXPECT_THROW(run_study(hyperband(), path, fake({}, {}, 5, true)), EnvironmentError);
  EXPECT_EQ(results(path).size(), 5u);  // the five jobs before it are kept
  resume_study(path, fake());
  EXPECT_EQ(results(path), results(dir.str("straight.db")));
}

std::int64_t trials_in(const std::string& journal) {
  return static_cast<std::int64_t>(store::open_sqlite_store_readonly(journal)->trials().size());
}

// --max-trials: no trial is created past the cap, the run says so, and resumes with a larger cap (or none) end as the
// uncapped search: the cap changes when the search stops, never what it does.
TEST(StudyLoop, MaxTrialsStopsNewTrialsAndAResumeGoesOnToTheUncappedSearch) {
  testing::TempDir dir;
  run_study(hyperband(), dir.str("straight.db"), fake());  // 17 trials, 22 jobs
  for (int workers : {1, 2}) {
    const auto path = dir.str("capped" + std::to_string(workers) + ".db");
    Callbacks cb;
    cb.max_trials = 5;  // inside the first bracket's 9 first-rung trials
    const auto capped = run_study(hyperband(workers), path, fake(), cb);
    EXPECT_TRUE(capped.stopped);
    EXPECT_TRUE(capped.trial_limit);
    EXPECT_EQ(trials_in(path), 5);
    EXPECT_EQ(results(path).size(), 5u);
    cb.max_trials = 12;  // the first bracket (9 trials, its promotions), then 3 of the second's 5
    const auto more = resume_study(path, fake(), cb);
    EXPECT_TRUE(more.trial_limit);
    EXPECT_EQ(trials_in(path), 12);
    EXPECT_EQ(results(path).size(), 9u + 3u + 1u + 3u);
    const auto rest = resume_study(path, fake());
    EXPECT_FALSE(rest.stopped);
    EXPECT_FALSE(rest.trial_limit);
    EXPECT_EQ(results(path), results(dir.str("straight.db"))) << workers << " worker(s)";
  }
}

// ASHA under the cap still promotes the trials it has: the cap stops new trials, not the search's trials.
TEST(StudyLoop, UnderMaxTrialsAshaStillPromotes) {
  testing::TempDir dir;
  auto o = hyperband();
  o.algo = "asha";
  o.sched.n_configs = 9;
  Callbacks cb;
  cb.max_trials = 3;
  const auto path = dir.str("asha.db");
  const auto s = run_study(o, path, fake(), cb);
  EXPECT_TRUE(s.trial_limit);
  EXPECT_EQ(trials_in(path), 3);
  // Three first-rung results, then the best of them promoted to 3 epochs after the third trial was created.
  const auto r = results(path);
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(std::count_if(r.begin(), r.end(), [](const Result& x) { return std::get<3>(x) == 3; }), 1);
  cb.max_trials = -1;
  EXPECT_THROW(resume_study(path, fake(), cb), InputError);
}

}  // namespace
}  // namespace fhist::study
