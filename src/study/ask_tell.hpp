#pragma once
// Ask-and-tell: your own training loop drives a search. fhist keeps what it adds to the loop: the HyperBand / BOHB /
// ASHA / SH / random schedule with promotion by a ranking score, every score recorded every epoch, the SQLite journal
// with exact resume, `fhist report` and its HTML page. No Torch.
//
//   auto study = fhist::Study::create(options, "runs/mine.db");      // or fhist::Study::open("runs/mine.db")
//   while (auto job = study->ask()) {                                // nullopt: done (or every job is out)
//     for (auto e = job->start_epoch; e <= job->budget_epochs; ++e) {
//       ... train epoch e of job->config, checkpoints in job->trial_dir ...
//       study->report(*job, {e, train_loss, val_acc});
//     }
//     study->tell(*job);                                              // or tell_failed(*job, "why")
//   }
//
// Thread-safe: several jobs may be out at once (ask on one thread, train each on its own). Reopening the journal
// resumes: jobs asked and never told are asked again, with start_epoch after the epochs already reported.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "exec/executor.hpp"
#include "space/space.hpp"
#include "study/epoch_record.hpp"
#include "study/study.hpp"

namespace fhist {

struct StudyJob {
  std::int64_t trial = 0;
  space::Config config;
  std::int64_t budget_epochs = 0;   // train up to this epoch, inclusive
  std::int64_t start_epoch = 1;     // the first epoch not yet reported (> 1: a promoted trial continues)
  std::int64_t max_budget = 0;      // the search's largest budget: lay a learning-rate schedule over it
  std::string trial_dir;            // an absolute folder of the trial's own (checkpoints), kept across its jobs
  std::uint64_t seed = 0;           // a seed for the trial, from the search's seed and the trial id
  int bracket = 0;
  int rung = 0;
};

class Study {
 public:
  // A new search in `journal` (InputError if it exists): options as for fhist search (space, algo, estimator,
  // budgets, seed); the objective is yours ("ask-tell" in the journal). InputError for an estimator that needs the
  // network's features, which a loop of yours does not report.
  static std::unique_ptr<Study> create(study::StudyOptions options, const std::string& journal);
  // Continues the search in `journal` (created by create).
  static std::unique_ptr<Study> open(const std::string& journal);
  ~Study();
  Study(const Study&) = delete;
  Study& operator=(const Study&) = delete;

  // The next job, or nullopt: the search is done (done()), or no job can start until one that is out is told.
  std::optional<StudyJob> ask();
  bool done() const;
  // --max-trials for your loop: ask() creates no trial once the journal holds `n` (0 = no cap); promotions of those
  // go on. Not stored: a reopened study has no cap until you set one.
  void limit_trials(std::int64_t n);
  // The cap holds the search: nothing is out, it is not done, and ask() declined to create a trial beyond the cap.
  bool trial_limit_reached() const;
  // The jobs asked and not yet told.
  std::int64_t jobs_out() const;
  // One epoch of `job`, in order from job.start_epoch up to job.budget_epochs; an epoch already reported is ignored
  // (a loop that restarts from an older checkpoint). InputError: a job that is not out (unknown, or already told),
  // an epoch out of order or beyond the budget, a record without the study's metric (val_acc unless options().metric
  // names another) or what the estimator ranks by.
  void report(const StudyJob& job, const study::EpochRecord& record);
  // The job trained every epoch of its budget: scored by the estimator, recorded, and the scheduler decides on it.
  // InputError if an epoch is missing. A non-finite score records the job as diverged.
  exec::Outcome tell(const StudyJob& job);
  // The job failed (an exception of your loop, out of memory): recorded as failed with `reason`; never promoted.
  exec::Outcome tell_failed(const StudyJob& job, const std::string& reason);
  // The running totals and the incumbent.
  study::StudySummary summary() const;
  const study::StudyOptions& options() const;

 private:
  struct Impl;
  explicit Study(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fhist
