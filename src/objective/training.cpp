#include "objective/training.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <mutex>
#include <new>

#include <c10/core/impl/DeviceGuardImplInterface.h>

#include "core/errors.hpp"
#include "core/rng.hpp"
#include "core/text.hpp"
#include "data/augment.hpp"
#include "data/dataset.hpp"
#include "input/input.hpp"
#include "models/model.hpp"
#include "nas/network.hpp"
#include "space/augment.hpp"
#include "space/catalog.hpp"
#include "space/darts.hpp"
#include "space/nb201.hpp"
#include "space/resnet_scale.hpp"
#include "store/trial_store.hpp"
#include "study/devices.hpp"
#include "study/table.hpp"
#include "train/trainer.hpp"

namespace fhist::objective {

namespace fs = std::filesystem;

namespace {

constexpr double kFailedScore = -std::numeric_limits<double>::infinity();

// A job on a CUDA device of a host without one would fail every trial: refused before any work.
void check_devices(const study::ObjectiveContext& ctx) {
  for (const auto& d : study::device_list(ctx.options.device)) {
    if (!torch::Device(d).is_cuda() || torch::cuda::is_available()) continue;
    if (ctx.resuming) {
      throw InputError(fmt::format("{} ran on --device {}, and this host has no CUDA device: resume with --device cpu "
                                   "(the jobs still to run then train on the CPU; nothing was changed)",
                                   ctx.journal, ctx.options.device));
    }
    throw InputError(fmt::format("--device {}: this host has no CUDA device (use --device cpu)", ctx.options.device));
  }
  if (torch::cuda::is_available()) {
    study::check_device_indices(ctx.options.device, static_cast<int>(torch::cuda::device_count()), ctx.resuming,
                                ctx.journal);
  }
}

class TrainingObjective final : public exec::Objective {
 public:
  explicit TrainingObjective(const study::ObjectiveContext& ctx)
      : o_(ctx.options),
        journal_(ctx.journal),
        discard_bad_checkpoints_(ctx.discard_bad_checkpoints),
        table_(ctx.table),
        sink_(*ctx.sink),
        cancelled_(ctx.cancelled),
        on_step_(ctx.on_step),
        estimator_(score::make_estimator(ctx.options.estimator)) {
    // Names and ranges of the space's parameters, then the devices, before any data is read.
    space::check_space_params(ctx.space, space::is_builtin_space(o_.space) ? "" : o_.space);
    check_devices(ctx);
    // A space whose configurations cannot become a network (half an NB-201 cell) is refused before the data is read;
    // one that cannot train on this data (a table on a CNN, RandAugment on float arrays) once it is.
    space::Rng rng(o_.seed);
    train::TrainOptions t;
    models::ModelSpec spec;
    apply_config(ctx.space.sample(rng), o_, t, spec);
    auto tt = data::load_dataset(o_.training.data, input::DataOptions::from_json(o_.training.data_options));
    // Trials restricted to a table's configurations train on the table's split.
    auto splits =
        data::make_splits(tt, o_.training.train_size, o_.training.val_size, table_ ? table_->options().seed : o_.seed);
    split_ = {std::move(splits.train), std::move(splits.val)};
    if (o_.training.test_accuracy) {
      if (splits.test.size() == 0) {
        throw InputError(
            fmt::format("{} has no test split, and a table measures test accuracy: give the data one "
                        "(folder: DIR/test; npy: x_test.npy + y_test.npy), or pass --holdout 0.2 to "
                        "set one aside",
                        o_.training.data));
      }
      test_ = std::move(splits.test);
    }
    fit_model_to_data(spec, split_.train);
    data::check_augment(split_.train, t.augment);
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

  // A retired trial's checkpoint is no longer needed, unless the search keeps them (--keep-checkpoints).
  void release(std::int64_t trial) override {
    if (o_.keep_checkpoints) return;
    std::error_code ec;
    fs::remove_all(study::trial_dir(journal_, trial), ec);
  }

  static EnvironmentError checkpoint_write_error(std::int64_t trial, const std::string& why) {
    return EnvironmentError(fmt::format("trial {}: {}. The search stopped here; every finished result is kept: free "
                                        "space or fix the folder, then resume",
                                        trial, why));
  }

  exec::Outcome run(const sched::Job& job, const space::Config& config, const exec::Worker& worker) override {
    const std::string& device = worker.device;
    const auto t0 = std::chrono::steady_clock::now();
    auto r = exec::Outcome::of(job);
    std::string discarded;  // why this trial was retrained from epoch 1, for its message in the journal
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
      fit_model_to_data(spec, split_.train);
      const auto build = [&] {
        // Weight init draws from Torch's global generator: seeding and drawing must not interleave across workers.
        std::lock_guard<std::mutex> lock(init_mu_);
        train::seed_weight_init(t.seed);
        return nas::make_network(spec);
      };
      models::ClassifierPtr net = build();
      score::TrialHistory history;
      history.final_epoch = o_.sched.max_budget;
      history.params = static_cast<double>(models::count_parameters(*net));
      history.num_classes = split_.train.num_classes;
      auto trainer = std::make_unique<train::Trainer>(net, split_.train, split_.val, t);
      const std::string ckpt = (fs::path(study::trial_dir(journal_, job.trial)) / "checkpoint.pt").string();
      if (fs::exists(ckpt)) {
        try {
          trainer->load_checkpoint(ckpt);
        } catch (const train::CorruptCheckpointError& e) {
          if (!discard_bad_checkpoints_) {
            throw EnvironmentError(fmt::format(
                "trial {}: {}. The search stopped here; nothing finished is lost. Move that file away, or resume with "
                "--discard-bad-checkpoints to set every unreadable checkpoint aside and retrain its trial from epoch 1",
                job.trial, e.what()));
          }
          // The file is kept where a retired trial's folder removal does not reach; the trial starts over on a fresh
          // network (its epoch rows already in the journal are kept: those epochs were measured).
          const auto aside = fs::path(journal_ + ".trials") / "discarded" / fmt::format("trial_{:05d}.pt", job.trial);
          fs::create_directories(aside.parent_path());
          fs::rename(ckpt, aside);
          discarded = fmt::format("retrained from epoch 1: its checkpoint could not be read ({}) and was set aside "
                                  "as {} (--discard-bad-checkpoints)",
                                  e.what(), aside.string());
          net = build();
          trainer = std::make_unique<train::Trainer>(net, split_.train, split_.val, t);
        } catch (const CheckpointError& e) {
          // The setup changed under the search (other data, another fhist): every trial would fail the same way.
          throw EnvironmentError(fmt::format("trial {}: {}. The search stopped here; nothing finished is lost: "
                                             "resume with the data and settings it started with",
                                             job.trial, e.what()));
        }
      }
      // Epoch rows follow the checkpoint: a crash between the two leaves rows to add now, never a duplicate.
      std::int64_t recorded = sink_.recorded(job.trial);
      const bool own_metric = o_.metric != "val_acc";  // validate_metric allows val_loss only, for fhist's trainer
      auto add_rows = [&]() {
        history.epochs.clear();
        for (const auto& rec : trainer->records()) {
          history.epochs.push_back(epoch_measures(rec));
          if (own_metric) {  // --metric val_loss: the search compares the network's validation loss
            history.epochs.back().original = o_.minimize() ? -rec.original_nll : rec.original_nll;
            history.original_is_accuracy = false;
          }
          if (rec.epoch <= recorded) continue;
          auto row = epoch_row(rec, history);
          if (own_metric) score::set_metric_value(row, rec.original_nll, o_.minimize());  // as a loop's rows
          // When and where it was recorded: the report's worker utilisation (busy seconds over the wall span).
          row["worker"] = worker.index;
          row["finished_at"] = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
          // Tables (fhist table): the final test accuracy, once, at the full budget; a target, never a decision.
          if (o_.training.test_accuracy && rec.epoch == o_.sched.max_budget && trainer->epochs_done() == rec.epoch) {
            row["test_acc"] = trainer->evaluate_accuracy(test_);
          }
          sink_.add(job.trial, rec.epoch, row);
          recorded = rec.epoch;
        }
      };
      add_rows();
      while (!trainer->finished()) {
        const auto epoch = trainer->epochs_done() + 1;
        trainer->run_epoch([&](std::int64_t step, std::int64_t steps, double loss) {
          if (cancelled_()) throw exec::Cancelled{};
          if (on_step_) on_step_(job, epoch, step, steps, loss);
        });
        try {
          trainer->save_checkpoint(ckpt);
        } catch (const c10::Error& e) {
          throw checkpoint_write_error(job.trial, e.what_without_backtrace());
        } catch (const std::exception& e) {  // EnvironmentError (disk full, I/O error), filesystem_error
          throw checkpoint_write_error(job.trial, e.what());
        }
        add_rows();
      }
      r.value = history.epochs.back().original;
      r.score = estimator_->score(history);
      if (!std::isfinite(r.score)) {
        throw DivergedError(fmt::format("the {} score is not finite after {}", o_.estimator,
                                        count_of(job.budget_epochs, "epoch")));
      }
      r.state = sched::TrialState::kComplete;
    } catch (const DivergedError& e) {
      r.state = sched::TrialState::kDiverged;
      r.score = kFailedScore;
      r.message = e.what();
    } catch (const store::StoreError&) {
      throw;  // the journal itself failing is not the trial's fault
    } catch (const EnvironmentError&) {
      throw;  // nor is the machine: the search stops, and a resume reruns this job
    } catch (const std::filesystem::filesystem_error& e) {
      throw EnvironmentError(fmt::format("trial {}: {}", job.trial, e.what()));
    } catch (const Error& e) {
      r.state = sched::TrialState::kFailed;
      r.score = kFailedScore;
      r.message = e.what();
    } catch (const c10::Error& e) {
      // The GPU failing (an illegal access, an ECC error) would fail every trial after it: the search stops, and a
      // resume reruns this job.
      if (study::is_device_fault(e.what_without_backtrace())) {
        throw EnvironmentError(fmt::format("trial {}: the device {} failed: {}. The search stopped here; nothing "
                                           "finished is lost: check the GPU (nvidia-smi), then resume",
                                           job.trial, device, e.what_without_backtrace()));
      }
      // Shapes that do not fit, CUDA out of memory: this configuration on this machine.
      r.state = sched::TrialState::kFailed;
      r.score = kFailedScore;
      r.message = e.what_without_backtrace();
    } catch (const std::bad_alloc&) {
      // A network too large for the host's memory is a fact about the configuration; rerunning it would not help.
      r.state = sched::TrialState::kFailed;
      r.score = kFailedScore;
      r.message = "out of host memory (std::bad_alloc) while training this configuration";
    }
    if (!discarded.empty()) r.message = r.message.empty() ? discarded : r.message + "; " + discarded;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
  }

