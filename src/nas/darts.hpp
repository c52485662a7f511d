#pragma once
// The DARTS search space (Liu et al. 2019; REFERENCE §3, paper Appendix A.4): genotypes, their text form, uniform
// random cells, and the evaluation network NetworkCIFAR.
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "models/model.hpp"
#include "space/space.hpp"

namespace fhist::nas {

// One cell's wiring: 8 (op, input) pairs, two per intermediate node 2..5; inputs 0 and 1 are the outputs of cells
// k-2 and k-1, input j >= 2 is intermediate node j. `*_concat` lists the intermediate nodes whose channel concat is
// the cell's output (normally [2, 3, 4, 5]).
struct Genotype {
  using Edge = std::pair<std::string, int>;
  std::vector<Edge> normal;
  std::vector<int> normal_concat;
  std::vector<Edge> reduce;
  std::vector<int> reduce_concat;

  bool operator==(const Genotype& o) const {
    return normal == o.normal && normal_concat == o.normal_concat && reduce == o.reduce &&
           reduce_concat == o.reduce_concat;
  }
  bool operator!=(const Genotype& o) const { return !(*this == o); }
};

// The 8 operation names in the order of genotypes.py's PRIMITIVES ("none" first).
const std::vector<std::string>& darts_ops();

// Reads genotypes.py's text: `Genotype(normal=[('sep_conv_3x3', 0), ...], normal_concat=[2, 3, 4, 5], reduce=[...],
// reduce_concat=range(2, 6))`; fields by keyword in any order, each exactly once. Throws InputError naming the
// offending token: syntax, unknown op or field, not 8 pairs, an input not earlier than its node, a bad concat index.
Genotype parse_genotype(const std::string& text);
// The list form above (concat written as a list); parse_genotype(to_string(g)) == g.
std::string to_string(const Genotype& g);
// Throws InputError if `g` is not a well-formed 8-pair genotype (what parse_genotype checks after parsing).
void validate_genotype(const Genotype& g);

// DARTS_V2 from genotypes.py (second-order DARTS, the paper's Table 2 baseline).
Genotype darts_v2();

// A.4's uniform random cell, for the normal and the reduce cell alike: each intermediate node draws two distinct
// earlier inputs and, for each, one of the 7 ops other than "none". Concat is [2, 3, 4, 5].
Genotype sample_genotype(space::Rng& rng);

// The same space in the search-space language: for cell in {normal, reduce}, node n in 2..5, slot s in {a, b}:
// "<cell>_<n>_in_<s>" categorical over 0..n-1 and "<cell>_<n>_op_<s>" categorical over the 7 ops; one constraint
// "<cell>_<n>_inputs_differ" per node. Uniform sampling with rejection gives sample_genotype's distribution.
space::SearchSpace darts_space();
// Both throw InputError (naming the field) for what darts_space cannot hold: concat other than [2, 3, 4, 5],
// the op "none", or a node reading one input twice.
Genotype darts_genotype_from_config(const space::Config& config);
space::Config darts_config(const Genotype& g);

// Drop path (training only): zeroes whole samples with probability drop_prob and scales the kept ones by
// 1 / (1 - drop_prob). x: float [B, ...]; the mask is drawn on the CPU from `gen` (a CPU generator: one draw per
// sample, so moving it costs little) and used on x's device with x's dtype. drop_prob in [0, 1).
torch::Tensor drop_path(const torch::Tensor& x, double drop_prob, at::Generator gen);

struct DartsCellImpl;  // defined in darts.cpp

// DARTS' evaluation network for CIFAR-sized inputs: stem Conv3x3(in_channels -> 3C) + BN, `layers` cells with
// reduction cells (channels doubled, resolution halved) at layers/3 and 2*layers/3, global average pool, Linear.
// With `auxiliary`, a head after cell 2*layers/3 gives aux_logits in training mode (the trainer weighs it 0.4).
// The auxiliary head pools the 5x5 corner windows of that cell's map into 2x2 (AvgPool(5, stride 3) on the 8x8 map
// of 32x32 inputs, as the original; stride 2 on the 7x7 map of 28x28 inputs); maps outside 6x6..8x8 are an
// InputError in forward. Drop path (probability drop_path_max * training progress) applies to non-identity ops
// in training mode.
class NetworkCIFAR : public models::Classifier {
 public:
  NetworkCIFAR(std::int64_t C, std::int64_t num_classes, std::int64_t layers, bool auxiliary, const Genotype& genotype,
               std::int64_t in_channels = 3, double drop_path_max = 0.2);
  // x: float [B, in_channels, H, W]. features: [B, feature_dim()]; logits, aux_logits: [B, num_classes].
  models::ModelOutput forward(const torch::Tensor& x) override;
  torch::nn::Linear& head() override { return classifier_; }
  std::int64_t feature_dim() const override { return feature_dim_; }
  // fraction in [0, 1] (clamped): drop_path_prob() = drop_path_max * fraction.
  void set_training_progress(double fraction) override;
  void seed_randomness(std::uint64_t seed) override;
  double drop_path_prob() const { return drop_path_prob_; }
  // Parameters of the auxiliary head (0 without one); DARTS reports model size without them.
  std::int64_t auxiliary_parameters() const;

 private:
  torch::nn::Sequential stem_{nullptr};
  std::vector<std::shared_ptr<DartsCellImpl>> cells_;
  torch::nn::Sequential aux_features_{nullptr};  // Conv1x1 -> BN -> ReLU -> Conv2x2 -> BN -> ReLU (after the pool)
  torch::nn::Linear aux_classifier_{nullptr};
  torch::nn::Linear classifier_{nullptr};
  std::int64_t aux_after_ = -1;  // index of the cell the auxiliary head reads
  std::int64_t feature_dim_ = 0;
  double drop_path_max_ = 0.0;
  double drop_path_prob_ = 0.0;
  at::Generator drop_gen_ = at::detail::createCPUGenerator(0);  // drop path's own (seed_randomness), for all cells
};

}  // namespace fhist::nas
