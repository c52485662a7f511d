#include "models/vgg.hpp"

namespace fhist::models {

namespace nn = torch::nn;

Vgg16::Vgg16(double width_mult, std::int64_t in_channels, std::int64_t num_classes) {
  constexpr int kPool = 0;
  const std::vector<int> cfg = {64, 64, kPool, 128, 128, kPool, 256, 256, 256, kPool,
                                512, 512, 512, kPool, 512, 512, 512, kPool};
  body_ = nn::Sequential();
  std::int64_t in = in_channels;
  for (int c : cfg) {
    if (c == kPool) {
      // ceil_mode keeps a 1x1 map alive, so inputs that are not multiples of 32 (28x28: 14,7,4,2,1) still reach the
      // head; at 32x32 it changes nothing.
      body_->push_back(nn::MaxPool2d(nn::MaxPool2dOptions(2).stride(2).ceil_mode(true)));
      continue;
    }
    const std::int64_t out = scaled_channels(c, width_mult);
    body_->push_back(nn::Conv2d(nn::Conv2dOptions(in, out, 3).padding(1)));
    body_->push_back(nn::BatchNorm2d(out));
    body_->push_back(nn::ReLU());
    in = out;
  }
  register_module("features", body_);
  feature_dim_ = in;
  fc_ = register_module("classifier", nn::Linear(in, num_classes));
}

ModelOutput Vgg16::forward(const torch::Tensor& x) {
  // At 32x32 the map is already 1x1 and this is a plain flatten; otherwise it is global average pooling.
  auto features = torch::adaptive_avg_pool2d(body_->forward(x), {1, 1}).flatten(1);
  return {features, fc_(features), {}};
}

}  // namespace fhist::models
