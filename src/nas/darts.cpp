#include "nas/darts.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>  // fmt::join (moved here in fmt 11, the fmt that PyTorch 2.5+ wheels ship)

#include <algorithm>
#include <cctype>
#include <optional>
#include <random>
#include <set>

#include "core/errors.hpp"
#include "nas/ops.hpp"

namespace fhist::nas {

namespace nn = torch::nn;

namespace {

// ---- Network -----------------------------------------------------------------------------------------------------

// A cell operation: one input state -> one output state with the cell's channel count.
class CellOp : public nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
  // Identity ops are exempt from drop path (model.py: `not isinstance(op, Identity)`).
  virtual bool identity() const { return false; }
};

class ZeroOp : public CellOp {
 public:
  explicit ZeroOp(std::int64_t stride) : stride_(stride) {}
  torch::Tensor forward(const torch::Tensor& x) override {
    using torch::indexing::None;
    using torch::indexing::Slice;
    if (stride_ == 1) return x.mul(0.0);
    return x.index({Slice(), Slice(), Slice(None, None, stride_), Slice(None, None, stride_)}).mul(0.0);
  }

 private:
  std::int64_t stride_;
};

class PoolOp : public CellOp {
 public:
  PoolOp(bool max, std::int64_t stride) : max_(max), stride_(stride) {}
  torch::Tensor forward(const torch::Tensor& x) override {
    if (max_) return torch::max_pool2d(x, {3, 3}, {stride_, stride_}, {1, 1});
    return torch::avg_pool2d(x, {3, 3}, {stride_, stride_}, {1, 1}, /*ceil_mode=*/false, /*count_include_pad=*/false);
  }

 private:
  bool max_;
  std::int64_t stride_;
};

class IdentityOp : public CellOp {
 public:
  torch::Tensor forward(const torch::Tensor& x) override { return x; }
  bool identity() const override { return true; }
};

class SequentialOp : public CellOp {
 public:
  explicit SequentialOp(nn::Sequential seq) : seq_(register_module("op", std::move(seq))) {}
  torch::Tensor forward(const torch::Tensor& x) override { return seq_->forward(x); }

 private:
  nn::Sequential seq_;
};

nn::Conv2d depthwise(std::int64_t C, std::int64_t k, std::int64_t stride, std::int64_t pad, std::int64_t dilation) {
  return nn::Conv2d(nn::Conv2dOptions(C, C, k).stride(stride).padding(pad).dilation(dilation).groups(C).bias(false));
}
nn::Conv2d pointwise(std::int64_t C) { return nn::Conv2d(nn::Conv2dOptions(C, C, 1).bias(false)); }

std::shared_ptr<CellOp> make_op(const std::string& name, std::int64_t C, std::int64_t stride) {
  if (name == "none") return std::make_shared<ZeroOp>(stride);
  if (name == "max_pool_3x3" || name == "avg_pool_3x3") return std::make_shared<PoolOp>(name[0] == 'm', stride);
  if (name == "skip_connect") {
    if (stride == 1) return std::make_shared<IdentityOp>();
    return std::make_shared<SequentialOp>(nn::Sequential(FactorizedReduce(C, C)));
  }
  const std::int64_t k = name.back() == '3' ? 3 : 5;
  if (name.rfind("sep_conv", 0) == 0) {
    // Two ReLU-depthwise-pointwise-BN blocks; only the first is strided.
    return std::make_shared<SequentialOp>(
        nn::Sequential(nn::ReLU(), depthwise(C, k, stride, k / 2, 1), pointwise(C), nn::BatchNorm2d(C),  //
                       nn::ReLU(), depthwise(C, k, 1, k / 2, 1), pointwise(C), nn::BatchNorm2d(C)));
  }
  if (name.rfind("dil_conv", 0) == 0) {
    return std::make_shared<SequentialOp>(
        nn::Sequential(nn::ReLU(), depthwise(C, k, stride, k - 1, 2), pointwise(C), nn::BatchNorm2d(C)));
  }
  throw InputError(fmt::format("DARTS: unknown op '{}' (expected one of {})", name, fmt::join(space::darts_ops(), ", ")));
}

}  // namespace

