#pragma once
// DARTS' evaluation network NetworkCIFAR (Liu et al. 2019; REFERENCE §3). Genotypes, their text and the search
// space are space/darts.hpp's.
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "models/model.hpp"
#include "space/darts.hpp"

namespace fhist::nas {

using space::Genotype;

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
  std::string architecture() const override { return architecture_; }

 private:
  std::string architecture_;  // the genotype, with C, layers and the auxiliary head
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
