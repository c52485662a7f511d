// Ask-and-tell (ask_tell.hpp) over the search state the executor loop uses too.
#include "study/ask_tell.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>
#include <set>

#include "core/errors.hpp"
#include "core/rng.hpp"
#include "core/text.hpp"
#include "space/catalog.hpp"
#include "study/journal.hpp"
#include "study/search_state.hpp"

namespace fhist {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Study::Impl {
  Impl(study::StudyOptions options, space::SearchSpace space, std::unique_ptr<store::TrialStore> store,
       const std::string& journal, bool replaying)
      : estimator(score::make_estimator(options.estimator)),
        needed(study::keys_needed(options.estimator, options.metric)),
        keep(options.keep_checkpoints),
        state(std::move(options), std::move(space), std::move(store), journal, replaying, nullptr, sink,
              [this, journal](std::int64_t trial) {
                if (!keep) study::clear_trial_dir(journal, trial);
              }) {}

  struct Out {
    StudyJob job;
    sched::Job scheduled;  // what the scheduler handed out: the outcome's trial, bracket, rung and budget
    Clock::time_point asked, last;
    score::TrialHistory history;  // the trial's epochs so far: read from the journal once, at ask
  };

  std::unique_ptr<score::Estimator> estimator;
  std::vector<std::string> needed;
  bool keep = false;
  study::detail::JournalSink sink;
  study::detail::SearchState state;
  mutable std::mutex mu;
  std::map<std::int64_t, Out> out;                           // trial -> its job that is out
  std::set<std::pair<std::int64_t, std::int64_t>> told;      // (trial, budget) told in this process

  Out& find(const StudyJob& job, const char* what) {
    const auto it = out.find(job.trial);
    if (it != out.end() && it->second.job.budget_epochs == job.budget_epochs) return it->second;
    if (told.count({job.trial, job.budget_epochs}) > 0) {
      throw InputError(fmt::format("{}: trial {}'s job for {} was told already; report and tell a job once, "
                                   "between ask and tell",
                                   what, job.trial, count_of(job.budget_epochs, "epoch")));
    }
    throw InputError(fmt::format("{}: trial {} has no job of {} out ({}): report and tell the jobs ask() "
                                 "gave",
                                 what, job.trial, count_of(job.budget_epochs, "epoch"),
                                 out.empty() ? std::string("none is out") : fmt::format("{} out", out.size())));
  }

  score::TrialHistory history(std::int64_t trial) {
    score::TrialHistory h;
    h.final_epoch = state.options().sched.max_budget;
    for (const auto& row : state.store().epochs(trial)) score::append_epoch(h, row.epoch, row.record);
    return h;
  }

  exec::Outcome finish(Out& o, exec::Outcome r) {
    r.seconds = std::chrono::duration<double>(Clock::now() - o.asked).count();
    told.insert({o.job.trial, o.job.budget_epochs});
    out.erase(o.job.trial);
    state.report(r);
    return r;
  }
};

Study::Study(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Study::~Study() = default;

std::unique_ptr<Study> Study::create(study::StudyOptions options, const std::string& journal) {
  options.objective = "ask-tell";
  options.executor = "inline";
  options.resolve_defaults();
  options.validate();
  study::keys_needed(options.estimator, options.metric);  // refuses fh & co. before the journal exists
  study::detail::refuse_existing(journal);
  auto space = space::load_space(options.space, options.training.flops_cap, options.training.width_mult);
  auto store = store::open_sqlite_store(journal, true);
  store->write_study(study::detail::study_record(options, space));
  return std::unique_ptr<Study>(new Study(std::make_unique<Impl>(std::move(options), std::move(space),
                                                                 std::move(store), journal, false)));
}

std::unique_ptr<Study> Study::open(const std::string& journal) {
  if (!fs::exists(journal)) throw InputError(fmt::format("no journal at {}", journal));
  study::detail::refuse_unstarted(journal);
  auto store = store::open_sqlite_store(journal, false);
  auto [options, space] = study::detail::read_definition(*store);
  if (options.objective != "ask-tell") {
    throw InputError(fmt::format("{} is a search fhist runs itself (objective {}): continue it with fhist search "
                                 "--resume --journal {}",
                                 journal, options.objective, journal));
  }
  return std::unique_ptr<Study>(
      new Study(std::make_unique<Impl>(std::move(options), std::move(space), std::move(store), journal, true)));
}

std::optional<StudyJob> Study::ask() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto& s = impl_->state;
  const auto job = s.next_job();
  if (!job) return std::nullopt;
  StudyJob j;
  j.trial = job->trial;
  j.config = s.config(job->trial);
  j.budget_epochs = job->budget_epochs;
  auto history = impl_->history(job->trial);
  j.start_epoch = history.epochs.empty() ? 1 : history.epochs.back().epoch + 1;
  j.max_budget = s.options().sched.max_budget;
  j.trial_dir = fs::absolute(study::trial_dir(s.journal(), job->trial)).string();
  j.seed = derive_seed(s.options().seed, Stream::kTrial, static_cast<std::uint64_t>(job->trial));
  j.bracket = job->bracket;
  j.rung = job->rung;
  std::error_code ec;
  fs::create_directories(j.trial_dir, ec);
  if (ec) throw EnvironmentError(fmt::format("trial {}: cannot create {}: {}", j.trial, j.trial_dir, ec.message()));
  const auto now = Clock::now();
  impl_->out[j.trial] = {j, *job, now, now, std::move(history)};
  return j;
}

bool Study::done() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->state.done() && impl_->out.empty();
}