struct DartsCellImpl : nn::Module {
  DartsCellImpl(const std::vector<Genotype::Edge>& edges, const std::vector<int>& concat, std::int64_t c_prev_prev,
                std::int64_t c_prev, std::int64_t C, bool reduction, bool reduction_prev)
      : concat_(concat) {
    // s0 comes from two cells back: if the previous cell reduced, s0 is twice s1's resolution.
    pre0_ = register_module("preprocess0", reduction_prev ? nn::Sequential(FactorizedReduce(c_prev_prev, C))
                                                          : nn::Sequential(ReLUConvBN(c_prev_prev, C, 1, 1, 0)));
    pre1_ = register_module("preprocess1", nn::Sequential(ReLUConvBN(c_prev, C, 1, 1, 0)));
    for (std::size_t k = 0; k < edges.size(); ++k) {
      const std::int64_t stride = reduction && edges[k].second < 2 ? 2 : 1;
      ops_.push_back(register_module(fmt::format("op{}", k), make_op(edges[k].first, C, stride)));
      inputs_.push_back(edges[k].second);
    }
  }

  torch::Tensor forward(const torch::Tensor& s0, const torch::Tensor& s1, double drop_prob, const at::Generator& gen) {
    std::vector<torch::Tensor> states = {pre0_->forward(s0), pre1_->forward(s1)};
    const bool drop = is_training() && drop_prob > 0.0;
    for (std::size_t k = 0; k + 1 < ops_.size(); k += 2) {
      torch::Tensor sum;
      for (std::size_t e = k; e < k + 2; ++e) {
        auto h = ops_[e]->forward(states[inputs_[e]]);
        if (drop && !ops_[e]->identity()) h = drop_path(h, drop_prob, gen);
        sum = sum.defined() ? sum + h : h;
      }
      states.push_back(sum);
    }
    std::vector<torch::Tensor> out;
    for (int i : concat_) out.push_back(states[i]);
    return torch::cat(out, 1);
  }

  nn::Sequential pre0_{nullptr}, pre1_{nullptr};
  std::vector<std::shared_ptr<CellOp>> ops_;
  std::vector<int> inputs_;
  std::vector<int> concat_;
};

torch::Tensor drop_path(const torch::Tensor& x, double drop_prob, at::Generator gen) {
  TORCH_CHECK(drop_prob >= 0.0 && drop_prob < 1.0, "drop_path: drop_prob must be in [0, 1), got ", drop_prob);
  const double keep = 1.0 - drop_prob;
  std::vector<std::int64_t> shape(static_cast<std::size_t>(x.dim()), 1);
  shape[0] = x.size(0);
  auto mask = torch::empty(shape, torch::kFloat32).bernoulli_(keep, gen).to(x.device(), x.scalar_type());
  return x.div(keep).mul(mask);
}

// ---- NetworkCIFAR ------------------------------------------------------------------------------------------------

