#include "study/study.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>  // fmt::join (moved here in fmt 11, the fmt that PyTorch 2.5+ wheels ship)

#include <atomic>
#include <chrono>
#include <cmath>
#include <deque>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>
#include <new>

#include <c10/core/impl/DeviceGuardImplInterface.h>

#include "core/errors.hpp"
#include "core/rng.hpp"
#include "score/scores.hpp"
#include "models/model.hpp"
#include "data/augment.hpp"
#include "data/dataset.hpp"
#include "exec/executor.hpp"
#include "exec/mpi.hpp"
#include "nas/darts.hpp"
#include "nas/nb201.hpp"
#include "nas/network.hpp"
#include "models/resnet.hpp"
#include "search/sampler.hpp"
#include "store/trial_store.hpp"
#include "study/table.hpp"
#include "train/trainer.hpp"

namespace fhist::study {

namespace fs = std::filesystem;

namespace {

constexpr double kFailedScore = -std::numeric_limits<double>::infinity();
sched::TrialState state_of(const std::string& s) {
  if (s == "failed") return sched::TrialState::kFailed;
  if (s == "diverged") return sched::TrialState::kDiverged;
  return sched::TrialState::kComplete;
}

store::Event result_event(const TrialResult& r) {
  store::Event e;
  e.kind = "result";
  e.trial = r.trial;
  e.bracket = r.bracket;
  e.rung = r.rung;
  e.budget_epochs = r.budget_epochs;
  e.score = r.score;
  e.state = r.state;
  e.seconds = r.seconds;
  e.message = r.message;
  return e;
}

TrialResult result_of(const store::Event& e) {
  TrialResult r;
  r.trial = e.trial;
  r.bracket = e.bracket;
  r.rung = e.rung;
  r.budget_epochs = e.budget_epochs;
  r.score = e.score;
  r.state = e.state;
  r.message = e.message;
  r.seconds = e.seconds;
  return r;
}

}  // namespace

bool improves(const std::optional<TrialResult>& best, const TrialResult& r, std::int64_t max_budget) {
  if (!std::isfinite(r.score)) return false;
  if (!best || r.budget_epochs > best->budget_epochs) return true;
  if (r.budget_epochs < best->budget_epochs) return false;
  if (r.budget_epochs == max_budget) return r.original_val_acc > best->original_val_acc;
  return r.score > best->score;
}

namespace {

// A trained search's data: its train / validation split, and the test set when the target is recorded.
struct StudyData {
  data::TrainVal split;
  data::Dataset test;
};

// Trials restricted to a table's configurations train exactly as the table's did: its split, its seeds.
StudyData load_study_data(const StudyOptions& o, const BenchmarkTable* table) {
  auto tt = data::load_dataset(o.data);
  StudyData d{data::split_train_val(tt.train, o.train_size, o.val_size, table ? table->options().seed : o.seed), {}};
  if (o.test_accuracy) d.test = tt.test;
  return d;
}

// Everything a running study holds. Built fresh for a new study and for a resume (then filled by replay).
class Runner final : public exec::Objective {
 public:
  Runner(StudyOptions options, space::SearchSpace space, std::unique_ptr<store::TrialStore> store,
         std::string journal, bool replaying, std::shared_ptr<const BenchmarkTable> table = nullptr,
         std::optional<StudyData> loaded = std::nullopt, const MakeObjective& make = {})
      : o_(std::move(options)),
        space_(std::move(space)),
        store_(std::move(store)),
        journal_(std::move(journal)),
        table_(std::move(table)) {
    if (o_.algo == "bohb") {
      sampler_ = std::make_unique<search::KdeSampler>(space_);
    } else {
      sampler_ = std::make_unique<search::RandomSampler>(space_);
    }
    const std::string sched_name = o_.algo == "bohb" ? "hyperband" : o_.algo;
    scheduler_ = sched::make_scheduler(sched_name, o_.sched, [this](int bracket) { return new_trial(bracket); });
    estimator_ = score::make_estimator(o_.estimator);
    if (table_) table_used_.assign(table_->rows().size(), false);
    if (replaying) {
      for (const auto& t : store_->trials()) recorded_.emplace(t.trial, t);
    }
    if (make) {
      // Another objective (tests, tools): jobs go to it; nothing here trains, so no data is loaded.
      external_ = make(journal_sink_);
      objective_ = external_.get();
    } else if (o_.objective == "train") {
      auto d = loaded ? std::move(*loaded) : load_study_data(o_, table_.get());
      split_ = std::move(d.split);
      test_ = std::move(d.test);
    }
    summary_.journal = store_->path();
    devices_ = device_list(o_.device);
    epochs_recorded_ = static_cast<std::int64_t>(store_->epochs().size());  // read once; counted from here on
  }

