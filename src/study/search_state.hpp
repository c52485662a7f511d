#pragma once
// Inside fhist::study: the state of a search, shared by the executor loop (fhist search, run_study, resume_study) and
// ask-and-tell (fhist::Study): sampler, scheduler, the journal, the replay of a journal into them, the next job and
// the recording of a result. Not thread-safe: one caller at a time (the loop's thread, or Study's lock).
#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>

#include "search/sampler.hpp"
#include "store/trial_store.hpp"
#include "study/study.hpp"

namespace fhist::study::detail {

// Epoch rows go to the journal here (an MPI worker's go to rank 0 instead). Attached to the store once it is open: a
// new search builds its objective before the journal exists. Thread-safe (the store is).
class JournalSink final : public exec::EpochSink {
 public:
  void attach(store::TrialStore& store);
  std::int64_t recorded(std::int64_t trial) override;
  void add(std::int64_t trial, std::int64_t epoch, const nlohmann::json& record) override;
  std::int64_t epochs() const { return epochs_; }

 private:
  store::TrialStore* store_ = nullptr;
  std::atomic<std::int64_t> epochs_{0};  // rows in the journal's epochs table; workers add to it
};

class SearchState {
 public:
  // `replaying`: the store holds a journal to continue (its events are replayed now). `release` is called for each
  // trial the scheduler retires (its checkpoint may go), also during the replay.
  SearchState(StudyOptions options, space::SearchSpace space, std::unique_ptr<store::TrialStore> store,
              std::string journal, bool replaying, std::shared_ptr<const BenchmarkTable> table, JournalSink& sink,
              std::function<void(std::int64_t)> release);
  ~SearchState();

  // The next job: first those the journal left started and unreported, then the scheduler's (its start recorded
  // first). nullopt: none until a running job reports, or done().
  std::optional<sched::Job> next_job();
  // Records a finished job's result and feeds it to the scheduler and the sampler.
  void report(const TrialResult& r);
  bool done() const { return rerun_.empty() && scheduler_->done(); }
  // --max-trials: from now on, next_job() creates no trial once the journal holds `n` (0 = no cap); promotions of
  // the trials it holds go on. Not stored: a resume without it goes on to the end of the plan.
  // InputError for n < 0.
  void limit_trials(std::int64_t n);
  // The cap stopped a job that would have created a trial (the search is not done; a resume goes on).
  bool trial_limit_reached() const { return trial_limit_reached_; }
  std::int64_t trials() const { return static_cast<std::int64_t>(configs_.size()); }

  const StudyOptions& options() const { return o_; }
  const space::SearchSpace& space() const { return space_; }
  const std::string& journal() const { return journal_; }
  const space::Config& config(std::int64_t trial) const { return configs_.at(trial); }
  store::TrialStore& store() { return *store_; }
  StudySummary& summary() { return summary_; }
  const std::vector<std::string>& devices() const { return devices_; }

 private:
  sched::TrialId new_trial(int bracket);
  std::deque<sched::Job> replay();
  double original_at(std::int64_t trial, std::int64_t epoch) const;
  void apply_result(const TrialResult& r);

  StudyOptions o_;
  space::SearchSpace space_;
  std::unique_ptr<store::TrialStore> store_;
  std::string journal_;
  std::shared_ptr<const BenchmarkTable> table_;
  JournalSink& sink_;
  std::function<void(std::int64_t)> release_;
  std::vector<bool> table_used_;                    // table rows given to a trial so far
  std::unique_ptr<search::Sampler> sampler_;
  std::unique_ptr<sched::Scheduler> scheduler_;
  std::vector<std::unique_ptr<score::Estimator>> candidates_;  // --estimator auto: the scores it chooses among
  std::map<int, std::int64_t> first_budget_;                    // bracket -> the budget its new trials start at
  std::map<std::int64_t, store::TrialRow> recorded_;
  std::map<std::int64_t, space::Config> configs_;
  std::int64_t next_trial_ = 0;
  std::int64_t max_trials_ = 0;
  bool trial_limit_reached_ = false;
  StudySummary summary_;
  std::vector<std::string> devices_;
  std::deque<sched::Job> rerun_;                    // started in the journal, never reported: they run again
};

}  // namespace fhist::study::detail
