#include "models/mobilenetv2.hpp"

namespace fhist::models {
namespace {

namespace nn = torch::nn;

nn::Conv2d conv(std::int64_t in, std::int64_t out, std::int64_t k, std::int64_t stride, std::int64_t groups = 1) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, k).stride(stride).padding(k / 2).groups(groups).bias(false));
}

// Inverted residual: 1x1 expand, 3x3 depthwise, 1x1 linear projection.
class InvertedResidualImpl : public nn::Module {
 public:
  InvertedResidualImpl(std::int64_t in, std::int64_t out, std::int64_t expansion, std::int64_t stride)
      : stride_(stride),
        expand_(register_module("conv1", conv(in, expansion * in, 1, 1))),
        bn1_(register_module("bn1", nn::BatchNorm2d(expansion * in))),
        depthwise_(register_module("conv2", conv(expansion * in, expansion * in, 3, stride, expansion * in))),
        bn2_(register_module("bn2", nn::BatchNorm2d(expansion * in))),
        project_(register_module("conv3", conv(expansion * in, out, 1, 1))),
        bn3_(register_module("bn3", nn::BatchNorm2d(out))) {
    if (stride == 1 && in != out) {
      shortcut_ = register_module("shortcut", nn::Sequential(conv(in, out, 1, 1), nn::BatchNorm2d(out)));
    }
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto y = torch::relu(bn1_(expand_(x)));
    y = torch::relu(bn2_(depthwise_(y)));
    y = bn3_(project_(y));
    if (stride_ != 1) return y;
    return y + (shortcut_ ? shortcut_->forward(x) : x);
  }

 private:
  std::int64_t stride_;
  nn::Conv2d expand_;
  nn::BatchNorm2d bn1_;
  nn::Conv2d depthwise_;
  nn::BatchNorm2d bn2_;
  nn::Conv2d project_;
  nn::BatchNorm2d bn3_;
  nn::Sequential shortcut_{nullptr};
};
TORCH_MODULE(InvertedResidual);

struct Stage {
  std::int64_t expansion, channels, blocks, stride;
};

}  // namespace

MobileNetV2::MobileNetV2(double width_mult, std::int64_t in_channels, std::int64_t num_classes) {
  // (t, c, n, s) of the paper's Table 2, with the 24-channel stage at stride 1 for 32x32 inputs.
  const Stage stages[] = {{1, 16, 1, 1},  {6, 24, 2, 1},  {6, 32, 3, 2},  {6, 64, 4, 2},
                          {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  std::int64_t in = scaled_channels(32, width_mult);
  stem_ = register_module("conv1", conv(in_channels, in, 3, 1));
  stem_bn_ = register_module("bn1", nn::BatchNorm2d(in));
  blocks_ = nn::Sequential();
  for (const auto& st : stages) {
    const std::int64_t out = scaled_channels(st.channels, width_mult);
    for (std::int64_t b = 0; b < st.blocks; ++b) {
      blocks_->push_back(InvertedResidual(in, out, st.expansion, b == 0 ? st.stride : 1));
      in = out;
    }
  }
  register_module("layers", blocks_);
  feature_dim_ = scaled_channels(1280, width_mult);
  last_ = register_module("conv2", conv(in, feature_dim_, 1, 1));
  last_bn_ = register_module("bn2", nn::BatchNorm2d(feature_dim_));
  fc_ = register_module("linear", nn::Linear(feature_dim_, num_classes));
}

ModelOutput MobileNetV2::forward(const torch::Tensor& x) {
  auto y = torch::relu(stem_bn_(stem_(x)));
  y = torch::relu(last_bn_(last_(blocks_->forward(y))));
  auto features = torch::adaptive_avg_pool2d(y, {1, 1}).flatten(1);
  return {features, fc_(features), {}};
}

}  // namespace fhist::models
