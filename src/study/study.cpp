#include "study/study.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <filesystem>
#include <map>
#include <thread>

#include "core/cpus.hpp"
#include "core/errors.hpp"
#include "core/rng.hpp"
#include "exec/executor.hpp"
#include "exec/mpi.hpp"
#include "search/sampler.hpp"
#include "space/augment.hpp"
#include "space/catalog.hpp"
#include "store/trial_store.hpp"
#include "study/journal.hpp"
#include "study/search_state.hpp"
#include "study/table.hpp"

namespace fhist::study {

namespace fs = std::filesystem;

namespace {

// What the loop and its objective share, built before either: the caller's callbacks, the journal sink, and the
// flag that abandons running jobs.
struct Session {
  explicit Session(Callbacks cb) : callbacks(std::move(cb)) {}
  Callbacks callbacks;
  detail::JournalSink sink;
  std::atomic<bool> cancel{false};
  bool discard_bad_checkpoints = false;

  bool interrupted() const { return callbacks.interrupt && callbacks.interrupt(); }
  ObjectiveContext context(const StudyOptions& o, const space::SearchSpace& s, const std::string& journal,
                           std::shared_ptr<const BenchmarkTable> table, bool resuming) {
    return {o,         s,         journal, std::move(table), &sink, [this] { return cancel.load() || interrupted(); },
            callbacks.on_step, resuming, discard_bad_checkpoints};
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
      : session_(session),
        objective_(objective),
        state_(std::move(options), std::move(space), std::move(store), std::move(journal), replaying,
               std::move(table), session.sink, [&objective](std::int64_t trial) { objective.release(trial); }),
        o_(state_.options()),
        summary_(state_.summary()),
        resumed_(replaying) {}

  StudySummary run() {
    state_.limit_trials(session_.callbacks.max_trials);
    if (session_.callbacks.on_ready) session_.callbacks.on_ready();
    auto next_job = [&]() -> std::optional<sched::Job> {
      // A chunked run (fhist table --minutes): start nothing new; what runs finishes and is recorded.
      if (session_.interrupted() || (session_.callbacks.should_stop && session_.callbacks.should_stop())) {
        summary_.stopped = true;
        return std::nullopt;
      }
      return state_.next_job();
    };
    auto report = [&](const TrialResult& r) {
      state_.report(r);
      if (session_.callbacks.on_result) session_.callbacks.on_result(r, summary_);
    };
    try {
      // One job at a time on this thread (the order of everything fixed by the seed), or one thread per worker.
      std::unique_ptr<exec::Executor> executor;
      const int all_threads = o_.threads > 0 ? o_.threads : default_threads();
      if (o_.executor == "mpi") {
        // Ranks 1..N build the same objective from the resolved options (serve_mpi_worker).
        executor = exec::make_mpi_executor(session_.sink, {{"options", o_.to_json()},
                                                           {"space_definition", state_.space().to_json()},
                                                           {"journal", state_.journal()},
                                                           {"devices", state_.devices()},
                                                           {"threads", o_.threads},
                                                           {"resuming", resumed_},
                                                           {"discard_bad_checkpoints", session_.discard_bad_checkpoints}},
                                             [this] { return session_.interrupted(); });
      } else if (o_.executor == "inline" || (o_.executor == "auto" && o_.workers <= 1)) {
        // The threads resolved, not 0: a script (FHIST_THREADS) sizes its own pool by them.
        executor = exec::make_inline_executor(objective_, {0, state_.devices().front(), all_threads});
      } else {
        // Each CPU worker gets an equal share of the intra-op threads (OpenMP's setting is per thread).
        const int threads = std::max(1, all_threads / o_.workers);
        std::vector<exec::Worker> workers;
        for (int i = 0; i < o_.workers; ++i) {
          const auto& devices = state_.devices();
          workers.push_back({i, devices[static_cast<std::size_t>(i) % devices.size()], threads});
        }
        executor = exec::make_thread_executor(objective_, std::move(workers));
      }
      run_jobs(*executor, next_job, report);
    } catch (const exec::Cancelled&) {
      // Interrupted (handled below): the abandoned jobs stay started, and a resume reruns them.
    }
    summary_.interrupted = session_.interrupted();
    if (state_.trial_limit_reached() && !state_.done()) summary_.stopped = summary_.trial_limit = true;
    if (summary_.interrupted) {
      summary_.stopped = true;
      for (const auto& t : state_.store().trials()) summary_.abandoned += t.state == "running" ? 1 : 0;
    }
    if (!state_.done() && !summary_.stopped) {
      throw Error("internal: the scheduler stopped handing out jobs before it was done");
    }
    if (state_.done()) {
      summary_.stopped = false;
      // Every trial released its checkpoints: the folder goes too when nothing is kept in it.
      std::error_code ec;
      if (!state_.journal().empty()) std::filesystem::remove(state_.journal() + ".trials", ec);
    }
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
        // The executor keeps its own copy of the configuration: the state's grow on this thread while jobs run.
        executor.submit(*job, state_.config(job->trial));
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

  Session& session_;
  exec::Objective& objective_;
  detail::SearchState state_;
  const StudyOptions& o_;
  StudySummary& summary_;
  bool resumed_;  // MPI workers check devices as a resume does
};



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
  // The table's training settings; how this machine runs them (precision, memory format, read-backs) stays.
  const TrainingOptions here = o.training;
  o.training = b.training;
  o.training.bf16 = here.bf16;
  o.training.channels_last = here.channels_last;
  o.training.sync_every = here.sync_every;
  o.training.data_options = here.data_options;
  o.training.test_accuracy = false;
  return o;
}

std::shared_ptr<const BenchmarkTable> table_for(const StudyOptions& o) {
  if (o.table.empty()) {
    if (o.objective == "table") throw InputError("--objective table needs --table TABLE.db (built by fhist table)");
    return nullptr;
  }
  return std::make_shared<const BenchmarkTable>(BenchmarkTable::load(o.table));
}

// Resolves a new search's options (a table's settings, "auto" augmentation: the journal records what ran) and its
// space, builds the objective, and only then opens the journal (`open`), so that nothing is left behind by options
// or data that cannot work.
StudySummary start(StudyOptions options, const std::string& journal, std::shared_ptr<const BenchmarkTable> table,
                   const MakeObjective& make, const Callbacks& callbacks,
                   const std::function<std::unique_ptr<store::TrialStore>()>& open) {
  if (table) options = with_table_settings(std::move(options), *table);
  options.training.augment = space::resolve_augment(options.training.augment, options.training.data);
  auto space = space::load_space(options.space, options.training.flops_cap, options.training.width_mult);
  Session session(callbacks);
  auto objective = build_objective(session.context(options, space, journal, table, false), make);
  auto store = open();
  store->write_study(detail::study_record(options, space));
  Runner runner(options, std::move(space), std::move(store), journal, false, std::move(table), session, *objective);
  return runner.run();
}

}  // namespace

StudySummary run_study(const StudyOptions& given, const std::string& journal, const MakeObjective& make,
                       const Callbacks& callbacks) {
  auto options = given;
  options.resolve_defaults();
  options.validate();
  detail::refuse_existing(journal);
  return start(options, journal, table_for(options), make, callbacks,
               [&] { return store::open_sqlite_store(journal, true); });
}

StudySummary run_table_search(const StudyOptions& options, std::shared_ptr<const BenchmarkTable> table,
                              const Callbacks& callbacks) {
  auto o = options;
  o.objective = "table";
  o.table = table->path();
  o.resolve_defaults();
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
                         callbacks.on_step, hello.value("resuming", false),
                         hello.value("discard_bad_checkpoints", false)};
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
    if (name(*resume.data) != name(options.training.data)) {
      throw InputError(
          fmt::format("--data {}: {} searched {}; on resume --data may only move the same dataset "
                      "(e.g. {}:/new/dir)",
                      *resume.data, journal, options.training.data, name(options.training.data)));
    }
    options.training.data = *resume.data;
  }
  if (resume.workers) options.workers = *resume.workers;
  if (resume.device) options.device = *resume.device;
  if (resume.threads) options.threads = *resume.threads;
  options.executor = resume.executor;
  options.validate();
  auto table = table_for(options);
  Session session(callbacks);
  session.discard_bad_checkpoints = resume.discard_bad_checkpoints;
  auto objective = build_objective(session.context(options, space, journal, table, true), make);
  Runner runner(options, std::move(space), std::move(store), journal, true, std::move(table), session, *objective);
  return runner.run();
}

}  // namespace fhist::study
