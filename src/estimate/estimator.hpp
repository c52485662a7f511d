#pragma once
// Public API: performance estimation from feature histories (Cao, Wang & Kitani, "Efficient Model Performance
// Estimation via Feature Histories", Algorithm 1 and Appendix A.1).
//
// Use from any LibTorch training loop:
//   fhist::FeatureHistory history(/*window=*/10);
//   each epoch:  fhist::EpochRecorder rec;  in the training pass: rec.add_train_batch(features, labels);
//                after it: history.add(rec.finish(epoch, val_features, val_labels, head->weight, head->bias));
//                auto est = fhist::make_feature_estimator("fh")->estimate(history);  // est.accuracy: the prediction
// examples/custom_loop.cpp is a complete program.
#include <torch/torch.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace fhist {

// What one epoch leaves behind. Shapes: N train images, M validation images, d feature dim, c classes.
struct EpochFeatures {
  std::int64_t epoch = 0;         // 1-based epoch number
  torch::Tensor train_features;   // [N, d], features computed in the training pass (train mode, augmented inputs)
  torch::Tensor train_labels;     // int64 [N], in the same order as train_features
  torch::Tensor val_features;     // [M, d], eval mode
  torch::Tensor val_labels;       // int64 [M]
  torch::Tensor head_weight;      // float32 [c, d], the network's linear head at the end of the epoch
  torch::Tensor head_bias;        // float32 [c]
};

// The last `window` epochs of features; older ones are dropped as new ones arrive. Features are stored in
// `storage_dtype` (float16 by default: half the memory, estimate within 0.1 pt of float32 storage).
class FeatureHistory {
 public:
  explicit FeatureHistory(int window = 10, torch::Dtype storage_dtype = torch::kFloat16);

  // Validates shapes (throws InputError naming the field) and stores a converted copy.
  void add(const EpochFeatures& epoch);
  void clear() { epochs_.clear(); }

  const std::deque<EpochFeatures>& epochs() const { return epochs_; }
  const EpochFeatures& latest() const;
  std::size_t size() const { return epochs_.size(); }
  bool empty() const { return epochs_.empty(); }
  int window() const { return window_; }
  torch::Dtype storage_dtype() const { return storage_dtype_; }

 private:
  int window_;
  torch::Dtype storage_dtype_;
  std::deque<EpochFeatures> epochs_;
};

// Collects the train features of one epoch batch by batch (Algorithm 1, line 4).
class EpochRecorder {
 public:
  // Batches are kept in `storage_dtype`; match the FeatureHistory's.
  explicit EpochRecorder(torch::Dtype storage_dtype = torch::kFloat16) : dtype_(storage_dtype) {}
  // features: [B, d] (any float dtype, any device; detached here), labels: int64 [B]
  void add_train_batch(const torch::Tensor& features, const torch::Tensor& labels);
  std::int64_t size() const;
  EpochFeatures finish(std::int64_t epoch, const torch::Tensor& val_features, const torch::Tensor& val_labels,
                       const torch::Tensor& head_weight, const torch::Tensor& head_bias);

 private:
  torch::Dtype dtype_;
  std::vector<torch::Tensor> features_, labels_;
};

// Re-fitting of the linear heads (Appendix A.1 defaults).
struct RefitOptions {
  int epochs = 5;
  std::int64_t batch_size = 1024;
  double lr = 0.05;            // decayed linearly to 0 over the refit steps
  double momentum = 0.9;
  double weight_decay = 5e-4;
  std::uint64_t seed = 0;      // shuffling of the saved train features
};

struct Estimate {
  double accuracy = 0.0;           // fraction in [0, 1]
  torch::Tensor probabilities;     // float32 [M, c]: the (mean) softmax output on the validation features
  int heads = 0;                   // classifiers that went into it
};

// An estimate from the network's features (the paper's family). Not score::Estimator, which ranks a trial by what the
// journal holds (the network's accuracy, the training loss, the estimates these compute, ...).
class FeatureEstimator {
 public:
  virtual ~FeatureEstimator() = default;
  // Predicted final validation accuracy from the history so far. Throws InputError on an empty history.
  virtual Estimate estimate(const FeatureHistory& history) const = 0;
  virtual std::string name() const = 0;
};

// "original"  the latest epoch's own head on its validation features (the network's current accuracy)
// "refit"     one head re-fit on the latest epoch's train features
// "fh"        the paper's ensemble of the last K re-fit heads; all K trained at once with batched matmuls
// "fh-paper"  the same, one head after another with autograd and torch::optim::SGD, exactly as Appendix A.1
// "refit-paper" one head re-fit the fh-paper way
// Throws InputError for another name.
std::unique_ptr<FeatureEstimator> make_feature_estimator(const std::string& name, const RefitOptions& options = {});
std::vector<std::string> feature_estimator_names();

// The softmax output [M, c] (float32) on `epoch`'s validation features of one head re-fit on that epoch's train
// features, with "fast" (FastFh's batched arithmetic) or "paper" (autograd + torch::optim::SGD) as `impl`. A re-fit
// depends on its own epoch only (same init, same seeded order at every epoch), so a training loop can keep one of
// these per epoch and average the last K: exactly the fh / fh-paper ensemble, at the cost of one re-fit per epoch
// instead of K. Throws InputError for another impl.
torch::Tensor refit_probabilities(const EpochFeatures& epoch, const RefitOptions& options,
                                  const std::string& impl = "fast");

// Accuracy of class scores [M, c] against labels [M].
double accuracy(const torch::Tensor& scores, const torch::Tensor& labels);

// The feature history as NumPy files, one folder per epoch:
//   DIR/epoch_0007/train_features.npy  [N, d] float16|float32
//                  train_labels.npy    [N]    int64
//                  val_features.npy    [M, d] float16|float32
//                  val_labels.npy      [M]    int64
//                  head_weight.npy     [c, d] float32
//                  head_bias.npy       [c]    float32
void save_epoch_npy(const std::string& dir, const EpochFeatures& epoch);
// Reads every epoch_* folder in `dir` (sorted by number) into a history that keeps the last `window`.
// Throws DataError naming the file for a missing, corrupt or inconsistent array.
FeatureHistory load_history_npy(const std::string& dir, int window, torch::Dtype storage_dtype = torch::kFloat32);

}  // namespace fhist
