#pragma once
#include "models/model.hpp"

namespace fhist::models {

// A multilayer perceptron for tables of numbers (and flattened small images): `depth` hidden layers of `width` units,
// each Linear-BatchNorm-ReLU-Dropout; the last hidden layer's output is the feature vector the head and the
// feature-history estimators see. Dropout draws from a generator of its own (seed_randomness), never Torch's global
// one, so a trial's run is the same under any number of workers.
class Mlp : public Classifier {
 public:
  Mlp(std::int64_t in_features, std::int64_t depth, std::int64_t width, double dropout, std::int64_t num_classes);
  ModelOutput forward(const torch::Tensor& x) override;  // x: [B, F] or [B, C, H, W] (flattened)
  torch::nn::Linear& head() override { return fc_; }
  std::int64_t feature_dim() const override { return width_; }
  void seed_randomness(std::uint64_t seed) override;

 private:
  std::vector<torch::nn::Linear> layers_;
  std::vector<torch::nn::BatchNorm1d> norms_;
  torch::nn::Linear fc_{nullptr};
  std::int64_t width_ = 0;
  double dropout_ = 0.0;
  at::Generator gen_;
};

}  // namespace fhist::models
