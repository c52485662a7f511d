#pragma once
// Building blocks shared by the cell-based NAS networks (NAS-Bench-201 and DARTS; REFERENCE §2-§3).
#include <torch/torch.h>

#include <cstdint>

namespace fhist::nas {

// ReLU -> Conv2d(k, stride, padding, dilation, bias=False) -> BatchNorm2d(affine).
class ReLUConvBNImpl : public torch::nn::Module {
 public:
  ReLUConvBNImpl(std::int64_t c_in, std::int64_t c_out, std::int64_t kernel, std::int64_t stride,
                 std::int64_t padding, std::int64_t dilation = 1, bool affine = true);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Conv2d conv_{nullptr};
  torch::nn::BatchNorm2d bn_{nullptr};
};
TORCH_MODULE(ReLUConvBN);

// Stride-2 reduction that keeps every pixel: ReLU, then two 1x1 stride-2 convs with c_out/2 and c_out - c_out/2
// outputs, the second on the input shifted by one pixel (pad right/bottom by 1, take [1:, 1:]); concat; BN.
class FactorizedReduceImpl : public torch::nn::Module {
 public:
  FactorizedReduceImpl(std::int64_t c_in, std::int64_t c_out, bool affine = true);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Conv2d conv1_{nullptr};
  torch::nn::Conv2d conv2_{nullptr};
  torch::nn::BatchNorm2d bn_{nullptr};
};
TORCH_MODULE(FactorizedReduce);

}  // namespace fhist::nas
