#pragma once
#include "models/model.hpp"

namespace fhist::models {

// CIFAR-style ResNet (He et al. 2016 as adapted for 32x32 inputs): 3x3 stem, no max-pool, four stages of basic or
// bottleneck blocks, global average pool, linear head.
class ResNet : public Classifier {
 public:
  // ResNet-18/34 style: basic blocks at 64/128/256/512 channels (times width_mult).
  ResNet(std::vector<int> blocks_per_stage, double width_mult, std::int64_t in_channels, std::int64_t num_classes);
  // General form. stage_channels: the block width of each stage (a bottleneck block outputs 4x that); the first
  // block of every stage after the first downsamples by 2.
  ResNet(const std::vector<int>& blocks_per_stage, const std::vector<std::int64_t>& stage_channels,
         std::int64_t stem_channels, bool bottleneck, std::int64_t in_channels, std::int64_t num_classes);
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

// Paper A.6 / REFERENCE §5: ResNet-18 with stage s in {2..5} holding round(2 d_s) basic blocks (at least 1) of
// round(w_s * width_mult * 64 * 2^(s-2)) channels. Empty multiplier vectors mean all 1 (ResNet-18 exactly).
// Its MACs without building it: space::scaled_resnet_macs.
ClassifierPtr make_scaled_resnet(const std::vector<double>& depth_mults, const std::vector<double>& width_mults,
                                 double width_mult, std::int64_t in_channels, std::int64_t num_classes);

}  // namespace fhist::models
