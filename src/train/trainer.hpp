#pragma once
// Training with the paper's schedule and feature recording (Algorithm 1, lines 1-8).
#include <torch/torch.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "core/errors.hpp"
#include "data/augment.hpp"
#include "data/dataset.hpp"
#include "estimate/estimator.hpp"
#include "models/model.hpp"

namespace fhist::train {

// The checkpoint file itself cannot be read (truncated, corrupt, not a checkpoint), as opposed to one that reads but
// belongs to another run: only this kind may be set aside and the trial retrained (--discard-bad-checkpoints).
class CorruptCheckpointError : public CheckpointError {
 public:
  using CheckpointError::CheckpointError;
};

struct TrainOptions {
  std::int64_t epochs = 15;        // budget: stop after this many epochs
  std::int64_t max_epochs = 15;    // the lr decays linearly to 0 at the end of this many epochs
  std::int64_t batch_size = 256;
  double lr = 0.1;
  double momentum = 0.9;
  double weight_decay = 5e-4;
  double aux_weight = 0.4;         // loss weight of an auxiliary head, for models that have one (DARTS)
  int window = 10;                 // K: epochs of features kept
  torch::Dtype feature_dtype = torch::kFloat16;
  std::uint64_t seed = 0;
  data::AugmentOptions augment;
  RefitOptions refit;              // refit.seed is set from `seed`
  bool estimate_each_epoch = true;
  bool compare_impl = false;       // also run the paper-faithful estimator each epoch and time it
  std::string save_features_dir;   // per-epoch NPY layout (see estimator.hpp); empty = off
  torch::Device device = torch::kCPU;
  std::int64_t eval_batch_size = 1024;
  bool bf16 = false;               // bfloat16 autocast for forward and loss (CPU and CUDA); weights stay float32
  bool channels_last = false;      // NHWC memory format for 4-d weights and inputs (faster convolutions on GPUs)
  bool data_on_device = false;     // copy the image tensors to `device` once, so batches never cross the bus
  // Steps between host synchronisations (loss read-back, progress, divergence check); 0 = 1 on CPU, 20 on CUDA.
  std::int64_t sync_every = 0;

  // Throws InputError naming the flag for a value out of range or inconsistent with another.
  void validate() const;
};

struct EpochRecord {
  std::int64_t epoch = 0;
  double lr = 0;                   // at the end of the epoch
  double train_loss = 0;           // mean over the epoch's batches, weighted by batch size
  double original_val_acc = 0;     // the network itself, eval mode
  double refit_val_acc = kNaN;     // one re-fit head on this epoch's features
  double estimate = kNaN;          // feature-history ensemble (fast implementation)
  double estimate_paper = kNaN;    // the same ensemble of paper-faithful re-fits (fh-paper)
  // Accuracy of the mean of the last k re-fit heads' softmax outputs, k = 1..min(epoch, window): [0] is refit, the
  // last is fh. Budget-following windows (estimate/scores.hpp) read it.
  std::vector<double> window_acc;
  // The same ensembles' mean cross-entropy (natural log) and mean probability of the true class on the validation
  // images, and the network's own head's cross-entropy: smooth signals next to the accuracies.
  std::vector<double> window_nll, window_soft;
  double original_nll = kNaN;
  double seconds = 0;              // training pass + validation pass
  double estimate_seconds = 0;     // this epoch's fast re-fit and the ensembles
  double estimate_paper_seconds = kNaN;  // with compare_impl: the full fh-paper estimator, all K heads re-fit

  static constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
};

// Called after every optimisation step: (step within epoch, steps in epoch, running mean loss).
using StepCallback = std::function<void(std::int64_t, std::int64_t, double)>;

class Trainer {
 public:
  // The model is moved to options.device. The datasets are shallow copies (their tensors share storage).
  Trainer(models::ClassifierPtr model, const data::Dataset& train, const data::Dataset& val, TrainOptions options);

  // Trains the next epoch, records its features and estimates. Throws DivergedError on a non-finite loss.
  EpochRecord run_epoch(const StepCallback& on_step = {});
  std::int64_t epochs_done() const { return epochs_done_; }
  bool finished() const { return epochs_done_ >= options_.epochs; }
  const std::vector<EpochRecord>& records() const { return records_; }

  // Accuracy of the network (eval mode) on a dataset with the same image shape.
  double evaluate_accuracy(const data::Dataset& ds);

  // Everything needed to continue bit-identically: weights, optimizer state, schedule position, feature window,
  // epoch records; written atomically.
  void save_checkpoint(const std::string& path) const;
  // Throws CorruptCheckpointError if the file is unreadable, CheckpointError if it was written by an incompatible
  // run: other data (by content), augmentation, optimizer or re-fit settings, seed, schedule, window or model.
  void load_checkpoint(const std::string& path);
  // What a checkpoint records of the data it trained on: the name, the sizes and a digest of every byte.
  static std::string data_identity(const data::Dataset& train, const data::Dataset& val);

  const FeatureHistory& history() const { return history_; }
  // The softmax outputs [M, c] of the re-fit heads of the epochs in the window, oldest first (fast impl).
  const std::deque<torch::Tensor>& head_probabilities() const { return head_probs_; }
  models::Classifier& model() { return *model_; }
  const TrainOptions& options() const { return options_; }

 private:
  struct EvalPass {
    torch::Tensor features;  // [M, d]
    double accuracy = 0;
  };
  EvalPass eval_pass(const data::Dataset& ds, bool keep_features);
  std::int64_t steps_per_epoch() const;

  models::ClassifierPtr model_;
  void apply_memory_format();

  data::Dataset train_;
  data::Dataset val_;
  std::string data_identity_;  // name, sizes and a digest of the images and labels (checkpoint.cpp)
  TrainOptions options_;
  std::unique_ptr<torch::optim::SGD> optimizer_;
  FeatureHistory history_;
  std::int64_t epochs_done_ = 0;
  std::int64_t global_step_ = 0;
  std::vector<EpochRecord> records_;
  // One re-fit head per epoch of the window (estimator.hpp, refit_probabilities): fh is their mean.
  std::deque<torch::Tensor> head_probs_, head_probs_paper_;
  void refit_latest();
  void fill_estimates(EpochRecord& rec) const;
};

// Seeds Torch's generator for weight initialisation from the run seed.
void seed_weight_init(std::uint64_t seed);

}  // namespace fhist::train
