#include "nas/nb201.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "core/errors.hpp"

namespace fhist::nas {

namespace nn = torch::nn;

Nb201OpImpl::Nb201OpImpl(const std::string& op, std::int64_t c_in, std::int64_t c_out, std::int64_t stride)
    : c_in_(c_in), c_out_(c_out), stride_(stride) {
  if (stride != 1 && stride != 2)
    throw InputError(fmt::format("NAS-Bench-201 op '{}': stride {} is not 1 or 2", op, stride));
  if (op == "none") {
    kind_ = Kind::kNone;
  } else if (op == "skip_connect") {
    kind_ = Kind::kSkip;
    if (stride == 2) {
      reduce_ = register_module("reduce", FactorizedReduce(c_in, c_out));
    } else if (c_in != c_out) {
      // The original's stride-1 channel change (1x1 conv + BN) never occurs in TinyNetwork; not implemented.
      throw InputError(
          fmt::format("NAS-Bench-201 op 'skip_connect': stride 1 needs c_in == c_out (got {} and {})", c_in, c_out));
    }
  } else if (op == "nor_conv_1x1" || op == "nor_conv_3x3") {
    kind_ = Kind::kConv;
    const std::int64_t k = op == "nor_conv_1x1" ? 1 : 3;
    conv_ = register_module("conv", ReLUConvBN(c_in, c_out, k, stride, (k - 1) / 2));
  } else if (op == "avg_pool_3x3") {
    kind_ = Kind::kAvgPool;
    if (c_in != c_out) conv_ = register_module("conv", ReLUConvBN(c_in, c_out, 1, 1, 0));
  } else {
    throw InputError(fmt::format("unknown NAS-Bench-201 op '{}' (known: {})", op, fmt::join(space::nb201_op_names(), ", ")));
  }
}

torch::Tensor Nb201OpImpl::forward(const torch::Tensor& x) {
  switch (kind_) {
    case Kind::kNone: {
      if (c_in_ != c_out_) {
        return torch::zeros(
            {x.size(0), c_out_, (x.size(2) + stride_ - 1) / stride_, (x.size(3) + stride_ - 1) / stride_}, x.options());
      }
      // As the original: x * 0 on the (strided) input, so the output keeps x's shape and graph.
      const auto sub = stride_ == 1 ? x : x.slice(2, 0, x.size(2), stride_).slice(3, 0, x.size(3), stride_);
      return sub.mul(0.0);
    }
    case Kind::kSkip:
      return stride_ == 1 ? x : reduce_(x);
    case Kind::kConv:
      return conv_(x);
    case Kind::kAvgPool:
      return torch::avg_pool2d(conv_ ? conv_(x) : x, {3, 3}, {stride_, stride_}, {1, 1}, /*ceil_mode=*/false,
                               /*count_include_pad=*/false);
  }
  return x;  // unreachable
}

Nb201CellImpl::Nb201CellImpl(const Nb201Arch& arch, std::int64_t channels) {
  for (std::size_t e = 0; e < arch.ops.size(); ++e) {
    edges_.push_back(register_module(space::nb201_edge_names()[e], Nb201Op(arch.ops[e], channels, channels, 1)));
  }
}

torch::Tensor Nb201CellImpl::forward(const torch::Tensor& x) {
  std::vector<torch::Tensor> nodes{x};
  std::size_t e = 0;
  for (int i = 1; i <= space::kNb201Nodes; ++i) {
    torch::Tensor sum = edges_[e++](nodes[0]);
    for (int j = 1; j < i; ++j) sum = sum + edges_[e++](nodes[j]);
    nodes.push_back(sum);
  }
  return nodes.back();
}

Nb201ReductionImpl::Nb201ReductionImpl(std::int64_t c_in, std::int64_t c_out)
    : conv_a_(register_module("conv_a", ReLUConvBN(c_in, c_out, 3, 2, 1))),
      conv_b_(register_module("conv_b", ReLUConvBN(c_out, c_out, 3, 1, 1))),
      shortcut_(register_module("shortcut", nn::Conv2d(nn::Conv2dOptions(c_in, c_out, 1).bias(false)))) {}

torch::Tensor Nb201ReductionImpl::forward(const torch::Tensor& x) {
  return conv_b_(conv_a_(x)) + shortcut_(torch::avg_pool2d(x, {2, 2}, {2, 2}));
}

TinyNetwork::TinyNetwork(std::int64_t channels, std::int64_t cells_per_stage, const Nb201Arch& arch,
                         std::int64_t num_classes, std::int64_t in_channels) {
  if (channels < 1 || cells_per_stage < 0 || num_classes < 1 || in_channels < 1) {
    throw InputError(
        fmt::format("TinyNetwork: need C >= 1, N >= 0, num_classes >= 1, in_channels >= 1 (got C={}, "
                    "N={}, num_classes={}, in_channels={})",
                    channels, cells_per_stage, num_classes, in_channels));
  }
  architecture_ = fmt::format("NB-201 {} C={} N={}", space::to_string(arch), channels, cells_per_stage);
  stem_ = register_module("stem", nn::Conv2d(nn::Conv2dOptions(in_channels, channels, 3).padding(1).bias(false)));
  stem_bn_ = register_module("stem_bn", nn::BatchNorm2d(channels));
  layers_ = nn::Sequential();
  std::int64_t c = channels;
  for (int stage = 0; stage < 3; ++stage) {
    if (stage > 0) {
      layers_->push_back(Nb201Reduction(c, 2 * c));
      c *= 2;
    }
    for (std::int64_t n = 0; n < cells_per_stage; ++n) layers_->push_back(Nb201Cell(arch, c));
  }
  register_module("layers", layers_);
  head_bn_ = register_module("head_bn", nn::BatchNorm2d(c));
  fc_ = register_module("fc", nn::Linear(c, num_classes));
  feature_dim_ = c;
}

models::ModelOutput TinyNetwork::forward(const torch::Tensor& x) {
  // Each reduction halves H and W on two paths (stride-2 conv: ceil, 2x2 pool: floor) that agree only on even
  // sizes; check here for a clear message instead of a shape mismatch deep inside.
  if (x.dim() != 4 || x.size(2) % 4 != 0 || x.size(3) % 4 != 0) {
    throw InputError(fmt::format("TinyNetwork: expected input [B, C, H, W] with H and W divisible by 4, got {}",
                                 c10::str(x.sizes())));
  }
  auto y = layers_->forward(stem_bn_(stem_(x)));
  y = torch::relu(head_bn_(y));
  auto features = torch::adaptive_avg_pool2d(y, {1, 1}).flatten(1);
  return {features, fc_(features), {}};
}

}  // namespace fhist::nas