  StudySummary run(const Callbacks& callbacks) {
    callbacks_ = callbacks;
    std::deque<sched::Job> rerun = replay();
    // The next job: first those the journal left running, then the scheduler's (recorded before they start).
    auto next_job = [&]() -> std::optional<sched::Job> {
      // A chunked run (fhist table --minutes): start nothing new; what runs finishes and is recorded.
      if (interrupted() || (callbacks_.should_stop && callbacks_.should_stop())) {
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
      store_->add_event(result_event(r));
      apply_result(r);
      if (callbacks_.on_result) callbacks_.on_result(r, summary_);
    };
    try {
      // One job at a time on this thread (the order of everything fixed by the seed), or one thread per worker.
      std::unique_ptr<exec::Executor> executor;
      if (o_.executor == "mpi") {
        // Ranks 1..N build the same objective from the resolved options (serve_mpi_worker).
        executor = exec::make_mpi_executor(journal_sink_, {{"options", o_.to_json()},
                                                           {"space_definition", space_.to_json()},
                                                           {"journal", journal_},
                                                           {"devices", devices_},
                                                           {"threads", o_.threads}});
      } else if (o_.executor == "inline" || (o_.executor == "auto" && o_.workers <= 1)) {
        executor = exec::make_inline_executor(*objective_, {0, devices_.front(), 0});
      } else {
        // Each CPU worker gets an equal share of the intra-op threads (OpenMP's setting is per thread).
        const int threads = std::max(1, at::get_num_threads() / o_.workers);
        std::vector<exec::Worker> workers;
        for (int i = 0; i < o_.workers; ++i) {
          workers.push_back({i, devices_[static_cast<std::size_t>(i) % devices_.size()], threads});
        }
        executor = exec::make_thread_executor(*objective_, std::move(workers));
      }
      run_jobs(*executor, next_job, report);
    } catch (const exec::Cancelled&) {
      // Interrupted (handled below): the abandoned jobs stay started, and a resume reruns them.
    }
    summary_.interrupted = interrupted();
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

  bool interrupted() const { return callbacks_.interrupt && callbacks_.interrupt(); }

  // Keeps the executor full while the scheduler has jobs; results are reported on this thread, in the order they end.
  // A job's fatal error (the journal or the machine failing, an interrupt) stops the others at their next step and is
  // rethrown once all have stopped.
  template <class NextJob, class Report>
  void run_jobs(exec::Executor& executor, NextJob& next_job, Report& report) {
    struct CancelOnExit {  // also on the way out of an exception thrown on this thread: the executor then joins
      std::atomic<bool>& cancel;
      ~CancelOnExit() { cancel = true; }
    } cancel_on_exit{cancel_};
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
          cancel_ = true;
          executor.cancel();
        }
        continue;
      }
      if (!fatal) report(*finished.outcome);
    }
    if (fatal) std::rethrow_exception(fatal);
  }

 public:
  // exec::Objective: a job trains (or reads the table) on the executor's thread.
  TrialResult run(const sched::Job& job, const space::Config& config, const exec::Worker& worker) override {
    return run_job(job, config, worker.device, worker.index);
  }

