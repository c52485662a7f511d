#include "study/study.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>  // fmt::join (moved here in fmt 11, the fmt that PyTorch 2.5+ wheels ship)

#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>
#include <thread>

#include <c10/core/StreamGuard.h>
#include <c10/core/impl/DeviceGuardImplInterface.h>

#include "core/errors.hpp"
#include "core/rng.hpp"
#include "curve/curve.hpp"
#include "data/dataset.hpp"
#include "nas/darts.hpp"
#include "nas/nb201.hpp"
#include "nas/network.hpp"
#include "models/resnet.hpp"
#include "search/sampler.hpp"
#include "store/trial_store.hpp"
#include "train/trainer.hpp"

namespace fhist::study {

namespace fs = std::filesystem;

namespace {

constexpr double kFailedScore = -std::numeric_limits<double>::infinity();
// Configuration keys the objective understands; anything else in a space is refused before any work.
const std::vector<std::string> kKnownParams = {"lr", "weight_decay", "momentum", "batch_size", "width_mult",
                                               "model", "ra_n", "ra_m", "d2", "d3", "d4", "d5",
                                               "w2", "w3", "w4", "w5"};
const std::vector<std::string> kDepthParams = {"d2", "d3", "d4", "d5"};
const std::vector<std::string> kWidthParams = {"w2", "w3", "w4", "w5"};

bool has_prefix(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// A parameter of a cell-based space: it selects part of the architecture, not a training option.
bool is_nb201_param(const std::string& name) { return has_prefix(name, "edge_"); }
bool is_darts_param(const std::string& name) { return has_prefix(name, "normal_") || has_prefix(name, "reduce_"); }

void check_space_params(const space::SearchSpace& s) {
  const auto nb201 = nas::nb201_space(), darts = nas::darts_space();
  auto in = [](const space::SearchSpace& sp, const std::string& n) {
    return std::any_of(sp.params().begin(), sp.params().end(), [&](const space::Param& p) { return p.name == n; });
  };
  for (const auto& p : s.params()) {
    if (std::find(kKnownParams.begin(), kKnownParams.end(), p.name) == kKnownParams.end() && !in(nb201, p.name) &&
        !in(darts, p.name)) {
      throw InputError(fmt::format("space '{}': parameter '{}' is not a training option fhist knows (known: {}, and "
                                   "the cell parameters of the nb201 and darts spaces)",
                                   s.name(), p.name, fmt::join(kKnownParams, ", ")));
    }
  }
}

sched::TrialState state_of(const std::string& s) {
  if (s == "failed") return sched::TrialState::kFailed;
  if (s == "diverged") return sched::TrialState::kDiverged;
  return sched::TrialState::kComplete;
}

nlohmann::json epoch_json(const train::EpochRecord& rec) {
  auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  return {{"train_loss", rec.train_loss},  {"original_val_acc", rec.original_val_acc},
          {"refit_val_acc", num(rec.refit_val_acc)}, {"estimate", num(rec.estimate)},
          {"lr", rec.lr},                  {"seconds", rec.seconds},
          {"estimate_seconds", rec.estimate_seconds}};
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

// The incumbent is the best finite score among results at the largest budget any trial reached.
bool improves(const std::optional<TrialResult>& best, const TrialResult& r) {
  if (!std::isfinite(r.score)) return false;
  return !best || r.budget_epochs > best->budget_epochs ||
         (r.budget_epochs == best->budget_epochs && r.score > best->score);
}

// Everything a running study holds. Built fresh for a new study and for a resume (then filled by replay).
class Runner {
 public:
  Runner(StudyOptions options, space::SearchSpace space, std::unique_ptr<store::TrialStore> store,
         std::string journal, bool replaying)
      : o_(std::move(options)), space_(std::move(space)), store_(std::move(store)), journal_(std::move(journal)) {
    if (o_.algo == "bohb") {
      sampler_ = std::make_unique<search::KdeSampler>(space_);
    } else {
      sampler_ = std::make_unique<search::RandomSampler>(space_);
    }
    const std::string sched_name = o_.algo == "bohb" ? "hyperband" : o_.algo;
    scheduler_ = sched::make_scheduler(sched_name, o_.sched, [this](int bracket) { return new_trial(bracket); });
    if (replaying) {
      for (const auto& t : store_->trials()) recorded_.emplace(t.trial, t);
    }
    auto tt = data::load_dataset(o_.data);
    split_ = data::split_train_val(tt.train, o_.train_size, o_.val_size, o_.seed);
    summary_.journal = store_->path();
    devices_ = device_list(o_.device);
    epochs_recorded_ = static_cast<std::int64_t>(store_->epochs().size());  // read once; counted from here on
  }

  StudySummary run(const Callbacks& callbacks) {
    callbacks_ = callbacks;
    std::deque<sched::Job> rerun = replay();
    // The next job: first those the journal left running, then the scheduler's (recorded before they start).
    auto next_job = [&]() -> std::optional<sched::Job> {
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
    if (o_.workers <= 1) {
      // One job at a time on this thread: the order of everything is fixed by the seed.
      while (auto job = next_job()) report(run_job(*job, configs_.at(job->trial), devices_.front()));
    } else {
      run_parallel(next_job, report);
    }
    if (!scheduler_->done()) throw Error("internal: the scheduler stopped handing out jobs before it was done");
    return summary_;
  }

 private:
  // Not derived from std::exception, so run_job's handlers let it through: the job is abandoned, not failed, and
  // stays "started" in the journal (a resume reruns it).
  struct Cancelled {};

  // Runs up to o_.workers jobs at once, each on its own thread; the scheduler, the sampler and the callbacks' results
  // stay on this thread. A worker's fatal error (the journal failing) stops the others at their next step and is
  // rethrown once all have stopped.
  template <class NextJob, class Report>
  void run_parallel(NextJob& next_job, Report& report) {
    struct Slot {
      std::thread thread;
      bool busy = false;
      std::optional<TrialResult> result;
      std::exception_ptr error;
    };
    const auto n = static_cast<std::size_t>(o_.workers);
    std::vector<Slot> slots(n);
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::size_t> finished;
    // Each CPU worker gets an equal share of the intra-op threads (OpenMP's setting is per thread).
    const int threads = std::max(1, at::get_num_threads() / o_.workers);
    struct JoinAll {  // also on the way out of an exception thrown on this thread
      std::vector<Slot>& slots;
      std::atomic<bool>& cancel;
      ~JoinAll() {
        cancel = true;
        for (auto& s : slots) {
          if (s.thread.joinable()) s.thread.join();
        }
      }
    } join_all{slots, cancel_};
    std::exception_ptr fatal;
    std::size_t busy = 0;
    while (true) {
      for (std::size_t i = 0; i < n && !fatal; ++i) {
        if (slots[i].busy) continue;
        auto job = next_job();
        if (!job) break;
        Slot& slot = slots[i];
        slot.busy = true;
        slot.result.reset();
        slot.error = nullptr;
        ++busy;
        // The worker gets its own copy of the configuration: configs_ grows on this thread while it trains.
        slot.thread = std::thread([this, &slot, &mu, &cv, &finished, i, threads, job = *job,
                                   config = configs_.at(job->trial),
                                   device = devices_[i % devices_.size()]]() {
          try {
            at::set_num_threads(threads);
            // Each GPU worker issues its kernels on a stream of its own, so workers sharing a GPU overlap instead of
            // queueing on its default stream. The current stream is per thread; everything the job does (data copy,
            // training, estimates) runs on this thread.
            std::optional<c10::StreamGuard> stream;
            const torch::Device dev(device);
            if (dev.is_cuda()) {
              const auto* impl = c10::impl::getDeviceGuardImpl(c10::DeviceType::CUDA);
              stream.emplace(impl->getStreamFromGlobalPool(dev.has_index() ? dev : impl->getDevice()));
            }
            slot.result = run_job(job, config, device);
          } catch (...) {
            slot.error = std::current_exception();
          }
          std::lock_guard<std::mutex> lock(mu);
          finished.push_back(i);
          cv.notify_one();
        });
      }
      if (busy == 0) break;
      std::size_t i = 0;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return !finished.empty(); });
        i = finished.front();
        finished.pop_front();
      }
      Slot& slot = slots[i];
      slot.thread.join();
      slot.busy = false;
      --busy;
      if (slot.error) {
        if (!fatal) {
          fatal = slot.error;
          cancel_ = true;
        }
        continue;
      }
      if (!fatal) report(*slot.result);
    }
    if (fatal) std::rethrow_exception(fatal);
  }

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
      store::TrialRow row;
      row.trial = id;
      row.bracket = bracket;
      row.config = config.to_json();
      store_->add_trial(row);
    }
    configs_[id] = config;
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
        r.original_val_acc = last_original(ev.trial);
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

