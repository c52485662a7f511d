#include "objective/train_run.hpp"

#include <fmt/format.h>

#include <chrono>

#include "core/errors.hpp"
#include "data/dataset.hpp"
#include "nas/network.hpp"
#include "objective/training.hpp"
#include "study/study.hpp"

namespace fhist::objective {

nlohmann::json train_run(const TrainRunOptions& o, const TrainRunProgress& progress) {
  const auto t_start = std::chrono::steady_clock::now();
  auto tt = data::load_dataset(o.data, o.data_options, o.decode_progress);
  auto split = data::make_splits(tt, o.train_size, o.val_size, o.train.seed);
  if (o.test_size < 0) throw InputError(fmt::format("--test-size must be >= 0, got {}", o.test_size));
  if (o.test_size > 0 && split.test.size() > 0) {
    if (o.test_size > split.test.size()) {
      throw InputError(fmt::format("--test-size {} exceeds the {} test images", o.test_size, split.test.size()));
    }
    // One draw for every seed, so runs that differ only in their seed are tested on the same images.
    split.test = data::draw(split.test, o.test_size, 0);
  }
  auto spec = o.model;
  fit_model_to_data(spec, split.train);
  train::seed_weight_init(o.train.seed);
  auto model = nas::make_network(spec);
  train::Trainer trainer(model, split.train, split.val, o.train);
  if (o.resume) {
    try {
      trainer.load_checkpoint(o.checkpoint);
    } catch (const CheckpointError& e) {
      // The run named by --run-dir does not fit these settings: bad input.
      throw InputError(fmt::format("{}; continue with the same settings or use another --run-dir", e.what()));
    }
  }
  const auto parameters = models::count_parameters(*model);
  if (progress.started) {
    progress.started({tt.train.name, split.train.size(), split.val.size(), split.test.size(), tt.train.channels(),
                      tt.train.height(), tt.train.width(), parameters, model->feature_dim(), trainer.epochs_done()});
  }
  nlohmann::json out = {{"parameters", parameters},
                        {"train_size", split.train.size()},
                        {"val_size", split.val.size()},
                        {"test_size", split.test.size()}};
  // A row's scores read the history through its own epoch, so earlier rows never change: only new records are added.
  out["epochs"] = nlohmann::json::array();
  score::TrialHistory history;
  history.final_epoch = o.train.max_epochs;
  history.params = static_cast<double>(parameters);
  history.num_classes = tt.train.num_classes;
  auto update = [&]() {
    const auto& records = trainer.records();
    for (std::size_t i = history.epochs.size(); i < records.size(); ++i) {
      const auto& r = records[i];
      history.epochs.push_back(epoch_measures(r));
      auto row = epoch_row(r, history);
      row["epoch"] = r.epoch;
      row["estimate_paper_seconds"] = study::json_number(r.estimate_paper_seconds);
      out["epochs"].push_back(std::move(row));
    }
    out["epochs_done"] = trainer.epochs_done();
  };
  update();
  if (progress.epoch) {
    for (const auto& r : trainer.records()) progress.epoch(r, out);
  }
  while (!trainer.finished()) {
    const auto epoch = trainer.epochs_done() + 1;
    const auto rec = trainer.run_epoch([&](std::int64_t step, std::int64_t steps, double loss) {
      if (progress.step) progress.step(epoch, step, steps, loss);
    });
    if (!o.checkpoint.empty()) trainer.save_checkpoint(o.checkpoint);
    update();
    if (progress.epoch) progress.epoch(rec, out);
  }
  // No test split (a user's data without one): no test accuracy, said as null.
  out["test_acc"] = split.test.size() > 0 ? study::json_number(trainer.evaluate_accuracy(split.test))
                                          : nlohmann::json(nullptr);
  out["total_seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  return out;
}

}  // namespace fhist::objective
