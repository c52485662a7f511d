#pragma once
// fhist train as one library call: one network trained on a dataset's train / validation split, every estimator
// measured every epoch, continuing from its checkpoint, and its test accuracy at the end.
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "input/input.hpp"
#include "models/model.hpp"
#include "train/trainer.hpp"

namespace fhist::objective {

struct TrainRunOptions {
  std::string data = "fashion-mnist";  // data::load_dataset's spec
  input::DataOptions data_options;     // how a user's data is read
  input::ProgressFn decode_progress;   // while an image folder is decoded (not when its cache is read)
  std::int64_t train_size = 8000;      // 0 = auto (data::make_splits)
  std::int64_t val_size = 2000;        // both drawn with train.seed
  std::int64_t test_size = 0;          // 0 = the whole test split; else a fixed draw of this many (same every seed)
  models::ModelSpec model;             // in_channels and num_classes come from the data
  train::TrainOptions train;           // resolved: device, augmentation, budget, seed, ...
  std::string checkpoint;              // written after every epoch; empty: none
  bool resume = false;                 // continue from `checkpoint` (InputError if it does not fit these settings)
};

// What the run trains, reported once the data and the network are known to work.
struct TrainRunInfo {
  std::string dataset;
  std::int64_t train_images = 0, val_images = 0, test_images = 0;
  std::int64_t channels = 0, height = 0, width = 0;
  std::int64_t parameters = 0, feature_dim = 0;
  std::int64_t resumed_epochs = 0;     // epochs the checkpoint held
};

struct TrainRunProgress {
  // Before the first epoch trains (a caller makes its run folder here: nothing is left behind by bad input).
  std::function<void(const TrainRunInfo&)> started;
  // Every few optimisation steps: (epoch, step in epoch, steps in epoch, running loss). It may throw to stop the run;
  // the exception leaves train_run, and the checkpoint holds the last finished epoch.
  std::function<void(std::int64_t, std::int64_t, std::int64_t, double)> step;
  // After each epoch (first those a resumed checkpoint held), with the result so far (as train_run returns it,
  // without test_acc), after the checkpoint is written.
  std::function<void(const train::EpochRecord&, const nlohmann::json&)> epoch;
};

// {"parameters", "train_size", "val_size", "test_size", "epochs": [epoch rows as the journal's, with "epoch" and
// "estimate_paper_seconds"], "epochs_done", "test_acc", "total_seconds"}. InputError for bad data or settings.
nlohmann::json train_run(const TrainRunOptions& options, const TrainRunProgress& progress = {});

}  // namespace fhist::objective
