// Ask-and-tell: the same search as the executor loop (one job at a time: the same order; several jobs out from
// threads: the same results), resume after a crash with jobs out, and every misuse refused with a message.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "core/errors.hpp"
#include "store/trial_store.hpp"
#include "study/ask_tell.hpp"
#include "study/epoch_record.hpp"
#include "test_study.hpp"
#include "test_util.hpp"

namespace fhist {
namespace {

double accuracy(const space::Config& c, std::int64_t epoch) {
  return 0.9 - 0.1 * std::abs(std::log10(c.get_double("lr") / 0.05)) - 0.3 / static_cast<double>(epoch);
}
double loss(const space::Config& c, std::int64_t epoch) { return (1.0 - accuracy(c, epoch)) * 2.0; }

class CurveObjective : public exec::Objective {
 public:
  explicit CurveObjective(exec::EpochSink& sink) : sink_(sink) {}
  exec::Outcome run(const sched::Job& job, const space::Config& config, const exec::Worker&) override {
    score::TrialHistory h;
    h.final_epoch = 9;
    for (std::int64_t e = 1; e <= job.budget_epochs; ++e) {
      study::EpochRecord r{e, loss(config, e), accuracy(config, e)};
      auto row = study::epoch_row(r, h, 0.0);
      if (e > sink_.recorded(job.trial)) sink_.add(job.trial, e, row);
    }
    exec::Outcome o;
    o.trial = job.trial;
    o.bracket = job.bracket;
    o.rung = job.rung;
    o.budget_epochs = job.budget_epochs;
    o.value = accuracy(config, job.budget_epochs);
    o.score = score::make_estimator("tse-ema")->score(h);
    o.state = sched::TrialState::kComplete;
    return o;
  }

 private:
  exec::EpochSink& sink_;
};

study::StudyOptions options() { return fhist::testing::hyperband_options("tse-ema", 1, 9, 3, 4); }

using Result = std::tuple<std::int64_t, std::int64_t, int, std::int64_t, double, std::string>;  // seq order kept

std::vector<Result> results(const std::string& journal, bool sorted) {
  auto store = store::open_sqlite_store_readonly(journal);
  std::vector<Result> out;
  for (const auto& e : store->events()) {
    if (e.kind == "result") out.emplace_back(sorted ? 0 : e.seq, e.trial, e.rung, e.budget_epochs, e.score, e.state);
  }
  if (sorted) std::sort(out.begin(), out.end());
  return out;
}

void train(Study& s, const StudyJob& job, std::int64_t upto = -1) {
  for (auto e = job.start_epoch; e <= (upto < 0 ? job.budget_epochs : upto); ++e) {
    s.report(job, {e, loss(job.config, e), accuracy(job.config, e)});
  }
}

// Asks, trains and tells every job, one at a time, until the search is done.
void run_to_end(Study& s) {
  while (auto job = s.ask()) {
    train(s, *job);
    s.tell(*job);
  }
}

TEST(AskTell, OneJobAtATimeIsTheExecutorLoopsSearch) {
  fhist::testing::TempDir dir;
  const auto loop = study::run_study(options(), dir.str("loop.db"), [](const study::ObjectiveContext& ctx) {
    return std::make_unique<CurveObjective>(*ctx.sink);
  });
  auto s = Study::create(options(), dir.str("ask.db"));
  int jobs = 0;
  while (auto job = s->ask()) {
    EXPECT_EQ(s->jobs_out(), 1);
    EXPECT_EQ(job->max_budget, 9);
    EXPECT_TRUE(std::filesystem::is_directory(job->trial_dir));
    train(*s, *job);
    const auto r = s->tell(*job);
    EXPECT_EQ(r.state, sched::TrialState::kComplete);
    ++jobs;
  }
  EXPECT_TRUE(s->done());
  EXPECT_EQ(jobs, 22);
  EXPECT_EQ(results(dir.str("loop.db"), false), results(dir.str("ask.db"), false));
  const auto sum = s->summary();
  ASSERT_TRUE(sum.best && loop.best);
  EXPECT_EQ(sum.best->trial, loop.best->trial);
  EXPECT_EQ(sum.epochs_trained, loop.epochs_trained);
  EXPECT_EQ(study::summarize_journal(dir.str("ask.db")).best->trial, loop.best->trial);
  EXPECT_EQ(study::journal_options(dir.str("ask.db")).objective, "ask-tell");
}

TEST(AskTell, SeveralJobsOutFromThreadsGiveTheSameResults) {
  fhist::testing::TempDir dir;
  auto a = Study::create(options(), dir.str("a.db"));
  run_to_end(*a);
  auto b = Study::create(options(), dir.str("b.db"));
  std::vector<std::thread> workers;
  std::atomic<int> max_out{0};
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&] {
      while (!b->done()) {
        auto job = b->ask();
        if (!job) {  // every startable job is out: wait for the others to tell
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
          continue;
        }
        // A job trains in microseconds here: hold it (up to 0.5 s) until another is out, so jobs do overlap.
        for (int i = 0; i < 500 && b->jobs_out() < 2 && max_out < 2; ++i) {
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        max_out = std::max<int>(max_out, static_cast<int>(b->jobs_out()));
        train(*b, *job);
        b->tell(*job);
      }
    });
  }
  for (auto& t : workers) t.join();
  EXPECT_EQ(results(dir.str("a.db"), true), results(dir.str("b.db"), true));
  EXPECT_GT(max_out.load(), 1);
}

