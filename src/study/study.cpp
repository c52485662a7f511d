#include "study/study.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <filesystem>
#include <map>
#include <thread>

#include "core/errors.hpp"
#include "core/rng.hpp"
#include "exec/executor.hpp"
#include "exec/mpi.hpp"
#include "search/sampler.hpp"
#include "space/augment.hpp"
#include "space/catalog.hpp"
#include "store/trial_store.hpp"
#include "study/journal.hpp"
#include "study/table.hpp"

namespace fhist::study {

namespace fs = std::filesystem;

namespace {

// Epoch rows go to the journal here (an MPI worker's go to rank 0 instead). Attached to the store once it is open: a
// new search builds its objective before the journal exists.
class JournalSink final : public exec::EpochSink {
 public:
  void attach(store::TrialStore& store) {
    store_ = &store;
    epochs_ = static_cast<std::int64_t>(store.epochs().size());  // read once; counted from here on
  }
  std::int64_t recorded(std::int64_t trial) override {
    std::int64_t n = 0;
    for (const auto& row : store_->epochs(trial)) n = std::max(n, row.epoch);
    return n;
  }
  void add(std::int64_t trial, std::int64_t epoch, const nlohmann::json& record) override {
    store_->add_epoch({trial, epoch, record});
    ++epochs_;
  }
  std::int64_t epochs() const { return epochs_; }

 private:
  store::TrialStore* store_ = nullptr;
  std::atomic<std::int64_t> epochs_{0};  // rows in the journal's epochs table; workers add to it
};

// What the loop and its objective share, built before either: the caller's callbacks, the journal sink, and the
// flag that abandons running jobs.
struct Session {
  explicit Session(Callbacks cb) : callbacks(std::move(cb)) {}
  Callbacks callbacks;
  JournalSink sink;
  std::atomic<bool> cancel{false};

  bool interrupted() const { return callbacks.interrupt && callbacks.interrupt(); }
  ObjectiveContext context(const StudyOptions& o, const space::SearchSpace& s, const std::string& journal,
                           std::shared_ptr<const BenchmarkTable> table, bool resuming) {
    return {o, s, journal, std::move(table), &sink, [this] { return cancel.load() || interrupted(); },
            callbacks.on_step, resuming};
  }
};

std::unique_ptr<exec::Objective> build_objective(const ObjectiveContext& ctx, const MakeObjective& make) {
  if (ctx.options.objective == "table") return make_table_objective(ctx);
  if (!make) throw Error("internal: a search that trains needs an objective (objective::training)");
  auto objective = make(ctx);
  if (!objective) throw Error("internal: the MakeObjective returned no objective");
  return objective;
}

// A running search: the loop over scheduler, sampler, executor and journal. Built fresh for a new search and for a
// resume (then filled by replay).
class Runner {
 public:
  Runner(StudyOptions options, space::SearchSpace space, std::unique_ptr<store::TrialStore> store,
         std::string journal, bool replaying, std::shared_ptr<const BenchmarkTable> table, Session& session,
         exec::Objective& objective)
      : o_(std::move(options)),
        space_(std::move(space)),
        store_(std::move(store)),
        journal_(std::move(journal)),
        table_(std::move(table)),
        session_(session),
        objective_(objective) {
    if (o_.algo == "bohb") {
      sampler_ = std::make_unique<search::KdeSampler>(space_);
    } else {
      sampler_ = std::make_unique<search::RandomSampler>(space_);
    }
    const std::string sched_name = o_.algo == "bohb" ? "hyperband" : o_.algo;
    scheduler_ = sched::make_scheduler(sched_name, o_.sched, [this](int bracket) { return new_trial(bracket); });
    if (table_) table_used_.assign(table_->rows().size(), false);
    if (replaying) {
      for (const auto& t : store_->trials()) recorded_.emplace(t.trial, t);
    }
    summary_.journal = store_->path();
    devices_ = device_list(o_.device);
    session_.sink.attach(*store_);
  }

