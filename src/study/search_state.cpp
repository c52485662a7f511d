// The state of a search (see search_state.hpp): what the executor loop and ask-and-tell share.
#include "study/search_state.hpp"

#include <fmt/format.h>

#include "core/errors.hpp"
#include "core/rng.hpp"
#include "sched/evidence.hpp"
#include "study/journal.hpp"
#include "study/table.hpp"

namespace fhist::study::detail {

void JournalSink::attach(store::TrialStore& store) {
  store_ = &store;
  epochs_ = static_cast<std::int64_t>(store.epochs().size());  // read once; counted from here on
}

std::int64_t JournalSink::recorded(std::int64_t trial) {
  std::int64_t n = 0;
  for (const auto& row : store_->epochs(trial)) n = std::max(n, row.epoch);
  return n;
}

void JournalSink::add(std::int64_t trial, std::int64_t epoch, const nlohmann::json& record) {
  store_->add_epoch({trial, epoch, record});
  ++epochs_;
}

SearchState::SearchState(StudyOptions options, space::SearchSpace space, std::unique_ptr<store::TrialStore> store,
                         std::string journal, bool replaying, std::shared_ptr<const BenchmarkTable> table,
                         JournalSink& sink, std::function<void(std::int64_t)> release)
    : o_(std::move(options)),
      space_(std::move(space)),
      store_(std::move(store)),
      journal_(std::move(journal)),
      table_(std::move(table)),
      sink_(sink),
      release_(std::move(release)) {
  if (o_.algo == "bohb") {
    sampler_ = std::make_unique<search::KdeSampler>(space_);
  } else if (o_.algo == "dehb") {
    sampler_ = std::make_unique<search::DeSampler>(space_);
  } else {
    sampler_ = std::make_unique<search::RandomSampler>(space_);
  }
  if (o_.estimator == score::kAdaptive) {
    for (const auto& name : score::adaptive_candidates()) candidates_.push_back(score::make_estimator(name));
    o_.sched.adaptive = static_cast<int>(candidates_.size());
  } else if (const auto pair = score::hedge_pair(o_.estimator)) {
    candidates_.push_back(score::make_estimator(pair->first));
    candidates_.push_back(score::make_estimator(pair->second));
    o_.sched.hedge = true;
  }
  const std::string sched_name = o_.algo == "bohb" || o_.algo == "dehb" ? "hyperband" : o_.algo;
  for (const auto& b : sched::search_plan(o_.algo, o_.sched)) first_budget_[b.bracket] = b.rungs.front().budget_epochs;
  scheduler_ = sched::make_scheduler(sched_name, o_.sched, [this](int bracket) { return new_trial(bracket); });
  if (table_) table_used_.assign(table_->rows().size(), false);
  if (replaying) {
    for (const auto& t : store_->trials()) recorded_.emplace(t.trial, t);
  }
  summary_.journal = store_->path();
  devices_ = device_list(o_.device);
  sink_.attach(*store_);
  if (replaying) rerun_ = replay();
}

SearchState::~SearchState() = default;

void SearchState::limit_trials(std::int64_t n) {
  if (n < 0) throw InputError(fmt::format("--max-trials (max_trials) must be >= 0 (got {})", n));
  max_trials_ = n;
}

std::optional<sched::Job> SearchState::next_job() {
  std::optional<sched::Job> job;
  if (!rerun_.empty()) {
    job = rerun_.front();
    rerun_.pop_front();
  } else {
    if (max_trials_ > 0 && trials() >= max_trials_ && scheduler_->next_is_new_trial()) {
      trial_limit_reached_ = true;
      return std::nullopt;
    }
    job = scheduler_->next_job();
    if (!job) return std::nullopt;
    store::Event e;
    e.kind = "start";
    e.trial = job->trial;
    e.bracket = job->bracket;
    e.rung = job->rung;
    e.budget_epochs = job->budget_epochs;
    store_->add_event(e);
  }
  store_->set_trial_state(job->trial, "running");
  return job;
}

void SearchState::report(const TrialResult& r) {
  store_->add_event(result_event(r));
  apply_result(r);
}

sched::TrialId SearchState::new_trial(int bracket) {
  const std::int64_t id = next_trial_++;
  space::Config config;
  auto it = recorded_.find(id);
  if (it != recorded_.end()) {
    if (it->second.bracket != bracket) {
      throw store::StoreError(fmt::format("{}: trial {} was created for bracket {}, the replay asks for bracket {}; "
                                          "the journal does not match this fhist version",
                                          journal_, id, it->second.bracket, bracket));
    }
    config = space::Config::from_json(it->second.config);
  } else {
    // Trial i's draw depends only on (seed, i) and what the sampler has observed: a resumed search draws the same.
    space::Rng rng(derive_seed(o_.seed, Stream::kSample, static_cast<std::uint64_t>(id)));
    config = sampler_->sample_at(first_budget_.at(bracket), rng);
    if (table_) {
      // A uniform draw of the space becomes a uniform draw of the unused rows (snapping it to the nearest row would
      // favour rows with empty space around them); a model's proposal snaps to the nearest unused row, ties at random.
      const auto row =
          sampler_->last_pick_uniform() ? table_->draw(rng, table_used_) : table_->nearest(config, &table_used_, &rng);
      config = table_->rows()[row].config;
    }
    store::TrialRow row;
    row.trial = id;
    row.bracket = bracket;
    row.config = config.to_json();
    store_->add_trial(row);
  }
  configs_[id] = config;
  if (table_) {
    // The configuration is a row's (just drawn, or recorded by the journal): the first unused row holding it.
    const auto row = table_->row_of(config, table_used_);
    table_used_.at(row) = true;
    summary_.table_rows.push_back(static_cast<std::int64_t>(row));
  }
  return id;
}

// Feeds the journal's events back through the scheduler and sampler; returns the jobs that had started but not
// reported (they run again, continuing from their checkpoints).
std::deque<sched::Job> SearchState::replay() {
  std::map<std::int64_t, std::pair<std::int64_t, sched::Job>> started;  // trial -> (seq, job)
  for (const auto& ev : store_->events()) {
    if (ev.kind == "start") {
      auto job = scheduler_->next_job();
      if (!job || job->trial != ev.trial || job->budget_epochs != ev.budget_epochs) {
        throw store::StoreError(fmt::format("{}: replay diverged at event {} (journal: trial {} for {} epochs); "
                                            "the journal does not match this fhist version or was edited",
                                            journal_, ev.seq, ev.trial, ev.budget_epochs));
      }
      started[ev.trial] = {ev.seq, *job};
    } else {
      auto it = started.find(ev.trial);
      if (it == started.end()) {
        throw store::StoreError(fmt::format("{}: event {} reports trial {} that never started", journal_, ev.seq,
                                            ev.trial));
      }
      TrialResult r = result_of(ev);
      r.value = original_at(ev.trial, ev.budget_epochs);
      started.erase(it);
      apply_result(r);
    }
  }
  std::vector<std::pair<std::int64_t, sched::Job>> pending;
  for (const auto& [trial, sj] : started) pending.push_back(sj);
  std::sort(pending.begin(), pending.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::deque<sched::Job> out;
  for (const auto& p : pending) out.push_back(p.second);
  return out;
}

double SearchState::original_at(std::int64_t trial, std::int64_t epoch) const {
  for (const auto& row : store_->epochs(trial)) {
    if (row.epoch == epoch) return score::measures_from_json(epoch, row.record).original;
  }
  return 0.0;
}

void SearchState::apply_result(const TrialResult& r) {
  sched::JobResult result{r.trial, r.budget_epochs, r.score, r.state};
  // The validation accuracy at the budget (the oriented metric): auto's evidence and top-k-auto's gate read it.
  result.accuracy = r.value;
  if (!candidates_.empty() && result.state == sched::TrialState::kComplete) {
    // The candidates' scores from the trial's stored epochs (a table's, a user loop's or fhist's own rows alike).
    score::TrialHistory h;
    h.final_epoch = o_.sched.max_budget;
    for (const auto& row : store_->epochs(r.trial)) {
      if (row.epoch <= r.budget_epochs) score::append_epoch(h, row.epoch, row.record);
    }
    if (static_cast<std::int64_t>(h.epochs.size()) == r.budget_epochs) {
      for (const auto& c : candidates_) result.candidates.push_back(c->score(h));
    }
  }
  scheduler_->on_result(result);
  sampler_->observe(configs_.at(r.trial), r.budget_epochs, r.score);
  summary_.seconds += r.seconds;
  ++summary_.jobs;
  summary_.trials = static_cast<std::int64_t>(configs_.size());
  summary_.epochs_trained = sink_.epochs();
  if (improves(summary_.best, r, o_.sched.max_budget)) {
    summary_.best = r;
    summary_.best_config = configs_.at(r.trial);
  }
  if (const auto* ev = scheduler_->evidence()) {
    const auto pooled = ev->pooled();
    for (const auto& [budget, tally] : ev->tallies()) {
      const auto c = ev->choice(budget);
      const bool own = tally.pairs.at(c) >= o_.sched.adaptive_min_pairs;
      const auto& t = own ? tally : pooled;
      summary_.ranked_by[budget] = {score::adaptive_candidates().at(c), t.tau(c), t.pairs.at(c),
                                    own                                             ? "its own pairs"
                                    : t.pairs.at(c) >= o_.sched.adaptive_min_pairs ? "pairs of every budget"
                                                                                    : "too few pairs: the fallback"};
    }
  }
  summary_.decision = scheduler_->decision();
  summary_.plan_name = scheduler_->chosen_plan_name();
  summary_.plan = scheduler_->chosen_plan();
  summary_.hedge = scheduler_->hedge();
  store_->set_trial_state(r.trial, r.state == sched::TrialState::kComplete ? "paused" : sched::state_name(r.state),
                          r.message);
  for (auto t : scheduler_->take_retired()) {
    const auto row = store_->trial(t);
    if (row && row->state == "paused") store_->set_trial_state(t, "complete");
    release_(t);
  }
}

}  // namespace fhist::study::detail

namespace fhist::study {

StudySummary replay_journal(const std::string& journal) {
  auto source = store::open_sqlite_store_readonly(journal);
  auto copy = store::open_memory_store(source->path());
  if (const auto study = source->read_study()) copy->write_study(*study);
  for (const auto& t : source->trials()) copy->add_trial(t);
  for (const auto& e : source->epochs()) copy->add_epoch(e);
  for (const auto& ev : source->events()) copy->add_event(ev);
  auto [options, space] = detail::read_definition(*copy);
  detail::JournalSink sink;
  detail::SearchState state(std::move(options), std::move(space), std::move(copy), journal, true, nullptr, sink,
                            [](std::int64_t) {});
  return state.summary();
}

}  // namespace fhist::study
