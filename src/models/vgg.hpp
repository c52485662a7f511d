#pragma once
#include "models/model.hpp"

namespace fhist::models {

// CIFAR-style VGG-16 with batch norm (kuangliu/pytorch-cifar): 13 3x3 convs (with bias, as there) in five blocks
// 64,64,M,128,128,M,256x3,M,512x3,M,512x3,M, then one linear layer on the 512-d vector.
class Vgg16 : public Classifier {
 public:
  Vgg16(double width_mult, std::int64_t in_channels, std::int64_t num_classes);
  ModelOutput forward(const torch::Tensor& x) override;
  torch::nn::Linear& head() override { return fc_; }
  std::int64_t feature_dim() const override { return feature_dim_; }

 private:
  torch::nn::Sequential body_{nullptr};
  torch::nn::Linear fc_{nullptr};
  std::int64_t feature_dim_ = 0;
};

}  // namespace fhist::models