  StudySummary run() {
    std::deque<sched::Job> rerun = replay();
    // The next job: first those the journal left running, then the scheduler's (recorded before they start).
    auto next_job = [&]() -> std::optional<sched::Job> {
      // A chunked run (fhist table --minutes): start nothing new; what runs finishes and is recorded.
      if (session_.interrupted() || (session_.callbacks.should_stop && session_.callbacks.should_stop())) {
        summary_.stopped = true;
        return std::nullopt;
      }
      std::optional<sched::Job> job;
      if (!rerun.empty()) {
        job = rerun.front();
        rerun.pop_front();
      } else {
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
    };
    auto report = [&](const TrialResult& r) {
      store_->add_event(detail::result_event(r));
      apply_result(r);
      if (session_.callbacks.on_result) session_.callbacks.on_result(r, summary_);
    };
    try {
      // One job at a time on this thread (the order of everything fixed by the seed), or one thread per worker.
      std::unique_ptr<exec::Executor> executor;
      if (o_.executor == "mpi") {
        // Ranks 1..N build the same objective from the resolved options (serve_mpi_worker).
        executor = exec::make_mpi_executor(session_.sink, {{"options", o_.to_json()},
                                                           {"space_definition", space_.to_json()},
                                                           {"journal", journal_},
                                                           {"devices", devices_},
                                                           {"threads", o_.threads}});
      } else if (o_.executor == "inline" || (o_.executor == "auto" && o_.workers <= 1)) {
        executor = exec::make_inline_executor(objective_, {0, devices_.front(), 0});
      } else {
        // Each CPU worker gets an equal share of the intra-op threads (OpenMP's setting is per thread).
        const int all = o_.threads > 0 ? o_.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
        const int threads = std::max(1, all / o_.workers);
        std::vector<exec::Worker> workers;
        for (int i = 0; i < o_.workers; ++i) {
          workers.push_back({i, devices_[static_cast<std::size_t>(i) % devices_.size()], threads});
        }
        executor = exec::make_thread_executor(objective_, std::move(workers));
      }
      run_jobs(*executor, next_job, report);
    } catch (const exec::Cancelled&) {
      // Interrupted (handled below): the abandoned jobs stay started, and a resume reruns them.
    }
    summary_.interrupted = session_.interrupted();
    if (summary_.interrupted) {
      summary_.stopped = true;
      for (const auto& t : store_->trials()) summary_.abandoned += t.state == "running" ? 1 : 0;
    }
    if (!scheduler_->done() && !summary_.stopped) {
      throw Error("internal: the scheduler stopped handing out jobs before it was done");
    }
    if (scheduler_->done()) summary_.stopped = false;
    return summary_;
  }

 private:
  // Keeps the executor full while the scheduler has jobs; results are reported on this thread, in the order they end.
  // A job's fatal error (the journal or the machine failing, an interrupt) stops the others at their next step and is
  // rethrown once all have stopped.
  template <class NextJob, class Report>
  void run_jobs(exec::Executor& executor, NextJob& next_job, Report& report) {
    struct CancelOnExit {  // also on the way out of an exception thrown on this thread: the executor then joins
      std::atomic<bool>& cancel;
      ~CancelOnExit() { cancel = true; }
    } cancel_on_exit{session_.cancel};
    std::exception_ptr fatal;
    const auto t0 = std::chrono::steady_clock::now();
    summary_.worker_busy_seconds.assign(static_cast<std::size_t>(std::max(o_.workers, 1)), 0.0);
    struct Wall {  // on every way out
      StudySummary& s;
      std::chrono::steady_clock::time_point t0;
      ~Wall() { s.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); }
    } wall{summary_, t0};
    while (true) {
      while (!fatal && executor.running() < executor.capacity()) {
        auto job = next_job();
        if (!job) break;
        // The executor keeps its own copy of the configuration: configs_ grows on this thread while jobs run.
        executor.submit(*job, configs_.at(job->trial));
      }
      if (executor.running() == 0) break;
      auto finished = executor.wait_any();
      const auto w = static_cast<std::size_t>(finished.worker);
      if (w < summary_.worker_busy_seconds.size()) summary_.worker_busy_seconds[w] += finished.busy_seconds;
      if (finished.error) {
        if (!fatal) {
          fatal = finished.error;
          session_.cancel = true;
          executor.cancel();
        }
        continue;
      }
      if (!fatal) report(*finished.outcome);
    }
    if (fatal) std::rethrow_exception(fatal);
  }

 private:
  sched::TrialId new_trial(int bracket) {
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
      config = sampler_->sample(rng);
      if (table_) config = table_->rows()[table_->nearest(config, &table_used_)].config;
      store::TrialRow row;
      row.trial = id;
      row.bracket = bracket;
      row.config = config.to_json();
      store_->add_trial(row);
    }
    configs_[id] = config;
    if (table_) {
      // A recorded or just-snapped configuration is a row itself: nearest is exact.
      table_used_.at(table_->nearest(config)) = true;
    }
    return id;
  }

