#pragma once
#include "models/model.hpp"

namespace fhist::models {

// CIFAR-style ResNet (He et al. 2016 as adapted for 32x32 inputs): 3x3 stem, no max-pool, four stages of basic
// blocks at 64/128/256/512 channels (times width_mult), global average pool, linear head.
class ResNet : public Classifier {
 public:
  ResNet(std::vector<int> blocks_per_stage, double width_mult, std::int64_t in_channels, std::int64_t num_classes);
  ModelOutput forward(const torch::Tensor& x) override;
  torch::nn::Linear& head() override { return fc_; }
  std::int64_t feature_dim() const override { return feature_dim_; }

 private:
  torch::nn::Conv2d stem_{nullptr};
  torch::nn::BatchNorm2d stem_bn_{nullptr};
  torch::nn::Sequential stages_{nullptr};
  torch::nn::Linear fc_{nullptr};
  std::int64_t feature_dim_ = 0;
};

}  // namespace fhist::models
