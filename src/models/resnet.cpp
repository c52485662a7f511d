#include "models/resnet.hpp"

namespace fhist::models {
namespace {

namespace nn = torch::nn;

nn::Conv2d conv(std::int64_t in, std::int64_t out, std::int64_t k, std::int64_t stride) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, k).stride(stride).padding(k / 2).bias(false));
}

class BasicBlockImpl : public nn::Module {
 public:
  BasicBlockImpl(std::int64_t in, std::int64_t out, std::int64_t stride)
      : conv1_(register_module("conv1", conv(in, out, 3, stride))),
        bn1_(register_module("bn1", nn::BatchNorm2d(out))),
        conv2_(register_module("conv2", conv(out, out, 3, 1))),
        bn2_(register_module("bn2", nn::BatchNorm2d(out))) {
    if (stride != 1 || in != out) {
      shortcut_ = register_module("shortcut", nn::Sequential(conv(in, out, 1, stride), nn::BatchNorm2d(out)));
    }
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

}  // namespace

ResNet::ResNet(std::vector<int> blocks_per_stage, double width_mult, std::int64_t in_channels,
               std::int64_t num_classes) {
  const std::int64_t base = scaled_channels(64, width_mult);
  stem_ = register_module("conv1", conv(in_channels, base, 3, 1));
  stem_bn_ = register_module("bn1", nn::BatchNorm2d(base));
  stages_ = nn::Sequential();
  std::int64_t in = base;
  for (std::size_t s = 0; s < blocks_per_stage.size(); ++s) {
    const std::int64_t out = scaled_channels(64 << s, width_mult);
    for (int b = 0; b < blocks_per_stage[s]; ++b) {
      stages_->push_back(BasicBlock(in, out, (b == 0 && s > 0) ? 2 : 1));
      in = out;
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

}  // namespace fhist::models