  void prepare_thread(const exec::Worker& worker) override {
    // Only when it changes: resizing the intra-op pool costs milliseconds (an MPI worker calls this per job).
    if (worker.threads > 0 && at::get_num_threads() != worker.threads) at::set_num_threads(worker.threads);
    // Each GPU worker issues its kernels on a stream of its own, so workers sharing a GPU overlap instead of queueing
    // on its default stream. The current stream is per thread, and a job's thread is its own: everything the job
    // does (data copy, training, estimates) runs on this stream.
    const torch::Device dev(worker.device);
    if (dev.is_cuda()) {
      const auto* impl = c10::impl::getDeviceGuardImpl(c10::DeviceType::CUDA);
      impl->exchangeStream(impl->getStreamFromGlobalPool(dev.has_index() ? dev : impl->getDevice()));
    }
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
        TrialResult r = result_of(ev);
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
    scheduler_->on_result({r.trial, r.budget_epochs, r.score, state_of(r.state)});
    sampler_->observe(configs_.at(r.trial), r.budget_epochs, r.score);
    summary_.seconds += r.seconds;
    ++summary_.jobs;
    summary_.trials = static_cast<std::int64_t>(configs_.size());
    summary_.epochs_trained = epochs_recorded_;
    if (improves(summary_.best, r, o_.sched.max_budget)) {
      summary_.best = r;
      summary_.best_config = configs_.at(r.trial);
    }
    store_->set_trial_state(r.trial, r.state == "complete" ? "paused" : r.state, r.message);
    for (auto t : scheduler_->take_retired()) {
      const auto row = store_->trial(t);
      if (row && row->state == "paused") store_->set_trial_state(t, "complete");
      if (!o_.keep_checkpoints) {
        std::error_code ec;
        fs::remove_all(trial_dir(journal_, t), ec);
      }
    }
  }

  // The table objective: the job's epochs are read from the table, not trained. The journal gets the same rows and
  // results a live search would write, and `seconds` is the training time the table recorded for those epochs.
  TrialResult table_job(const sched::Job& job, const space::Config& config) {
    // The trial's configuration is a table row (new_trial snapped it): nearest finds that row. Computed here, not
    // looked up, so jobs on other threads or ranks read nothing the scheduling thread writes.
    const auto index = table_->nearest(config);
    const auto& row = table_->rows()[index];
    TrialResult r;
    r.trial = job.trial;
    r.bracket = job.bracket;
    r.rung = job.rung;
    r.budget_epochs = job.budget_epochs;
    const std::int64_t recorded = sink_->recorded(job.trial);
    const auto history = table_->history(index, job.budget_epochs);
    const auto n = static_cast<std::int64_t>(history.epochs.size());
    for (std::int64_t e = recorded + 1; e <= n; ++e) {
      const auto& rec = row.epochs[static_cast<std::size_t>(e - 1)];
      sink_->add(job.trial, e, rec);
      r.seconds += rec.value("seconds", 0.0);
    }
    if (n < job.budget_epochs) {
      r.state = row.state == "complete" ? "failed" : row.state;
      r.score = kFailedScore;
      r.message = row.message.empty() ? fmt::format("the table has {} epochs of this configuration", n) : row.message;
      return r;
    }
    r.original_val_acc = history.epochs.back().original;
    r.score = estimator_->score(history);
    r.state = std::isfinite(r.score) ? "complete" : "diverged";
    if (!std::isfinite(r.score)) {
      r.score = kFailedScore;
      r.message = fmt::format("the {} score is not finite after {} epochs", o_.estimator, job.budget_epochs);
    }
    return r;
  }

  static EnvironmentError checkpoint_write_error(std::int64_t trial, const std::string& why) {
    return EnvironmentError(fmt::format("trial {}: {}. The search stopped here; every finished result is kept: free "
                                        "space or fix the folder, then resume",
                                        trial, why));
  }

