#pragma once
#include "models/model.hpp"

namespace fhist::models {

// A small plain CNN (three conv-BN-ReLU blocks at 16/32/64 channels, two max-pools, global average pool, linear
// head) for fast CPU tests and quick experiments.
class SimpleCnn : public Classifier {
 public:
  SimpleCnn(double width_mult, std::int64_t in_channels, std::int64_t num_classes);
  ModelOutput forward(const torch::Tensor& x) override;
  torch::nn::Linear& head() override { return fc_; }
  std::int64_t feature_dim() const override { return feature_dim_; }

 private:
  torch::nn::Sequential body_{nullptr};
  torch::nn::Linear fc_{nullptr};
  std::int64_t feature_dim_ = 0;
};

}  // namespace fhist::models