TEST(AskTell, ReopeningResumesJobsThatWereOut) {
  fhist::testing::TempDir dir;
  {
    auto s = Study::create(options(), dir.str("straight.db"));
    run_to_end(*s);
  }
  std::int64_t cut_trial = -1;
  {
    auto s = Study::create(options(), dir.str("cut.db"));
    for (int i = 0; i < 5; ++i) {
      auto job = s->ask();
      train(*s, *job);
      s->tell(*job);
    }
    auto first = s->ask();   // out, two of its epochs reported...
    auto second = s->ask();  // ...and one never started: the process dies here
    ASSERT_TRUE(first && second);
    cut_trial = first->trial;
    train(*s, *first, 0);
  }
  auto s = Study::open(dir.str("cut.db"));
  auto again = s->ask();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->trial, cut_trial);
  EXPECT_EQ(again->start_epoch, 1);
  train(*s, *again);
  s->tell(*again);
  run_to_end(*s);
  EXPECT_EQ(results(dir.str("straight.db"), true), results(dir.str("cut.db"), true));
}

TEST(AskTell, PromotedJobsStartAfterTheirReportedEpochs) {
  fhist::testing::TempDir dir;
  auto s = Study::create(options(), dir.str("j.db"));
  std::set<std::int64_t> starts;
  while (auto job = s->ask()) {
    starts.insert(job->start_epoch);
    if (job->rung > 0) {
      EXPECT_GT(job->start_epoch, 1);
    }
    train(*s, *job);
    s->tell(*job);
  }
  EXPECT_EQ(starts, (std::set<std::int64_t>{1, 2, 4}));
}

// The default search (top-k-auto) from a loop that reports losses and accuracies only: ranked by tse-ema, since the
// hedged tse-ema+fh that fhist's trainer defaults to needs features; the gate waits for its sample, then decides.
TEST(AskTell, TheDefaultSearchRanksAUsersLoopByTseEma) {
  fhist::testing::TempDir dir;
  study::StudyOptions o;
  o.sched.min_budget = 1;
  o.sched.max_budget = 9;
  auto s = Study::create(o, dir.str("default.db"));
  run_to_end(*s);
  EXPECT_TRUE(s->done());
  const auto stored = study::journal_options(dir.str("default.db"));
  EXPECT_EQ(stored.algo, "top-k-auto");
  EXPECT_EQ(stored.estimator, "tse-ema");
  // The made-up curve's first epoch ranks as its ninth does: the gate takes top-K's round, 45 one-epoch trials and
  // the best 3 trained on to 9 epochs, HyperBand's 69 epochs.
  EXPECT_EQ(s->summary().trials, 45);
  EXPECT_EQ(s->summary().epochs_trained, 69);
}

