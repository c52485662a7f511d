#include "models/mlp.hpp"

#include <ATen/CPUGeneratorImpl.h>

namespace fhist::models {

namespace nn = torch::nn;

Mlp::Mlp(std::int64_t in_features, std::int64_t depth, std::int64_t width, double dropout, std::int64_t num_classes)
    : width_(width), dropout_(dropout), gen_(at::detail::createCPUGenerator(0)) {
  std::int64_t in = in_features;
  for (std::int64_t i = 0; i < depth; ++i) {
    layers_.push_back(register_module("fc" + std::to_string(i), nn::Linear(nn::LinearOptions(in, width).bias(false))));
    norms_.push_back(register_module("bn" + std::to_string(i), nn::BatchNorm1d(width)));
    in = width;
  }
  fc_ = register_module("head", nn::Linear(in, num_classes));
}

void Mlp::seed_randomness(std::uint64_t seed) { gen_ = at::detail::createCPUGenerator(seed); }

ModelOutput Mlp::forward(const torch::Tensor& x) {
  auto h = x.flatten(1);
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    h = torch::relu(norms_[i](layers_[i](h)));
    if (is_training() && dropout_ > 0.0) {
      // Inverted dropout; the mask is drawn on the CPU from the model's own generator, then moved to h's device.
      const auto keep = torch::empty(h.sizes(), torch::kFloat32).bernoulli_(1.0 - dropout_, gen_);
      h = h * keep.to(h.device(), h.scalar_type()) / (1.0 - dropout_);
    }
  }
  return {h, fc_(h), {}};
}

}  // namespace fhist::models