 private:
  study::StudyOptions o_;
  std::string journal_;
  bool discard_bad_checkpoints_;
  std::shared_ptr<const study::BenchmarkTable> table_;
  exec::EpochSink& sink_;
  std::function<bool()> cancelled_;
  study::StepCallback on_step_;
  std::unique_ptr<score::Estimator> estimator_;
  data::TrainVal split_;
  data::Dataset test_;  // only with test_accuracy
  std::mutex init_mu_;
};

}  // namespace

std::unique_ptr<exec::Objective> make_training_objective(const study::ObjectiveContext& ctx) {
  return std::make_unique<TrainingObjective>(ctx);
}

study::MakeObjective training() { return make_training_objective; }

score::EpochMeasures epoch_measures(const train::EpochRecord& rec) {
  score::EpochMeasures m;
  m.epoch = rec.epoch;
  m.train_loss = rec.train_loss;
  m.original = rec.original_val_acc;
  m.refit = rec.refit_val_acc;
  m.fh = rec.estimate;
  m.fh_paper = rec.estimate_paper;
  m.window_acc = rec.window_acc;
  m.window_nll = rec.window_nll;
  m.window_soft = rec.window_soft;
  m.original_nll = rec.original_nll;
  return m;
}


nlohmann::json epoch_row(const train::EpochRecord& rec, const score::TrialHistory& upto) {
  auto row = score::measures_to_json(epoch_measures(rec));
  nlohmann::json scores = nlohmann::json::object();
  for (const auto& [name, v] : score::score_all(upto)) scores[name] = study::json_number(v);
  row["params"] = study::json_number(upto.params);
  row["num_classes"] = upto.num_classes;
  row["scores"] = scores;
  row["lr"] = rec.lr;
  row["seconds"] = rec.seconds;
  row["estimate_seconds"] = rec.estimate_seconds;
  return row;
}


void fit_model_to_data(models::ModelSpec& spec, const data::Dataset& ds) {
  if (ds.tabular && spec.name != "mlp") {
    throw InputError(fmt::format("{} is a table of numbers: it trains the mlp model (--model mlp, or --space "
                                 "mlp-hparams), not {}",
                                 ds.name, spec.name));
  }
  spec.in_channels = ds.channels();
  spec.num_classes = ds.num_classes;
  spec.in_features = ds.channels() * ds.height() * ds.width();
}

void apply_config(const space::Config& cfg, const study::StudyOptions& o, train::TrainOptions& t, models::ModelSpec& spec) {
  space::check_config_keys(cfg);
  t.lr = cfg.has("lr") ? cfg.get_double("lr") : o.training.lr;
  t.weight_decay = cfg.has("weight_decay") ? cfg.get_double("weight_decay") : o.training.weight_decay;
  if (cfg.has("momentum")) t.momentum = cfg.get_double("momentum");
  t.batch_size = cfg.has("batch_size") ? cfg.get_int("batch_size") : o.training.batch_size;
  t.window = o.training.window;
  t.augment = space::AugmentOptions::parse(space::resolve_augment(o.training.augment, o.training.data));
  if (cfg.has("ra_n")) t.augment.randaugment_n = static_cast<int>(cfg.get_int("ra_n"));
  if (cfg.has("ra_m")) t.augment.randaugment_m = static_cast<int>(cfg.get_int("ra_m"));
  // The paper searches RandAugment with flips, pad-and-crop and Cutout on (A.5); Cutout 16 unless --augment says.
  if (t.augment.randaugment_n > 0 && t.augment.cutout == 0) t.augment.cutout = 16;
  t.device = torch::Device(study::device_list(o.device).front());
  t.bf16 = o.training.bf16;
  t.channels_last = o.training.channels_last;
  t.sync_every = o.training.sync_every;
  t.data_on_device = t.device.is_cuda();
  // A network's own parameters (the mlp's depth, a cell's edges) choose it; a `model` that names another is refused,
  // not overridden: the row would be recorded as one network and train as the other.
  std::string implied;
  for (const auto& kv : cfg.values()) {
    const std::string own = space::model_of_param(kv.first);
    if (!implied.empty() && !own.empty() && own != implied) {
      throw InputError(
          fmt::format("config {}: it sets parameters of two models, {} and {}", cfg.to_string(), implied, own));
    }
    if (implied.empty()) implied = own;
  }
  spec.name = cfg.has("model") ? cfg.get_string("model") : (implied.empty() ? o.training.model : implied);
  if (!implied.empty() && spec.name != implied) {
    throw InputError(
        fmt::format("config {}: model is '{}', but it sets parameters of the {} model (in a space file, "
                    "give them \"condition\": {{\"param\": \"model\", \"equals\": \"{}\"}})",
                    cfg.to_string(), spec.name, implied, implied));
  }
  spec.width_mult = cfg.has("width_mult") ? cfg.get_double("width_mult") : o.training.width_mult;
  spec.channels = o.training.channels;
  spec.cells = o.training.cells;
  spec.auxiliary = o.training.auxiliary;
  auto stage_mults = [&](const std::vector<std::string>& keys) {
    std::vector<double> m;
    for (const auto& k : keys) m.push_back(cfg.has(k) ? cfg.get_double(k) : 1.0);
    return m;
  };
  if (implied == "mlp") {
    if (cfg.has("depth")) spec.depth = cfg.get_int("depth");
    if (cfg.has("width")) spec.width = cfg.get_int("width");
    if (cfg.has("dropout")) spec.dropout = cfg.get_double("dropout");
  } else if (implied == "resnet-scale") {
    spec.depth_mults = stage_mults(space::resnet_scale_depth_params());
    spec.width_mults = stage_mults(space::resnet_scale_width_params());
  } else if (implied == "nb201") {
    spec.arch = space::to_string(space::nb201_arch_from_config(cfg));
  } else if (implied == "darts") {
    spec.arch = space::to_string(space::darts_genotype_from_config(cfg));
  }
}

}  // namespace fhist::objective