TEST(AskTell, MisuseIsRefusedWithAMessage) {
  fhist::testing::TempDir dir;
  auto o = options();
  o.estimator = "fh";
  FHIST_EXPECT_INPUT_ERROR(Study::create(o, dir.str("fh.db")), "--estimator fh needs the network's features");
  EXPECT_FALSE(std::filesystem::exists(dir.str("fh.db")));
  auto s = Study::create(options(), dir.str("j.db"));
  FHIST_EXPECT_INPUT_ERROR(Study::create(options(), dir.str("j.db")), "already exists");
  auto job = s->ask();
  ASSERT_TRUE(job);
  StudyJob unknown = *job;
  unknown.trial = 999;
  FHIST_EXPECT_INPUT_ERROR(s->tell(unknown), "tell: trial 999 has no job of 1 epoch out");
  FHIST_EXPECT_INPUT_ERROR(s->report(*job, {2, 0.5, 0.5}), "epoch 2 after epoch 0");
  FHIST_EXPECT_INPUT_ERROR(s->report(*job, {1, 0.5, 75.0}), "a percentage?");
  FHIST_EXPECT_INPUT_ERROR(s->report(*job, {1, std::nullopt, 0.5}), "no \"train_loss\", which --estimator tse-ema");
  FHIST_EXPECT_INPUT_ERROR(s->report(*job, {1, 0.5, std::nullopt}), "no \"val_acc\"");
  FHIST_EXPECT_INPUT_ERROR(s->tell(*job), "has 0 of its 1 epoch reported");
  train(*s, *job);
  FHIST_EXPECT_INPUT_ERROR(s->report(*job, {2, 0.5, 0.5}), "beyond the job's budget of 1 epoch");
  s->tell(*job);
  FHIST_EXPECT_INPUT_ERROR(s->report(*job, {1, 0.5, 0.5}), "report: trial 0's job for 1 epoch was told already");
  FHIST_EXPECT_INPUT_ERROR(s->tell(*job), "tell: trial 0's job for 1 epoch was told already");
  // A failed job: recorded with its reason, never promoted.
  auto bad = s->ask();
  const auto r = s->tell_failed(*bad, "CUDA out of memory");
  EXPECT_EQ(r.state, sched::TrialState::kFailed);
  auto store = store::open_sqlite_store_readonly(dir.str("j.db"));
  EXPECT_EQ(store->trial(bad->trial)->message, "CUDA out of memory");
  // A journal of fhist search is resumed by fhist search.
  study::run_study(options(), dir.str("loop.db"), [](const study::ObjectiveContext& ctx) {
    return std::make_unique<CurveObjective>(*ctx.sink);
  });
  FHIST_EXPECT_INPUT_ERROR(Study::open(dir.str("loop.db")), "continue it with fhist search --resume");
  FHIST_EXPECT_INPUT_ERROR(Study::open(dir.str("none.db")), "no journal at");
}

// A loop's own metric, minimized (a regression loss): the incumbent is the trial with the lowest value at the full
// budget, "original" ranks by the metric negated, and accuracy-only scores stay out.
TEST(AskTell, AMinimizedMetricOfTheLoopsOwnPicksTheLowest) {
  fhist::testing::TempDir dir;
  auto o = options();
  o.estimator = "original";
  o.metric = "val_mse";
  o.direction = "minimize";
  auto s = Study::create(o, dir.str("mse.db"));
  // A curve whose ranking by the metric is the reverse of the accuracy's: maximizing would pick the worst.
  const auto mse = [](const space::Config& c, std::int64_t e) { return accuracy(c, e); };
  std::map<std::int64_t, double> final_mse;
  while (auto job = s->ask()) {
    for (auto e = job->start_epoch; e <= job->budget_epochs; ++e) {
      study::EpochRecord r;
      r.epoch = e;
      r.train_loss = loss(job->config, e);
      r.metrics = {{"val_mse", mse(job->config, e)}};
      s->report(*job, r);
    }
    const auto told = s->tell(*job);
    EXPECT_DOUBLE_EQ(told.score, -mse(job->config, job->budget_epochs));  // original: the metric, negated
    if (job->budget_epochs == 9) final_mse[job->trial] = mse(job->config, 9);
  }
  ASSERT_GE(final_mse.size(), 2u);
  const auto lowest = std::min_element(final_mse.begin(), final_mse.end(),
                                       [](const auto& a, const auto& b) { return a.second < b.second; });
  const auto sum = s->summary();
  ASSERT_TRUE(sum.best.has_value());
  EXPECT_EQ(sum.best->trial, lowest->first);
  EXPECT_DOUBLE_EQ(study::metric_value(s->options(), sum.best->value), lowest->second);
  EXPECT_EQ(study::metric_text(s->options(), sum.best->value), fmt::format("val_mse {:.4g}", lowest->second));
  // The row holds the metric as reported; acc-tse and curve, which need an accuracy, are null.
  auto store = store::open_sqlite_store_readonly(dir.str("mse.db"));
  const auto row = store->epochs(lowest->first).back().record;
  EXPECT_DOUBLE_EQ(row.at("metric_value").get<double>(), lowest->second);
  EXPECT_TRUE(row.at("minimize").get<bool>());
  EXPECT_TRUE(row.at("original_val_acc").is_null());
  double lowest_so_far = INFINITY;  // best-acc: the best value so far, here the lowest of every epoch
  for (const auto& e : store->epochs(lowest->first)) {
    lowest_so_far = std::min(lowest_so_far, e.record.at("metric_value").get<double>());
  }
  EXPECT_LT(lowest_so_far, lowest->second);  // the curve's metric rises with the epoch: not its last value
  EXPECT_DOUBLE_EQ(row.at("scores").at("best-acc").get<double>(), -lowest_so_far);
  EXPECT_TRUE(row.at("scores").at("curve").is_null());
  EXPECT_TRUE(row.at("scores").at("acc-tse").is_null());
  // Reopened, the journal's own summary agrees.
  s.reset();
  EXPECT_EQ(study::summarize_journal(dir.str("mse.db")).best->trial, lowest->first);
  // A record without the metric is refused by name; val_acc is no longer required.
  auto again = Study::create(o, dir.str("mse2.db"));
  const auto job = again->ask();
  study::EpochRecord bare;
  bare.epoch = 1;
  bare.train_loss = 1.0;
  bare.val_acc = 0.5;
  FHIST_EXPECT_INPUT_ERROR(again->report(*job, bare), "no \"val_mse\"");
  bare.metrics = {{"val_mse", "low"}};
  FHIST_EXPECT_INPUT_ERROR(again->report(*job, bare), "\"val_mse\" must be a number");
}