void Study::limit_trials(std::int64_t n) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->state.limit_trials(n);
}

bool Study::trial_limit_reached() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->state.trial_limit_reached() && impl_->out.empty() && !impl_->state.done();
}

std::int64_t Study::jobs_out() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return static_cast<std::int64_t>(impl_->out.size());
}

void Study::report(const StudyJob& job, const study::EpochRecord& record) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto& o = impl_->find(job, "report");
  record.validate();
  const std::int64_t recorded = o.history.epochs.empty() ? 0 : o.history.epochs.back().epoch;
  if (record.epoch <= recorded) return;  // reported before (a loop restarted from an older checkpoint)
  if (record.epoch != recorded + 1) {
    throw InputError(fmt::format("report: trial {} epoch {} after epoch {}: report every epoch, in order, from the "
                                 "job's start_epoch",
                                 job.trial, record.epoch, recorded));
  }
  if (record.epoch > job.budget_epochs) {
    throw InputError(fmt::format("report: trial {} epoch {} is beyond the job's budget of {}", job.trial,
                                 record.epoch, count_of(job.budget_epochs, "epoch")));
  }
  const auto& options = impl_->state.options();
  record.check_has(impl_->needed, options.estimator);
  const auto now = Clock::now();
  auto row = study::epoch_row(record, o.history, std::chrono::duration<double>(now - o.last).count(), options.metric,
                              options.minimize());
  o.last = now;
  row["finished_at"] = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  try {
    impl_->sink.add(job.trial, record.epoch, row);
  } catch (...) {
    o.history.epochs.pop_back();  // not in the journal: not in the history either
    throw;
  }
}

exec::Outcome Study::tell(const StudyJob& job) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto& o = impl_->find(job, "tell");
  const std::int64_t recorded = o.history.epochs.empty() ? 0 : o.history.epochs.back().epoch;
  if (recorded < job.budget_epochs) {
    throw InputError(fmt::format("tell: trial {} has {} of its {} reported: report every epoch first, or "
                                 "tell_failed",
                                 job.trial, recorded, count_of(job.budget_epochs, "epoch")));
  }
  auto r = exec::Outcome::of(o.scheduled);
  study::score_outcome(r, o.history, *impl_->estimator, impl_->state.options().estimator);
  return impl_->finish(o, r);
}

exec::Outcome Study::tell_failed(const StudyJob& job, const std::string& reason) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto& o = impl_->find(job, "tell_failed");
  auto r = exec::Outcome::of(o.scheduled);
  r.state = sched::TrialState::kFailed;
  r.score = -std::numeric_limits<double>::infinity();
  r.message = reason.empty() ? "failed (no reason given)" : reason;
  return impl_->finish(o, r);
}

study::StudySummary Study::summary() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->state.summary();
}

const study::StudyOptions& Study::options() const { return impl_->state.options(); }

}  // namespace fhist
