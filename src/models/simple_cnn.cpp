#include "models/simple_cnn.hpp"

namespace fhist::models {

namespace nn = torch::nn;

SimpleCnn::SimpleCnn(double width_mult, std::int64_t in_channels, std::int64_t num_classes) {
  const auto c1 = scaled_channels(16, width_mult), c2 = scaled_channels(32, width_mult),
             c3 = scaled_channels(64, width_mult);
  body_ = nn::Sequential();
  auto add_block = [this](std::int64_t in, std::int64_t out) {
    body_->push_back(nn::Conv2d(nn::Conv2dOptions(in, out, 3).padding(1).bias(false)));
    body_->push_back(nn::BatchNorm2d(out));
    body_->push_back(nn::ReLU());
  };
  add_block(in_channels, c1);
  body_->push_back(nn::MaxPool2d(2));
  add_block(c1, c2);
  body_->push_back(nn::MaxPool2d(2));
  add_block(c2, c3);
  register_module("body", body_);
  feature_dim_ = c3;
  fc_ = register_module("fc", nn::Linear(c3, num_classes));
}

ModelOutput SimpleCnn::forward(const torch::Tensor& x) {
  auto features = torch::adaptive_avg_pool2d(body_->forward(x), {1, 1}).flatten(1);
  return {features, fc_(features), {}};
}

}  // namespace fhist::models
