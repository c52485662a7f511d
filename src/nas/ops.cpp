#include "nas/ops.hpp"

namespace fhist::nas {

namespace nn = torch::nn;

ReLUConvBNImpl::ReLUConvBNImpl(std::int64_t c_in, std::int64_t c_out, std::int64_t kernel, std::int64_t stride,
                               std::int64_t padding, std::int64_t dilation, bool affine)
    : conv_(register_module("conv", nn::Conv2d(nn::Conv2dOptions(c_in, c_out, kernel)
                                                   .stride(stride)
                                                   .padding(padding)
                                                   .dilation(dilation)
                                                   .bias(false)))),
      bn_(register_module("bn", nn::BatchNorm2d(nn::BatchNormOptions(c_out).affine(affine)))) {}

torch::Tensor ReLUConvBNImpl::forward(const torch::Tensor& x) { return bn_(conv_(torch::relu(x))); }

FactorizedReduceImpl::FactorizedReduceImpl(std::int64_t c_in, std::int64_t c_out, bool affine)
    : conv1_(register_module("conv1", nn::Conv2d(nn::Conv2dOptions(c_in, c_out / 2, 1).stride(2).bias(false)))),
      conv2_(register_module("conv2",
                             nn::Conv2d(nn::Conv2dOptions(c_in, c_out - c_out / 2, 1).stride(2).bias(false)))),
      bn_(register_module("bn", nn::BatchNorm2d(nn::BatchNormOptions(c_out).affine(affine)))) {}

torch::Tensor FactorizedReduceImpl::forward(const torch::Tensor& x_in) {
  auto x = torch::relu(x_in);
  auto shifted = torch::constant_pad_nd(x, {0, 1, 0, 1}, 0.0).narrow(2, 1, x.size(2)).narrow(3, 1, x.size(3));
  return bn_(torch::cat({conv1_(x), conv2_(shifted)}, 1));
}

}  // namespace fhist::nas