  // Feeds the journal's events back through the scheduler and sampler; returns the jobs that had started but not
  // reported (they run again, continuing from their checkpoints).
  std::deque<sched::Job> replay() {
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
        TrialResult r = detail::result_of(ev);
        r.original_val_acc = original_at(ev.trial, ev.budget_epochs);
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

  double original_at(std::int64_t trial, std::int64_t epoch) const {
    for (const auto& row : store_->epochs(trial)) {
      if (row.epoch == epoch) return row.record.value("original_val_acc", 0.0);
    }
    return 0.0;
  }

  void apply_result(const TrialResult& r) {
    scheduler_->on_result({r.trial, r.budget_epochs, r.score, detail::state_of(r.state)});
    sampler_->observe(configs_.at(r.trial), r.budget_epochs, r.score);
    summary_.seconds += r.seconds;
    ++summary_.jobs;
    summary_.trials = static_cast<std::int64_t>(configs_.size());
    summary_.epochs_trained = session_.sink.epochs();
    if (improves(summary_.best, r, o_.sched.max_budget)) {
      summary_.best = r;
      summary_.best_config = configs_.at(r.trial);
    }
    store_->set_trial_state(r.trial, r.state == "complete" ? "paused" : r.state, r.message);
    for (auto t : scheduler_->take_retired()) {
      const auto row = store_->trial(t);
      if (row && row->state == "paused") store_->set_trial_state(t, "complete");
      objective_.release(t);
    }
  }

  StudyOptions o_;
  space::SearchSpace space_;
  std::unique_ptr<store::TrialStore> store_;
  std::string journal_;
  std::shared_ptr<const BenchmarkTable> table_;
  Session& session_;
  exec::Objective& objective_;
  std::vector<bool> table_used_;                    // table rows given to a trial so far
  std::unique_ptr<search::Sampler> sampler_;
  std::unique_ptr<sched::Scheduler> scheduler_;
  std::map<std::int64_t, store::TrialRow> recorded_;
  std::map<std::int64_t, space::Config> configs_;
  std::int64_t next_trial_ = 0;
  StudySummary summary_;
  std::vector<std::string> devices_;
};

nlohmann::json study_record(const StudyOptions& o, const space::SearchSpace& s) {
  return {{"options", o.to_json()},
          {"space_definition", s.to_json()},
          {"fhist_version", FHIST_VERSION_STRING},
          {"schema_version", store::kSchemaVersion}};
}

}  // namespace

namespace {

// A search over a table's configurations trains them (or reads them) as the table did: the table's data, network and
// training settings replace the search's own; only the search's algorithm, estimator, budgets and seed remain.
StudyOptions with_table_settings(StudyOptions o, const BenchmarkTable& t) {
  const auto& b = t.options();
  if (o.sched.max_budget != t.epochs()) {
    throw InputError(fmt::format("--max-budget {}: the table {} trained its configurations for {} epochs (the lr "
                                 "schedule's length); a search over it uses --max-budget {}",
                                 o.sched.max_budget, t.path(), t.epochs(), t.epochs()));
  }
  o.space = b.space;
  o.flops_cap = b.flops_cap;
  o.data = b.data;
  o.model = b.model;
  o.width_mult = b.width_mult;
  o.train_size = b.train_size;
  o.val_size = b.val_size;
  o.augment = b.augment;
  o.lr = b.lr;
  o.weight_decay = b.weight_decay;
  o.batch_size = b.batch_size;
  o.channels = b.channels;
  o.cells = b.cells;
  o.auxiliary = b.auxiliary;
  o.window = b.window;
  o.test_accuracy = false;
  return o;
}

std::shared_ptr<const BenchmarkTable> table_for(const StudyOptions& o) {
  if (o.table.empty()) {
    if (o.objective == "table") throw InputError("--objective table needs --table TABLE.db (built by fhist table)");
    return nullptr;
  }
  return std::make_shared<const BenchmarkTable>(BenchmarkTable::load(o.table));
}

// A new search's journal must not exist; one killed while it was being created (no study, no trial) is replaced.
void refuse_existing(const std::string& journal) {
  if (fs::exists(journal) && store::journal_unstarted(journal)) {
    std::error_code ec;
    for (const auto& p : {journal, journal + "-wal", journal + "-shm"}) fs::remove(p, ec);
  }
  if (fs::exists(journal)) {
    throw InputError(fmt::format("{} already exists: pass --resume to continue that search, or choose another "
                                 "--journal (nothing was changed)",
                                 journal));
  }
  // Checkpoints of an earlier search whose journal was deleted: a new search's trial 0 would continue from them.
  std::error_code ec;
  const auto trials = journal + ".trials";
  if (fs::is_directory(trials, ec) && !fs::is_empty(trials, ec)) {
    throw InputError(fmt::format("{} holds checkpoints of an earlier search whose journal {} is gone: a new search "
                                 "would continue its trials from them. Remove the folder, or choose another --journal",
                                 trials, journal));
  }
}

// Resolves a new search's options (a table's settings, "auto" augmentation: the journal records what ran) and its
// space, builds the objective, and only then opens the journal (`open`), so that nothing is left behind by options
// or data that cannot work.
StudySummary start(StudyOptions options, const std::string& journal, std::shared_ptr<const BenchmarkTable> table,
                   const MakeObjective& make, const Callbacks& callbacks,
                   const std::function<std::unique_ptr<store::TrialStore>()>& open) {
  if (table) options = with_table_settings(std::move(options), *table);
  options.augment = space::resolve_augment(options.augment, options.data);
  auto space = space::load_space(options.space, options.flops_cap, options.width_mult);
  Session session(callbacks);
  auto objective = build_objective(session.context(options, space, journal, table, false), make);
  auto store = open();
  store->write_study(study_record(options, space));
  Runner runner(options, std::move(space), std::move(store), journal, false, std::move(table), session, *objective);
  return runner.run();
}

}  // namespace

StudySummary run_study(const StudyOptions& options, const std::string& journal, const MakeObjective& make,
                       const Callbacks& callbacks) {
  options.validate();
  refuse_existing(journal);
  return start(options, journal, table_for(options), make, callbacks,
               [&] { return store::open_sqlite_store(journal, true); });
}

StudySummary run_table_search(const StudyOptions& options, std::shared_ptr<const BenchmarkTable> table,
                              const Callbacks& callbacks) {
  auto o = options;
  o.objective = "table";
  o.table = table->path();
  o.validate();
  return start(o, ":memory:", std::move(table), {}, callbacks, [] { return store::open_memory_store(); });
}

void serve_mpi_worker(const MakeObjective& make, const Callbacks& callbacks) {
  exec::serve_mpi_worker([&](const nlohmann::json& hello, exec::EpochSink& sink,
                             std::function<bool()> cancelled) -> std::unique_ptr<exec::Objective> {
    auto options = StudyOptions::from_json(hello.at("options"));
    const auto journal = hello.at("journal").get<std::string>();
    auto space = detail::space_of(options, hello, journal);
    // The options arrive resolved (table settings applied): only the table's rows are needed here.
    auto table = options.table.empty() ? nullptr
                                       : std::make_shared<const BenchmarkTable>(BenchmarkTable::load(options.table));
    ObjectiveContext ctx{options, std::move(space), journal, std::move(table), &sink,
                         [interrupt = callbacks.interrupt, cancelled] { return cancelled() || (interrupt && interrupt()); },
                         callbacks.on_step, false};
    return build_objective(ctx, make);
  });
}

StudySummary resume_study(const std::string& journal, const MakeObjective& make, const Callbacks& callbacks,
                          const ResumeOptions& resume) {
  if (!fs::exists(journal)) throw InputError(fmt::format("--resume: no journal at {}", journal));
  detail::refuse_unstarted(journal);
  auto store = store::open_sqlite_store(journal, false);
  auto [options, space] = detail::read_definition(*store);
  if (resume.data) {
    const auto name = [](const std::string& spec) { return spec.substr(0, spec.find(':')); };
    if (name(*resume.data) != name(options.data)) {
      throw InputError(fmt::format("--data {}: {} searched {}; on resume --data may only move the same dataset "
                                   "(e.g. {}:/new/dir)",
                                   *resume.data, journal, options.data, name(options.data)));
    }
    options.data = *resume.data;
  }
  if (resume.workers) options.workers = *resume.workers;
  if (resume.device) options.device = *resume.device;
  if (resume.threads) options.threads = *resume.threads;
  options.executor = resume.executor;
  options.validate();
  auto table = table_for(options);
  Session session(callbacks);
  auto objective = build_objective(session.context(options, space, journal, table, true), make);
  Runner runner(options, std::move(space), std::move(store), journal, true, std::move(table), session, *objective);
  return runner.run();
}

}  // namespace fhist::study
