#pragma once
// NAS-Bench-201's network (REFERENCE §2): TinyNetwork, one cell repeated in three stages. The arch strings and the
// search space are space/nb201.hpp's.
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "models/model.hpp"
#include "nas/ops.hpp"
#include "space/nb201.hpp"

namespace fhist::nas {

using space::Nb201Arch;

// One of the 5 operations, from c_in to c_out channels at `stride` (1 or 2). Throws InputError for an unknown op.
// x: float [B, c_in, H, W] -> [B, c_out, ceil(H / stride), ceil(W / stride)].
class Nb201OpImpl : public torch::nn::Module {
 public:
  Nb201OpImpl(const std::string& op, std::int64_t c_in, std::int64_t c_out, std::int64_t stride);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  enum class Kind { kNone, kSkip, kConv, kAvgPool };
  Kind kind_ = Kind::kNone;
  std::int64_t c_in_, c_out_, stride_;
  ReLUConvBN conv_{nullptr};          // nor_conv_kxk, or avg_pool's 1x1 channel change
  FactorizedReduce reduce_{nullptr};  // skip_connect with stride 2
};
TORCH_MODULE(Nb201Op);

// The 4-node cell at C channels, stride 1: node 0 = input, node i = sum_{j<i} op_{i<-j}(node j), output node 3.
// x: float [B, C, H, W] -> same shape.
class Nb201CellImpl : public torch::nn::Module {
 public:
  Nb201CellImpl(const Nb201Arch& arch, std::int64_t channels);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  std::vector<Nb201Op> edges_;  // arch order
};
TORCH_MODULE(Nb201Cell);

// Residual reduction block between stages: ReLU-Conv3x3(stride 2)-BN -> ReLU-Conv3x3-BN, plus the shortcut
// AvgPool2d(2, 2) -> Conv1x1(bias=False). x: float [B, c_in, H, W] (H, W even) -> [B, c_out, H / 2, W / 2].
class Nb201ReductionImpl : public torch::nn::Module {
 public:
  Nb201ReductionImpl(std::int64_t c_in, std::int64_t c_out);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  ReLUConvBN conv_a_{nullptr};
  ReLUConvBN conv_b_{nullptr};
  torch::nn::Conv2d shortcut_{nullptr};
};
TORCH_MODULE(Nb201Reduction);

// The benchmark network: stem Conv3x3(in_channels -> C) + BN; N cells at C, reduction, N cells at 2C, reduction,
// N cells at 4C; head BN -> ReLU -> global average pool (features, [B, 4C]) -> Linear(4C -> num_classes).
// Inputs need H and W divisible by 4 (two halvings with matching main and shortcut paths), e.g. 28x28 or 32x32.
class TinyNetwork : public models::Classifier {
 public:
  // Throws InputError if channels, in_channels or num_classes < 1, or cells_per_stage < 0.
  TinyNetwork(std::int64_t channels, std::int64_t cells_per_stage, const Nb201Arch& arch, std::int64_t num_classes,
              std::int64_t in_channels = 3);
  // x: float [B, in_channels, H, W]; throws InputError unless H and W are divisible by 4.
  models::ModelOutput forward(const torch::Tensor& x) override;
  torch::nn::Linear& head() override { return fc_; }
  std::int64_t feature_dim() const override { return feature_dim_; }
  std::string architecture() const override { return architecture_; }

 private:
  std::string architecture_;  // the arch string, with C and N
  torch::nn::Conv2d stem_{nullptr};
  torch::nn::BatchNorm2d stem_bn_{nullptr};
  torch::nn::Sequential layers_{nullptr};  // cells and reduction blocks
  torch::nn::BatchNorm2d head_bn_{nullptr};
  torch::nn::Linear fc_{nullptr};
  std::int64_t feature_dim_ = 0;
};

}  // namespace fhist::nas