NetworkCIFAR::NetworkCIFAR(std::int64_t C, std::int64_t num_classes, std::int64_t layers, bool auxiliary,
                           const Genotype& genotype, std::int64_t in_channels, double drop_path_max)
    : drop_path_max_(drop_path_max) {
  if (C < 1 || num_classes < 1 || layers < 1 || in_channels < 1)
    throw InputError(
        fmt::format("NetworkCIFAR: C ({}), num_classes ({}), layers ({}) and in_channels ({}) must be "
                    "positive",
                    C, num_classes, layers, in_channels));
  if (!(drop_path_max >= 0.0 && drop_path_max < 1.0))
    throw InputError(fmt::format("NetworkCIFAR: drop_path_max {} must be in [0, 1)", drop_path_max));
  space::validate_genotype(genotype);
  architecture_ = fmt::format("DARTS {} C={} layers={} auxiliary={}", space::to_string(genotype), C, layers, auxiliary);

  const std::int64_t stem_c = 3 * C;
  stem_ = register_module("stem",
                          nn::Sequential(nn::Conv2d(nn::Conv2dOptions(in_channels, stem_c, 3).padding(1).bias(false)),
                                         nn::BatchNorm2d(stem_c)));
  std::int64_t c_prev_prev = stem_c, c_prev = stem_c, c_curr = C, c_aux = 0;
  bool reduction_prev = false;
  for (std::int64_t i = 0; i < layers; ++i) {
    const bool reduction = i == layers / 3 || i == 2 * layers / 3;
    if (reduction) c_curr *= 2;
    const auto& edges = reduction ? genotype.reduce : genotype.normal;
    const auto& concat = reduction ? genotype.reduce_concat : genotype.normal_concat;
    cells_.push_back(register_module(
        fmt::format("cell{}", i),
        std::make_shared<DartsCellImpl>(edges, concat, c_prev_prev, c_prev, c_curr, reduction, reduction_prev)));
    reduction_prev = reduction;
    c_prev_prev = c_prev;
    c_prev = static_cast<std::int64_t>(concat.size()) * c_curr;
    if (i == 2 * layers / 3) c_aux = c_prev;
  }
  if (auxiliary) {
    aux_after_ = 2 * layers / 3;
    aux_features_ = register_module(
        "auxiliary_features",
        nn::Sequential(nn::Conv2d(nn::Conv2dOptions(c_aux, 128, 1).bias(false)), nn::BatchNorm2d(128), nn::ReLU(),
                       nn::Conv2d(nn::Conv2dOptions(128, 768, 2).bias(false)), nn::BatchNorm2d(768), nn::ReLU()));
    aux_classifier_ = register_module("auxiliary_classifier", nn::Linear(768, num_classes));
  }
  feature_dim_ = c_prev;
  classifier_ = register_module("classifier", nn::Linear(c_prev, num_classes));
}

models::ModelOutput NetworkCIFAR::forward(const torch::Tensor& x) {
  models::ModelOutput out;
  auto s0 = stem_->forward(x);
  auto s1 = s0;
  for (std::size_t i = 0; i < cells_.size(); ++i) {
    auto s2 = cells_[i]->forward(s0, s1, drop_path_prob_, drop_gen_);
    s0 = s1;
    s1 = s2;
    if (static_cast<std::int64_t>(i) == aux_after_ && is_training()) {
      // The original AvgPool(5, stride 3) turns the 8x8 map of 32x32 inputs into 2x2 (the corner 5x5 windows),
      // which Conv2x2 reduces to 1x1 for the Linear(768). Stride H - 5 keeps exactly those windows on 6x6..8x8.
      const std::int64_t h = s1.size(2), w = s1.size(3);
      if (h < 6 || h > 8 || w < 6 || w > 8)
        throw InputError(
            fmt::format("NetworkCIFAR: the auxiliary head needs a 6x6 to 8x8 map after cell {} (e.g. "
                        "32x32 or 28x28 inputs); a {}x{} input gives {}x{}",
                        i, x.size(2), x.size(3), h, w));
      auto a = torch::avg_pool2d(torch::relu(s1), {5, 5}, {h - 5, w - 5}, {0, 0}, false, false);
      out.aux_logits = aux_classifier_(aux_features_->forward(a).flatten(1));
    }
  }
  out.features = torch::adaptive_avg_pool2d(s1, {1, 1}).flatten(1);
  out.logits = classifier_(out.features);
  return out;
}

void NetworkCIFAR::set_training_progress(double fraction) {
  drop_path_prob_ = drop_path_max_ * std::clamp(fraction, 0.0, 1.0);
}

void NetworkCIFAR::seed_randomness(std::uint64_t seed) { drop_gen_ = at::detail::createCPUGenerator(seed); }

std::int64_t NetworkCIFAR::auxiliary_parameters() const {
  if (!aux_features_) return 0;
  return models::count_parameters(*aux_features_) + models::count_parameters(*aux_classifier_);
}

}  // namespace fhist::nas
