#include "objective/evaluate.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <chrono>

#include "core/errors.hpp"
#include "data/dataset.hpp"
#include "input/input.hpp"
#include "models/model.hpp"
#include "nas/network.hpp"
#include "objective/training.hpp"
#include "store/trial_store.hpp"
#include "study/study.hpp"
#include "train/trainer.hpp"

namespace fhist::objective {

nlohmann::json evaluate_trial(const EvaluateOptions& e, const EvaluateProgress& progress) {
  const auto o = study::journal_options(e.journal);
  if (o.objective != "train" && o.objective != "table") {
    // Retraining here means fhist's trainer on the stored --data (a default the user's loop never used).
    throw InputError(fmt::format("fhist evaluate retrains a trial with fhist's own trainer, and {}'s trials were "
                                 "trained by {}: evaluate its incumbent (fhist report --json, \"best\".\"config\") "
                                 "with your own code",
                                 e.journal, study::objective_text(o)));
  }
  const std::int64_t epochs = e.max_budget > 0 ? e.max_budget : o.sched.max_budget;
  space::Config cfg;
  std::int64_t trial = e.trial;
  if (trial < 0) {
    const auto s = study::summarize_journal(e.journal);
    if (!s.best) throw InputError(fmt::format("{}: no finished trial to evaluate", e.journal));
    cfg = s.best_config;
    trial = s.best->trial;
  } else {
    cfg = study::trial_config(e.journal, trial);
  }
  // The result goes into the journal at the end: a search still running there holds its lock, so say so now.
  if (e.store && store::journal_in_use(e.journal)) {
    throw InputError(fmt::format("{} is in use by a running search: evaluate after it ends, or pass --no-store "
                                 "(the result then goes only to --json / -o)",
                                 e.journal));
  }
  const auto t_start = std::chrono::steady_clock::now();
  auto tt = data::load_dataset(o.training.data, input::DataOptions::from_json(o.training.data_options));
  auto split = data::make_splits(tt, o.training.train_size, o.training.val_size, o.seed);
  if (split.test.size() == 0) {
    throw InputError(
        fmt::format("{} has no test split, so there is nothing to evaluate on: give the data one "
                    "(folder: DIR/test; npy: x_test.npy + y_test.npy), or start the search with "
                    "--holdout 0.2 to set one aside",
                    o.training.data));
  }
  const auto train_val = data::concat(split.train, split.val);
  auto eval_options = o;
  eval_options.device = e.device;
  eval_options.training.bf16 = e.bf16;
  eval_options.training.channels_last = e.channels_last;
  train::TrainOptions t;
  models::ModelSpec spec;
  apply_config(cfg, eval_options, t, spec);
  t.epochs = epochs;
  t.max_epochs = epochs;
  t.seed = o.seed;
  t.estimate_each_epoch = false;
  fit_model_to_data(spec, train_val);
  train::seed_weight_init(t.seed);
  // Train on train + validation, report on the official test set (the paper's final evaluation). The trainer's
  // "validation" pass is the test set here; nothing is selected by it.
  train::Trainer trainer(nas::make_network(spec), train_val, split.test, t);
  if (progress.started) progress.started(trial, cfg, train_val.size(), epochs);
  nlohmann::json per_epoch = nlohmann::json::array();
  while (!trainer.finished()) {
    const auto r = trainer.run_epoch();
    if (progress.epoch) progress.epoch(r);
    per_epoch.push_back({{"epoch", r.epoch},
                         {"train_loss", study::json_number(r.train_loss)},
                         {"test_acc", study::json_number(r.original_val_acc)},
                         {"seconds", r.seconds}});
  }
  const double test_acc = trainer.records().back().original_val_acc;
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  nlohmann::json result = {
      {"journal", e.journal},
      {"trial", trial},
      {"config", cfg.to_json()},
      {"max_budget", epochs},
      {"train_images", train_val.size()},
      {"test_images", split.test.size()},
      {"test_acc", study::json_number(test_acc)},
      {"seed", t.seed},
      {"device", e.device},
      {"threads", at::get_num_threads()},
      {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count()},
      {"finished_at", fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(now))},
      {"fhist_version", FHIST_VERSION_STRING},
      {"epochs", per_epoch}};
  if (e.store) {
    auto stored = result;
    stored.erase("journal");
    study::add_evaluation(e.journal, stored);
  }
  return result;
}

}  // namespace fhist::objective
