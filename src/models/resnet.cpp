#include "models/resnet.hpp"

#include <cmath>

#include "space/resnet_scale.hpp"

namespace fhist::models {
namespace {

namespace nn = torch::nn;

nn::Conv2d conv(std::int64_t in, std::int64_t out, std::int64_t k, std::int64_t stride) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, k).stride(stride).padding(k / 2).bias(false));
}

// 1x1 projection on the skip path whenever the block changes resolution or channel count.
nn::Sequential projection(std::int64_t in, std::int64_t out, std::int64_t stride) {
  return nn::Sequential(conv(in, out, 1, stride), nn::BatchNorm2d(out));
}

class BasicBlockImpl : public nn::Module {
 public:
  BasicBlockImpl(std::int64_t in, std::int64_t out, std::int64_t stride)
      : conv1_(register_module("conv1", conv(in, out, 3, stride))),
        bn1_(register_module("bn1", nn::BatchNorm2d(out))),
        conv2_(register_module("conv2", conv(out, out, 3, 1))),
        bn2_(register_module("bn2", nn::BatchNorm2d(out))) {
    if (stride != 1 || in != out) shortcut_ = register_module("shortcut", projection(in, out, stride));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto y = torch::relu(bn1_(conv1_(x)));
    y = bn2_(conv2_(y));
    return torch::relu(y + (shortcut_ ? shortcut_->forward(x) : x));
  }

 private:
  nn::Conv2d conv1_;
  nn::BatchNorm2d bn1_;
  nn::Conv2d conv2_;
  nn::BatchNorm2d bn2_;
  nn::Sequential shortcut_{nullptr};
};
TORCH_MODULE(BasicBlock);

// 1x1 reduce, 3x3 (carries the stride, as in kuangliu/pytorch-cifar and torchvision v1.5), 1x1 expand by 4.
class BottleneckImpl : public nn::Module {
 public:
  static constexpr std::int64_t kExpansion = 4;
  BottleneckImpl(std::int64_t in, std::int64_t planes, std::int64_t stride)
      : conv1_(register_module("conv1", conv(in, planes, 1, 1))),
        bn1_(register_module("bn1", nn::BatchNorm2d(planes))),
        conv2_(register_module("conv2", conv(planes, planes, 3, stride))),
        bn2_(register_module("bn2", nn::BatchNorm2d(planes))),
        conv3_(register_module("conv3", conv(planes, kExpansion * planes, 1, 1))),
        bn3_(register_module("bn3", nn::BatchNorm2d(kExpansion * planes))) {
    if (stride != 1 || in != kExpansion * planes) {
      shortcut_ = register_module("shortcut", projection(in, kExpansion * planes, stride));
    }
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto y = torch::relu(bn1_(conv1_(x)));
    y = torch::relu(bn2_(conv2_(y)));
    y = bn3_(conv3_(y));
    return torch::relu(y + (shortcut_ ? shortcut_->forward(x) : x));
  }

 private:
  nn::Conv2d conv1_;
  nn::BatchNorm2d bn1_;
  nn::Conv2d conv2_;
  nn::BatchNorm2d bn2_;
  nn::Conv2d conv3_;
  nn::BatchNorm2d bn3_;
  nn::Sequential shortcut_{nullptr};
};
TORCH_MODULE(Bottleneck);

std::vector<std::int64_t> standard_widths(double width_mult) {
  std::vector<std::int64_t> w;
  for (int s = 0; s < 4; ++s) w.push_back(scaled_channels(64 << s, width_mult));
  return w;
}

}  // namespace

ResNet::ResNet(std::vector<int> blocks_per_stage, double width_mult, std::int64_t in_channels,
               std::int64_t num_classes)
    : ResNet(blocks_per_stage, standard_widths(width_mult), scaled_channels(64, width_mult), false, in_channels,
             num_classes) {}

ResNet::ResNet(const std::vector<int>& blocks_per_stage, const std::vector<std::int64_t>& stage_channels,
               std::int64_t stem_channels, bool bottleneck, std::int64_t in_channels, std::int64_t num_classes) {
  stem_ = register_module("conv1", conv(in_channels, stem_channels, 3, 1));
  stem_bn_ = register_module("bn1", nn::BatchNorm2d(stem_channels));
  stages_ = nn::Sequential();
  std::int64_t in = stem_channels;
  for (std::size_t s = 0; s < blocks_per_stage.size(); ++s) {
    const std::int64_t width = stage_channels.at(s);
    for (int b = 0; b < blocks_per_stage[s]; ++b) {
      const std::int64_t stride = (b == 0 && s > 0) ? 2 : 1;
      if (bottleneck) {
        stages_->push_back(Bottleneck(in, width, stride));
        in = BottleneckImpl::kExpansion * width;
      } else {
        stages_->push_back(BasicBlock(in, width, stride));
        in = width;
      }
    }
  }
  register_module("layers", stages_);
  feature_dim_ = in;
  fc_ = register_module("fc", nn::Linear(in, num_classes));
}

ModelOutput ResNet::forward(const torch::Tensor& x) {
  auto y = torch::relu(stem_bn_(stem_(x)));
  y = stages_->forward(y);
  auto features = torch::adaptive_avg_pool2d(y, {1, 1}).flatten(1);
  return {features, fc_(features), {}};
}

ClassifierPtr make_scaled_resnet(const std::vector<double>& depth_mults, const std::vector<double>& width_mults,
                                 double width_mult, std::int64_t in_channels, std::int64_t num_classes) {
  std::vector<int> blocks;
  std::vector<std::int64_t> widths;
  for (std::size_t s = 0; s < 4; ++s) {
    const double d = depth_mults.empty() ? 1.0 : depth_mults.at(s);
    const double w = width_mults.empty() ? 1.0 : width_mults.at(s);
    blocks.push_back(space::scaled_blocks(d));
    widths.push_back(scaled_channels(64 << s, w * width_mult));
  }
  // The stem (C1) is not a searched stage: it keeps ResNet-18's 64 channels (times the global width only).
  return std::make_shared<ResNet>(blocks, widths, scaled_channels(64, width_mult), false, in_channels, num_classes);
}

}  // namespace fhist::models
