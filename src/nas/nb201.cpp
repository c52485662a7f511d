#include "nas/nb201.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "core/errors.hpp"

namespace fhist::nas {

namespace nn = torch::nn;

namespace {

constexpr int kNodes = 3;  // intermediate nodes 1..3; node 0 is the cell input
const std::array<const char*, 6> kEdgeNames = {"edge_1_0", "edge_2_0", "edge_2_1", "edge_3_0", "edge_3_1", "edge_3_2"};

bool is_op(const std::string& op) {
  const auto names = nb201_op_names();
  return std::find(names.begin(), names.end(), op) != names.end();
}

std::string known_ops() {
  std::string out;
  for (const auto& n : nb201_op_names()) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// Splits on `sep`, keeping empty parts so that stray or doubled separators are seen and rejected.
std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts(1);
  for (char ch : s) {
    if (ch == sep) {
      parts.emplace_back();
    } else {
      parts.back() += ch;
    }
  }
  return parts;
}

}  // namespace

std::vector<std::string> nb201_op_names() {
  return {"none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"};
}

Nb201Arch parse_nb201_arch(const std::string& s) {
  auto fail = [&s](const std::string& what) { throw InputError(fmt::format("NAS-Bench-201 arch '{}': {}", s, what)); };
  const auto nodes = split(s, '+');
  if (nodes.size() != kNodes) {
    fail(fmt::format("expected {} nodes separated by '+', got {}{}", kNodes, nodes.size(),
                     nodes.size() > kNodes ? fmt::format(" (extra node '{}')", nodes[kNodes]) : ""));
  }
  Nb201Arch arch;
  std::size_t e = 0;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const std::string& node = nodes[i];
    if (node.size() < 2 || node.front() != '|' || node.back() != '|') {
      fail(fmt::format("node {} '{}' must start and end with '|'", i + 1, node));
    }
    const auto edges = split(node.substr(1, node.size() - 2), '|');
    if (edges.size() != i + 1) {
      fail(fmt::format("node {} '{}' needs {} input(s), got {}", i + 1, node, i + 1, edges.size()));
    }
    for (std::size_t j = 0; j < edges.size(); ++j) {
      const std::string& tok = edges[j];
      const auto tilde = tok.find('~');
      if (tilde == std::string::npos) fail(fmt::format("edge '{}' of node {} is not op~input", tok, i + 1));
      const std::string op = tok.substr(0, tilde);
      const std::string input = tok.substr(tilde + 1);
      if (!is_op(op)) fail(fmt::format("unknown op '{}' in edge '{}' (known: {})", op, tok, known_ops()));
      // Inputs must be listed in order 0..i-1: the edge order is what Nb201Arch and the search space index by.
      if (input != std::to_string(j)) {
        fail(fmt::format("edge '{}' of node {}: expected input {}, got '{}'", tok, i + 1, j, input));
      }
      arch.ops[e++] = op;
    }
  }
  return arch;
}

std::string to_string(const Nb201Arch& arch) {
  std::string out;
  std::size_t e = 0;
  for (int i = 1; i <= kNodes; ++i) {
    out += i > 1 ? "+|" : "|";
    for (int j = 0; j < i; ++j) out += arch.ops[e++] + "~" + std::to_string(j) + "|";
  }
  return out;
}

space::SearchSpace nb201_space() {
  const auto names = nb201_op_names();
  const std::vector<nlohmann::json> choices(names.begin(), names.end());
  std::vector<space::Param> params;
  for (const char* edge : kEdgeNames) params.push_back(space::Param::categorical(edge, choices));
  return space::SearchSpace("nb201", std::move(params));
}

Nb201Arch nb201_arch_from_config(const space::Config& config) {
  Nb201Arch arch;
  for (std::size_t e = 0; e < kEdgeNames.size(); ++e) {
    arch.ops[e] = config.get_string(kEdgeNames[e]);  // InputError naming the field if missing / not a string
    if (!is_op(arch.ops[e])) {
      throw InputError(fmt::format("config: parameter '{}': unknown NAS-Bench-201 op '{}' (known: {})", kEdgeNames[e],
                                   arch.ops[e], known_ops()));
    }
  }
  return arch;
}

space::Config nb201_config(const Nb201Arch& arch) {
  space::Config config;
  for (std::size_t e = 0; e < kEdgeNames.size(); ++e) config.set(kEdgeNames[e], arch.ops[e]);
  return config;
}

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
    throw InputError(fmt::format("unknown NAS-Bench-201 op '{}' (known: {})", op, known_ops()));
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
    edges_.push_back(register_module(kEdgeNames[e], Nb201Op(arch.ops[e], channels, channels, 1)));
  }
}

torch::Tensor Nb201CellImpl::forward(const torch::Tensor& x) {
  std::vector<torch::Tensor> nodes{x};
  std::size_t e = 0;
  for (int i = 1; i <= kNodes; ++i) {
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
