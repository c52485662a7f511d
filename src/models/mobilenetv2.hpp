#pragma once
#include "models/model.hpp"

namespace fhist::models {

// MobileNetV2 as adapted for CIFAR in kuangliu/pytorch-cifar: stem conv stride 1 and the second stage (24 ch)
// stride 1, so 32x32 inputs end at 4x4; 1x1 conv to 1280 channels, global average pool, linear head. As there,
// ReLU (not ReLU6) and a 1x1 projection on the skip path of stride-1 blocks that change the channel count.
// width_mult scales every channel count, the final 1280 included (feature_dim = round(1280 * width_mult)).
class MobileNetV2 : public Classifier {
 public:
  MobileNetV2(double width_mult, std::int64_t in_channels, std::int64_t num_classes);
  ModelOutput forward(const torch::Tensor& x) override;
  torch::nn::Linear& head() override { return fc_; }
  std::int64_t feature_dim() const override { return feature_dim_; }

 private:
  torch::nn::Conv2d stem_{nullptr};
  torch::nn::BatchNorm2d stem_bn_{nullptr};
  torch::nn::Sequential blocks_{nullptr};
  torch::nn::Conv2d last_{nullptr};
  torch::nn::BatchNorm2d last_bn_{nullptr};
  torch::nn::Linear fc_{nullptr};
  std::int64_t feature_dim_ = 0;
};

}  // namespace fhist::models