  double last_original(std::int64_t trial) const {
    const auto rows = store_->epochs(trial);
    return rows.empty() ? 0.0 : rows.back().record.value("original_val_acc", 0.0);
  }

  void apply_result(const TrialResult& r) {
    scheduler_->on_result({r.trial, r.budget_epochs, r.score, state_of(r.state)});
    sampler_->observe(configs_.at(r.trial), r.budget_epochs, r.score);
    summary_.seconds += r.seconds;
    summary_.trials = static_cast<std::int64_t>(configs_.size());
    summary_.epochs_trained = epochs_recorded_;
    if (improves(summary_.best, r)) {
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

  TrialResult run_job(const sched::Job& job, const space::Config& config, const std::string& device) {
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
      t.seed = derive_seed(o_.seed, Stream::kTrial, static_cast<std::uint64_t>(job.trial));
      t.estimate_each_epoch = o_.estimator == "fh";
      spec.in_channels = split_.train.channels();
      spec.num_classes = split_.train.num_classes;
      models::ClassifierPtr net;
      {
        // Weight init draws from Torch's global generator: seeding and drawing must not interleave across workers.
        std::lock_guard<std::mutex> lock(init_mu_);
        train::seed_weight_init(t.seed);
        net = nas::make_network(spec);
      }
      train::Trainer trainer(net, split_.train, split_.val, t);
      const std::string ckpt = (fs::path(trial_dir(journal_, job.trial)) / "checkpoint.pt").string();
      if (fs::exists(ckpt)) trainer.load_checkpoint(ckpt);
      // Epoch rows follow the checkpoint: a crash between the two leaves rows to add now, never a duplicate.
      std::int64_t recorded = 0;
      for (const auto& row : store_->epochs(job.trial)) recorded = std::max(recorded, row.epoch);
      auto add_rows = [&]() {
        for (const auto& rec : trainer.records()) {
          if (rec.epoch <= recorded) continue;
          store_->add_epoch({job.trial, rec.epoch, epoch_json(rec)});
          ++epochs_recorded_;
          recorded = rec.epoch;
        }
      };
      add_rows();
      while (!trainer.finished()) {
        const auto epoch = trainer.epochs_done() + 1;
        trainer.run_epoch([&](std::int64_t step, std::int64_t steps, double loss) {
          if (cancel_) throw Cancelled{};
          if (callbacks_.on_step) callbacks_.on_step(job, epoch, step, steps, loss);
        });
        trainer.save_checkpoint(ckpt);
        add_rows();
      }
      const auto& last = trainer.records().back();
      r.original_val_acc = last.original_val_acc;
      if (o_.estimator == "fh") {
        r.score = last.estimate;
      } else if (o_.estimator == "curve") {
        std::vector<double> accs;
        for (const auto& rec : trainer.records()) accs.push_back(rec.original_val_acc);
        r.score = curve::extrapolate(accs, o_.sched.max_budget);
      } else {
        r.score = last.original_val_acc;
      }
      r.state = "complete";
    } catch (const DivergedError& e) {
      r.state = "diverged";
      r.score = kFailedScore;
      r.message = e.what();
    } catch (const store::StoreError&) {
      throw;  // the journal itself failing is not the trial's fault
    } catch (const Error& e) {
      r.state = "failed";
      r.score = kFailedScore;
      r.message = e.what();
    } catch (const c10::Error& e) {
      r.state = "failed";
      r.score = kFailedScore;
      r.message = e.what_without_backtrace();
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
  }

  StudyOptions o_;
  space::SearchSpace space_;
  std::unique_ptr<store::TrialStore> store_;
  std::string journal_;
  std::unique_ptr<search::Sampler> sampler_;
  std::unique_ptr<sched::Scheduler> scheduler_;
  data::TrainVal split_;
  std::map<std::int64_t, store::TrialRow> recorded_;
  std::map<std::int64_t, space::Config> configs_;
  std::int64_t next_trial_ = 0;
  StudySummary summary_;
  std::atomic<std::int64_t> epochs_recorded_{0};  // rows in the journal's epochs table; workers add to it
  Callbacks callbacks_;
  std::vector<std::string> devices_;
  std::mutex init_mu_;
  std::atomic<bool> cancel_{false};
};

nlohmann::json study_record(const StudyOptions& o, const space::SearchSpace& s) {
  return {{"options", o.to_json()},
          {"space_definition", s.to_json()},
          {"fhist_version", FHIST_VERSION_STRING},
          {"schema_version", store::kSchemaVersion}};
}

}  // namespace

namespace {

// Paper A.6: scale ResNet-18's stages C2..C5 in depth (d_s x 2 blocks) and width (w_s x channels) under a MACs cap
// relative to ResNet-18's 0.56 G on 3x32x32 / 100 classes.
space::SearchSpace resnet_scale_space(const std::string& flops_cap) {
  std::vector<space::Param> params;
  for (const auto& d : kDepthParams) params.push_back(space::Param::categorical(d, {1.0, 1.5, 2.0, 2.5, 3.0}));
  for (const auto& w : kWidthParams) params.push_back(space::Param::categorical(w, {1.0, 1.25, 1.5, 1.75, 2.0}));
  std::vector<space::Constraint> constraints;
  if (!flops_cap.empty()) {
    if (flops_cap != "2x" && flops_cap != "4x") {
      throw InputError(fmt::format("--flops-cap '{}': expected 2x (1.12 G MACs) or 4x (2.24 G)", flops_cap));
    }
    const double cap = flops_cap == "2x" ? 1.12e9 : 2.24e9;
    constraints.push_back({"macs <= " + flops_cap + " ResNet-18", [cap](const space::Config& c) {
                             std::vector<double> d, w;
                             for (const auto& k : kDepthParams) d.push_back(c.get_double(k));
                             for (const auto& k : kWidthParams) w.push_back(c.get_double(k));
                             return static_cast<double>(models::scaled_resnet_macs(d, w, 3, 32, 32, 100)) <= cap;
                           }});
  }
  return space::SearchSpace("resnet-scale", std::move(params), std::move(constraints));
}

}  // namespace

std::vector<std::string> space_names() {
  auto names = space::builtin_space_names();
  for (const char* n : {"nb201", "darts", "resnet-scale"}) names.push_back(n);
  return names;
}

space::SearchSpace load_space(const std::string& spec, const std::string& flops_cap) {
  if (spec == "nb201") return nas::nb201_space();
  if (spec == "darts") return nas::darts_space();
  if (spec == "resnet-scale") return resnet_scale_space(flops_cap);
  const auto names = space::builtin_space_names();
  if (std::find(names.begin(), names.end(), spec) != names.end()) return space::builtin_space(spec);
  if (fs::exists(spec)) return space::SearchSpace::from_file(spec);
  throw InputError(fmt::format("--space '{}': neither a built-in space ({}) nor an existing JSON file", spec,
                               fmt::join(space_names(), ", ")));
}

void apply_config(const space::Config& cfg, const StudyOptions& o, train::TrainOptions& t, models::ModelSpec& spec) {
  t.lr = cfg.has("lr") ? cfg.get_double("lr") : o.lr;
  t.weight_decay = cfg.has("weight_decay") ? cfg.get_double("weight_decay") : o.weight_decay;
  if (cfg.has("momentum")) t.momentum = cfg.get_double("momentum");
  t.batch_size = cfg.has("batch_size") ? cfg.get_int("batch_size") : o.batch_size;
  t.window = o.window;
  t.augment = data::AugmentOptions::parse(o.augment);
  if (cfg.has("ra_n")) t.augment.randaugment_n = static_cast<int>(cfg.get_int("ra_n"));
  if (cfg.has("ra_m")) t.augment.randaugment_m = static_cast<int>(cfg.get_int("ra_m"));
  // The paper searches RandAugment with flips, pad-and-crop and Cutout on (A.5); Cutout 16 unless --augment says.
  if (t.augment.randaugment_n > 0 && t.augment.cutout == 0) t.augment.cutout = 16;
  t.device = torch::Device(device_list(o.device).front());
  t.bf16 = o.bf16;
  t.channels_last = o.channels_last;
  t.data_on_device = t.device.is_cuda();
  spec.name = cfg.has("model") ? cfg.get_string("model") : o.model;
  spec.width_mult = cfg.has("width_mult") ? cfg.get_double("width_mult") : o.width_mult;
  spec.channels = o.channels;
  spec.cells = o.cells;
  spec.auxiliary = o.auxiliary;
  const auto& values = cfg.values();
  auto stage_mults = [&](const std::vector<std::string>& keys) {
    std::vector<double> m;
    for (const auto& k : keys) m.push_back(cfg.has(k) ? cfg.get_double(k) : 1.0);
    return m;
  };
  auto has_any = [&](const std::vector<std::string>& keys) {
    return std::any_of(keys.begin(), keys.end(), [&](const std::string& k) { return cfg.has(k); });
  };
  if (has_any(kDepthParams) || has_any(kWidthParams)) {
    spec.name = "resnet-scale";
    spec.depth_mults = stage_mults(kDepthParams);
    spec.width_mults = stage_mults(kWidthParams);
  } else if (std::any_of(values.begin(), values.end(), [](const auto& kv) { return is_nb201_param(kv.first); })) {
    spec.name = "nb201";
    spec.arch = nas::to_string(nas::nb201_arch_from_config(cfg));
  } else if (std::any_of(values.begin(), values.end(), [](const auto& kv) { return is_darts_param(kv.first); })) {
    spec.name = "darts";
    spec.arch = nas::to_string(nas::darts_genotype_from_config(cfg));
  }
}

std::vector<std::string> device_list(const std::string& devices) {
  std::vector<std::string> out;
  std::size_t begin = 0;
  while (true) {
    const auto comma = devices.find(',', begin);
    out.push_back(devices.substr(begin, comma == std::string::npos ? std::string::npos : comma - begin));
    if (out.back().empty()) {
      throw InputError(fmt::format("--device '{}': empty entry in the device list (expected e.g. cuda:0,cuda:1)",
                                   devices));
    }
    if (comma == std::string::npos) return out;
    begin = comma + 1;
  }
}

std::string trial_dir(const std::string& journal, std::int64_t trial) {
  return fmt::format("{}.trials/trial_{:05d}", journal, trial);
}

void StudyOptions::validate() const {
  const std::vector<std::string> algos = {"random", "sh", "hyperband", "bohb", "asha"};
  if (std::find(algos.begin(), algos.end(), algo) == algos.end()) {
    throw InputError(fmt::format("--algo '{}': expected one of {}", algo, fmt::join(algos, ", ")));
  }
  const std::vector<std::string> estimators = {"original", "fh", "curve"};
  if (std::find(estimators.begin(), estimators.end(), estimator) == estimators.end()) {
    throw InputError(fmt::format("--estimator '{}': expected one of {}", estimator, fmt::join(estimators, ", ")));
  }
  if (workers < 1) throw InputError(fmt::format("--workers must be >= 1 (got {})", workers));
  device_list(device);
  if (window < 1) throw InputError(fmt::format("--window must be >= 1 (got {})", window));
  if (train_size <= 0) throw InputError(fmt::format("--train-size must be positive (got {})", train_size));
  if (val_size <= 0) throw InputError(fmt::format("--val-size must be positive (got {})", val_size));
  sched::hyperband_plan(sched.min_budget, sched.max_budget, sched.eta);  // validates the budgets
  data::AugmentOptions::parse(augment);
}

nlohmann::json StudyOptions::to_json() const {
  return {{"space", space},         {"data", data},
          {"model", model},         {"width_mult", width_mult},
          {"train_size", train_size}, {"val_size", val_size},
          {"augment", augment},     {"algo", algo},
          {"lr", lr},               {"weight_decay", weight_decay},
          {"batch_size", batch_size}, {"channels", channels},
          {"cells", cells},         {"auxiliary", auxiliary},
          {"flops_cap", flops_cap},
          {"estimator", estimator}, {"min_budget", sched.min_budget},
          {"max_budget", sched.max_budget}, {"eta", sched.eta},
          {"n_configs", sched.n_configs}, {"iterations", sched.iterations},
          {"window", window},       {"seed", seed},
          {"keep_checkpoints", keep_checkpoints}, {"device", device},
          {"bf16", bf16},           {"channels_last", channels_last},
          {"workers", workers},
          {"threads", threads}};
}

StudyOptions StudyOptions::from_json(const nlohmann::json& j) {
  StudyOptions o;
  try {
    o.space = j.at("space").get<std::string>();
    o.data = j.at("data").get<std::string>();
    o.model = j.at("model").get<std::string>();
    o.width_mult = j.at("width_mult").get<double>();
    o.train_size = j.at("train_size").get<std::int64_t>();
    o.val_size = j.at("val_size").get<std::int64_t>();
    o.augment = j.at("augment").get<std::string>();
    o.lr = j.at("lr").get<double>();
    o.weight_decay = j.at("weight_decay").get<double>();
    o.batch_size = j.at("batch_size").get<std::int64_t>();
    o.channels = j.at("channels").get<std::int64_t>();
    o.cells = j.at("cells").get<std::int64_t>();
    o.auxiliary = j.at("auxiliary").get<bool>();
    o.flops_cap = j.at("flops_cap").get<std::string>();
    o.algo = j.at("algo").get<std::string>();
    o.estimator = j.at("estimator").get<std::string>();
    o.sched.min_budget = j.at("min_budget").get<std::int64_t>();
    o.sched.max_budget = j.at("max_budget").get<std::int64_t>();
    o.sched.eta = j.at("eta").get<int>();
    o.sched.n_configs = j.at("n_configs").get<std::int64_t>();
    o.sched.iterations = j.at("iterations").get<int>();
    o.window = j.at("window").get<int>();
    o.seed = j.at("seed").get<std::uint64_t>();
    o.keep_checkpoints = j.at("keep_checkpoints").get<bool>();
    o.device = j.at("device").get<std::string>();
    o.bf16 = j.at("bf16").get<bool>();
    o.channels_last = j.at("channels_last").get<bool>();
    o.threads = j.at("threads").get<int>();
    o.workers = j.value("workers", 1);  // journals written before --workers existed
  } catch (const nlohmann::json::exception& e) {
    throw store::StoreError(fmt::format("the journal's study record is incomplete: {}", e.what()));
  }
  return o;
}

StudySummary run_study(const StudyOptions& options, const std::string& journal, const Callbacks& callbacks) {
  options.validate();
  auto space = load_space(options.space, options.flops_cap);
  check_space_params(space);
  {
    // Catch a space whose configurations cannot become a network before any work (e.g. half an NB-201 cell).
    space::Rng rng(options.seed);
    train::TrainOptions t;
    models::ModelSpec spec;
    apply_config(space.sample(rng), options, t, spec);
  }
  if (fs::exists(journal)) {
    throw InputError(fmt::format("{} already exists: pass --resume to continue that search, or choose another "
                                 "--journal (nothing was changed)",
                                 journal));
  }
  auto store = store::open_sqlite_store(journal, true);
  store->write_study(study_record(options, space));
  Runner runner(options, std::move(space), std::move(store), journal, false);
  return runner.run(callbacks);
}

namespace {
std::pair<StudyOptions, space::SearchSpace> read_definition(const store::TrialStore& store) {
  const auto study = store.read_study();
  if (!study) throw store::StoreError(fmt::format("{}: the journal has no study record", store.path()));
  auto options = StudyOptions::from_json(study->at("options"));
  const auto all = space_names();
  const bool builtin = std::find(all.begin(), all.end(), options.space) != all.end();
  auto space = builtin ? load_space(options.space, options.flops_cap)
                       : space::SearchSpace::from_json(study->at("space_definition"), store.path());
  return {options, space};
}
}  // namespace

StudySummary resume_study(const std::string& journal, const Callbacks& callbacks, std::optional<int> workers) {
  if (!fs::exists(journal)) throw InputError(fmt::format("--resume: no journal at {}", journal));
  auto store = store::open_sqlite_store(journal, false);
  auto [options, space] = read_definition(*store);
  if (workers) {
    if (*workers < 1) throw InputError(fmt::format("--workers must be >= 1 (got {})", *workers));
    options.workers = *workers;
  }
  Runner runner(options, std::move(space), std::move(store), journal, true);
  return runner.run(callbacks);
}

StudyOptions journal_options(const std::string& journal) {
  if (!fs::exists(journal)) throw InputError(fmt::format("--journal {}: no such file", journal));
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
  auto [options, space] = read_definition(*store);
  (void)space;
  StudySummary s;
  s.journal = store->path();
  std::map<std::int64_t, space::Config> configs;
  for (const auto& t : store->trials()) configs[t.trial] = space::Config::from_json(t.config);
  s.trials = static_cast<std::int64_t>(configs.size());
  s.epochs_trained = static_cast<std::int64_t>(store->epochs().size());
  for (const auto& ev : store->events()) {
    if (ev.kind != "result") continue;
    s.seconds += ev.seconds;
    const TrialResult r = result_of(ev);
    if (improves(s.best, r)) {
      s.best = r;
      s.best_config = configs.at(ev.trial);
    }
  }
  return s;
}

}  // namespace fhist::study