TEST(AskTell, MetricAndDirectionAreChecked) {
  fhist::testing::TempDir dir;
  auto o = options();
  o.metric = "val_mse";
  FHIST_EXPECT_INPUT_ERROR(Study::create(o, dir.str("a.db")), "--direction maximize or --direction minimize");
  o.direction = "down";
  FHIST_EXPECT_INPUT_ERROR(Study::create(o, dir.str("a.db")), "--direction 'down': expected maximize or minimize");
  o.direction = "minimize";
  o.estimator = "acc-tse";
  FHIST_EXPECT_INPUT_ERROR(Study::create(o, dir.str("a.db")), "--estimator acc-tse needs an accuracy");
  o.estimator = "tse-ema";
  o.metric = "train_loss";
  FHIST_EXPECT_INPUT_ERROR(Study::create(o, dir.str("a.db")), "not a measure of the trained network");
  o.metric = "val_acc";
  FHIST_EXPECT_INPUT_ERROR(Study::create(o, dir.str("a.db")), "validation accuracy is maximized");
  // fhist's own trainer measures val_acc and val_loss, and its tables val_acc only.
  auto t = options();
  t.metric = "val_loss";
  t.direction = "minimize";
  t.validate();
  t.table = "t.db";
  FHIST_EXPECT_INPUT_ERROR(t.validate(), "its tables and replays val_acc only");
  t.table.clear();
  t.metric = "val_mse";
  FHIST_EXPECT_INPUT_ERROR(t.validate(), "another metric is for your own loop");
  EXPECT_FALSE(std::filesystem::exists(dir.str("a.db")));
  // A journal from before --metric reads as val_acc, maximized.
  auto j = options().to_json();
  j.erase("metric");
  j.erase("direction");
  const auto back = study::StudyOptions::from_json(j);
  EXPECT_EQ(back.metric, "val_acc");
  EXPECT_FALSE(back.minimize());
}

// Issue 23 part 1: the trainer's settings are its own JSON block, a user's loop stores none, and a journal from before
// the split (the settings at the top of the record, as the committed tables hold them) reads the same.
TEST(StudyOptionsJson, TheTrainersSettingsAreItsOwnBlock) {
  study::StudyOptions o;
  o.training.model = "cnn";
  o.training.lr = 0.05;
  o.training.train_size = 1000;
  o.training.data_options = {{"target", "y"}};
  const auto j = o.to_json();
  ASSERT_TRUE(j.contains("training"));
  EXPECT_FALSE(j.contains("model"));
  EXPECT_FALSE(j.contains("lr"));
  EXPECT_EQ(j["training"]["model"], "cnn");
  const auto back = study::StudyOptions::from_json(j);
  EXPECT_EQ(back.training.to_json(), o.training.to_json());
  EXPECT_EQ(back.to_json(), j);
  auto flat = j;
  flat.erase("training");
  flat.update(j["training"]);
  EXPECT_EQ(study::StudyOptions::from_json(flat).training.to_json(), o.training.to_json());
  EXPECT_EQ(&study::training_block(flat), &flat);
  EXPECT_EQ(study::training_block(j)["lr"], 0.05);
  study::StudyOptions loop;
  loop.objective = "ask-tell";
  EXPECT_FALSE(loop.to_json().contains("training"));
  EXPECT_EQ(study::StudyOptions::from_json(loop.to_json()).to_json(), loop.to_json());
  // Each checks its own: the trainer's settings only where fhist trains.
  loop.training.window = 0;
  EXPECT_NO_THROW(loop.validate());
  o.training.window = 0;
  FHIST_EXPECT_INPUT_ERROR(o.validate(), "--window must be >= 1");
}

}  // namespace
}  // namespace fhist