  TrialResult run_job(const sched::Job& job, const space::Config& config, const std::string& device, int worker) {
    if (o_.objective == "table") return table_job(job, config);
    const auto t0 = std::chrono::steady_clock::now();
    TrialResult r;
    r.trial = job.trial;
    r.bracket = job.bracket;
    r.rung = job.rung;
    r.budget_epochs = job.budget_epochs;
    try {
      train::TrainOptions t;
      models::ModelSpec spec;
      apply_config(config, o_, t, spec);
      t.device = torch::Device(device);
      t.data_on_device = t.device.is_cuda();
      t.epochs = job.budget_epochs;
      t.max_epochs = o_.sched.max_budget;  // the schedule is laid over the maximum budget
      // A trial restricted to a table row trains with that row's seed, so it reproduces the table's numbers.
      t.seed = table_ ? derive_seed(table_->options().seed, Stream::kTrial,
                                    static_cast<std::uint64_t>(table_->rows()[table_->nearest(config)].trial))
                      : derive_seed(o_.seed, Stream::kTrial, static_cast<std::uint64_t>(job.trial));
      t.estimate_each_epoch = true;  // every estimator is recorded every epoch
      spec.in_channels = split_.train.channels();
      spec.num_classes = split_.train.num_classes;
      models::ClassifierPtr net;
      {
        // Weight init draws from Torch's global generator: seeding and drawing must not interleave across workers.
        std::lock_guard<std::mutex> lock(init_mu_);
        train::seed_weight_init(t.seed);
        net = nas::make_network(spec);
      }
      score::TrialHistory history;
      history.final_epoch = o_.sched.max_budget;
      history.params = static_cast<double>(models::count_parameters(*net));
      history.num_classes = split_.train.num_classes;
      train::Trainer trainer(net, split_.train, split_.val, t);
      const std::string ckpt = (fs::path(trial_dir(journal_, job.trial)) / "checkpoint.pt").string();
      if (fs::exists(ckpt)) {
        try {
          trainer.load_checkpoint(ckpt);
        } catch (const CheckpointError& e) {
          // The setup changed under the search (other data, another fhist): every trial would fail the same way.
          throw EnvironmentError(fmt::format("trial {}: {}. The search stopped here; nothing finished is lost: "
                                             "resume with the data and settings it started with",
                                             job.trial, e.what()));
        }
      }
      // Epoch rows follow the checkpoint: a crash between the two leaves rows to add now, never a duplicate.
      std::int64_t recorded = sink_->recorded(job.trial);
      auto add_rows = [&]() {
        history.epochs.clear();
        for (const auto& rec : trainer.records()) {
          history.epochs.push_back(epoch_measures(rec));
          if (rec.epoch <= recorded) continue;
          auto row = epoch_row(rec, history);
          // When and where it was recorded: the report's worker utilisation (busy seconds over the wall span).
          row["worker"] = worker;
          row["finished_at"] = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
          // Tables (fhist table): the final test accuracy, once, at the full budget; a target, never a decision.
          if (o_.test_accuracy && rec.epoch == o_.sched.max_budget && trainer.epochs_done() == rec.epoch) {
            row["test_acc"] = trainer.evaluate_accuracy(test_);
          }
          sink_->add(job.trial, rec.epoch, row);
          recorded = rec.epoch;
        }
      };
      add_rows();
      while (!trainer.finished()) {
        const auto epoch = trainer.epochs_done() + 1;
        trainer.run_epoch([&](std::int64_t step, std::int64_t steps, double loss) {
          if (cancel_ || interrupted()) throw exec::Cancelled{};
          if (callbacks_.on_step) callbacks_.on_step(job, epoch, step, steps, loss);
        });
        try {
          trainer.save_checkpoint(ckpt);
        } catch (const c10::Error& e) {
          throw checkpoint_write_error(job.trial, e.what_without_backtrace());
        } catch (const std::exception& e) {  // EnvironmentError (disk full, I/O error), filesystem_error
          throw checkpoint_write_error(job.trial, e.what());
        }
        add_rows();
      }
      r.original_val_acc = trainer.records().back().original_val_acc;
      r.score = estimator_->score(history);
      if (!std::isfinite(r.score)) {
        throw DivergedError(fmt::format("the {} score is not finite after {} epochs", o_.estimator,
                                        job.budget_epochs));
      }
      r.state = "complete";
    } catch (const DivergedError& e) {
      r.state = "diverged";
      r.score = kFailedScore;
      r.message = e.what();
    } catch (const store::StoreError&) {
      throw;  // the journal itself failing is not the trial's fault
    } catch (const EnvironmentError&) {
      throw;  // nor is the machine: the search stops, and a resume reruns this job
    } catch (const std::filesystem::filesystem_error& e) {
      throw EnvironmentError(fmt::format("trial {}: {}", job.trial, e.what()));
    } catch (const Error& e) {
      r.state = "failed";
      r.score = kFailedScore;
      r.message = e.what();
    } catch (const c10::Error& e) {
      // Shapes that do not fit, CUDA out of memory: this configuration on this machine.
      r.state = "failed";
      r.score = kFailedScore;
      r.message = e.what_without_backtrace();
    } catch (const std::bad_alloc&) {
      // A network too large for the host's memory is a fact about the configuration; rerunning it would not help.
      r.state = "failed";
      r.score = kFailedScore;
      r.message = "out of host memory (std::bad_alloc) while training this configuration";
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
  }

  StudyOptions o_;
  space::SearchSpace space_;
  std::unique_ptr<store::TrialStore> store_;
  std::string journal_;
  std::shared_ptr<const BenchmarkTable> table_;
  std::vector<bool> table_used_;                    // table rows given to a trial so far
  std::unique_ptr<search::Sampler> sampler_;
  std::unique_ptr<sched::Scheduler> scheduler_;
  std::unique_ptr<score::Estimator> estimator_;
  data::TrainVal split_;
  data::Dataset test_;  // only with test_accuracy
  std::map<std::int64_t, store::TrialRow> recorded_;
  std::map<std::int64_t, space::Config> configs_;
  std::int64_t next_trial_ = 0;
  StudySummary summary_;
  std::atomic<std::int64_t> epochs_recorded_{0};  // rows in the journal's epochs table; workers add to it
  Callbacks callbacks_;
  std::vector<std::string> devices_;
  std::mutex init_mu_;
  std::atomic<bool> cancel_{false};

  // Epoch rows go to the journal here; an MPI worker's Runner sends them to rank 0 instead (set_sink).
  class JournalSink final : public exec::EpochSink {
   public:
    explicit JournalSink(Runner& r) : r_(r) {}
    std::int64_t recorded(std::int64_t trial) override {
      std::int64_t n = 0;
      for (const auto& row : r_.store_->epochs(trial)) n = std::max(n, row.epoch);
      return n;
    }
    void add(std::int64_t trial, std::int64_t epoch, const nlohmann::json& record) override {
      r_.store_->add_epoch({trial, epoch, record});
      ++r_.epochs_recorded_;
    }

   private:
    Runner& r_;
  } journal_sink_{*this};
  exec::EpochSink* sink_ = &journal_sink_;
  std::unique_ptr<exec::Objective> external_;  // run_study / resume_study with a MakeObjective
  exec::Objective* objective_ = this;

 public:
  void set_sink(exec::EpochSink& sink) { sink_ = &sink; }
  void set_callbacks(const Callbacks& callbacks) { callbacks_ = callbacks; }
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

StudySummary start(StudyOptions options, std::unique_ptr<store::TrialStore> store, const std::string& journal,
                   std::shared_ptr<const BenchmarkTable> table, const Callbacks& callbacks,
                   std::optional<StudyData> loaded = std::nullopt, const MakeObjective& make = {}) {
  if (table) options = with_table_settings(std::move(options), *table);
  options.augment = data::resolve_augment(options.augment, options.data);  // the journal records what ran
  auto space = load_space(options.space, options.flops_cap, options.width_mult);
  store->write_study(study_record(options, space));
  Runner runner(options, std::move(space), std::move(store), journal, false, std::move(table), std::move(loaded),
                make);
  return runner.run(callbacks);
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
}

}  // namespace

StudySummary run_study(const StudyOptions& options, const std::string& journal, const Callbacks& callbacks) {
  options.validate();
  auto table = table_for(options);
  const auto checked = table ? with_table_settings(options, *table) : options;
  auto space = load_space(checked.space, checked.flops_cap, checked.width_mult);
  check_space_params(space);
  {
    // Catch a space whose configurations cannot become a network before any work (e.g. half an NB-201 cell).
    space::Rng rng(checked.seed);
    train::TrainOptions t;
    models::ModelSpec spec;
    apply_config(space.sample(rng), checked, t, spec);
  }
  refuse_existing(journal);
  // The data too is read before the journal exists: a bad --data or --train-size must not leave a journal behind
  // that blocks both a new search and --resume.
  std::optional<StudyData> loaded;
  if (checked.objective == "train") loaded = load_study_data(checked, table.get());
  return start(options, store::open_sqlite_store(journal, true), journal, std::move(table), callbacks,
               std::move(loaded));
}

void serve_mpi_worker(const Callbacks& callbacks) {
  exec::serve_mpi_worker([&](const nlohmann::json& hello, exec::EpochSink& sink,
                             std::function<bool()> cancelled) -> std::unique_ptr<exec::Objective> {
    auto options = StudyOptions::from_json(hello.at("options"));
    const auto journal = hello.at("journal").get<std::string>();
    const auto all = space_names();
    const bool builtin = std::find(all.begin(), all.end(), options.space) != all.end();
    auto space = builtin ? load_space(options.space, options.flops_cap, options.width_mult)
                         : space::SearchSpace::from_json(hello.at("space_definition"), journal);
    // The options arrive resolved (table settings applied): only the table's rows are needed here.
    auto table = options.table.empty() ? nullptr
                                       : std::make_shared<const BenchmarkTable>(BenchmarkTable::load(options.table));
    auto runner = std::make_unique<Runner>(options, std::move(space), store::open_memory_store(), journal, false,
                                           std::move(table));
    runner->set_sink(sink);
    Callbacks cb = callbacks;
    cb.interrupt = [interrupt = callbacks.interrupt, cancelled] { return cancelled() || (interrupt && interrupt()); };
    runner->set_callbacks(cb);
    return runner;
  });
}

StudySummary run_study(const StudyOptions& options, const std::string& journal, const MakeObjective& make,
                       const Callbacks& callbacks) {
  options.validate();
  refuse_existing(journal);
  return start(options, store::open_sqlite_store(journal, true), journal, nullptr, callbacks, std::nullopt, make);
}

StudySummary run_table_search(const StudyOptions& options, std::shared_ptr<const BenchmarkTable> table,
                              const Callbacks& callbacks) {
  auto o = options;
  o.objective = "table";
  o.table = table->path();
  o.validate();
  return start(o, store::open_memory_store(), ":memory:", std::move(table), callbacks);
}

namespace {
void refuse_unstarted(const std::string& journal) {
  if (store::journal_unstarted(journal)) {
    throw InputError(fmt::format("{} was created but its search never started (stopped while creating the journal), "
                                 "so it holds no settings to resume with: run the search command again without "
                                 "--resume; it replaces this journal",
                                 journal));
  }
}

std::pair<StudyOptions, space::SearchSpace> read_definition(const store::TrialStore& store) {
  const auto study = store.read_study();
  if (!study) throw store::StoreError(fmt::format("{}: the journal has no study record", store.path()));
  auto options = StudyOptions::from_json(study->at("options"));
  const auto all = space_names();
  const bool builtin = std::find(all.begin(), all.end(), options.space) != all.end();
  auto space = builtin ? load_space(options.space, options.flops_cap, options.width_mult)
                       : space::SearchSpace::from_json(study->at("space_definition"), store.path());
  return {options, space};
}
}  // namespace

namespace {
StudySummary resume(const std::string& journal, const Callbacks& callbacks, std::optional<int> workers,
                    std::optional<std::string> data, std::optional<std::string> device, const std::string& executor,
                    const MakeObjective& make) {
  if (!fs::exists(journal)) throw InputError(fmt::format("--resume: no journal at {}", journal));
  refuse_unstarted(journal);
  auto store = store::open_sqlite_store(journal, false);
  auto [options, space] = read_definition(*store);
  if (data) {
    const auto name = [](const std::string& spec) { return spec.substr(0, spec.find(':')); };
    if (name(*data) != name(options.data)) {
      throw InputError(fmt::format("--data {}: {} searched {}; on resume --data may only move the same dataset "
                                   "(e.g. {}:/new/dir)",
                                   *data, journal, options.data, name(options.data)));
    }
    options.data = *data;
  }
  if (workers) {
    if (*workers < 1) throw InputError(fmt::format("--workers must be >= 1 (got {})", *workers));
    options.workers = *workers;
  }
  if (device) options.device = *device;
  options.executor = executor;
  for (const auto& d : device_list(options.device)) {
    if (torch::Device(d).is_cuda() && !torch::cuda::is_available()) {
      throw InputError(fmt::format("{} ran on --device {}, and this host has no CUDA device: resume with --device cpu "
                                   "(the jobs still to run then train on the CPU; nothing was changed)",
                                   journal, options.device));
    }
  }
  auto table = table_for(options);
  Runner runner(options, std::move(space), std::move(store), journal, true, std::move(table), std::nullopt, make);
  return runner.run(callbacks);
}
}  // namespace

StudySummary resume_study(const std::string& journal, const Callbacks& callbacks, std::optional<int> workers,
                          std::optional<std::string> data, std::optional<std::string> device,
                          const std::string& executor) {
  return resume(journal, callbacks, workers, std::move(data), std::move(device), executor, {});
}

StudySummary resume_study(const std::string& journal, const MakeObjective& make, const Callbacks& callbacks,
                          std::optional<int> workers) {
  return resume(journal, callbacks, workers, std::nullopt, std::nullopt, "auto", make);
}

StudyOptions journal_options(const std::string& journal) {
  if (!fs::exists(journal)) throw InputError(fmt::format("--journal {}: no such file", journal));
  refuse_unstarted(journal);
  auto store = store::open_sqlite_store_readonly(journal);
  return read_definition(*store).first;
}

space::Config trial_config(const std::string& journal, std::int64_t trial) {
  if (!fs::exists(journal)) throw InputError(fmt::format("--journal {}: no such file", journal));
  auto store = store::open_sqlite_store_readonly(journal);
  const auto row = store->trial(trial);
  if (!row) {
    const auto n = static_cast<std::int64_t>(store->trials().size());
    throw InputError(fmt::format("--trial {}: {} has trials 0..{}", trial, journal, n - 1));
  }
  return space::Config::from_json(row->config);
}

StudySummary summarize_journal(const std::string& journal) {
  if (!fs::exists(journal)) throw InputError(fmt::format("--journal {}: no such file", journal));
  auto store = store::open_sqlite_store_readonly(journal);
  const auto options = read_definition(*store).first;
  StudySummary s;
  s.journal = store->path();
  std::map<std::int64_t, space::Config> configs;
  for (const auto& t : store->trials()) configs[t.trial] = space::Config::from_json(t.config);
  s.trials = static_cast<std::int64_t>(configs.size());
  const auto epochs = store->epochs();
  s.epochs_trained = static_cast<std::int64_t>(epochs.size());
  std::map<std::pair<std::int64_t, std::int64_t>, double> original;
  for (const auto& e : epochs) original[{e.trial, e.epoch}] = e.record.value("original_val_acc", 0.0);
  for (const auto& ev : store->events()) {
    if (ev.kind != "result") continue;
    s.seconds += ev.seconds;
    ++s.jobs;
    TrialResult r = result_of(ev);
    const auto it = original.find({ev.trial, ev.budget_epochs});
    if (it != original.end()) r.original_val_acc = it->second;
    if (improves(s.best, r, options.sched.max_budget)) {
      s.best = r;
      s.best_config = configs.at(ev.trial);
    }
  }
  return s;
}

}  // namespace fhist::study
