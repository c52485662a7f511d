#pragma once
// The contract every fhist network keeps: forward returns the penultimate features (what the linear head sees)
// next to the logits, so the trainer can record feature histories without hooks.
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "space/resnet_scale.hpp"

namespace fhist::models {

struct ModelOutput {
  torch::Tensor features;    // float [B, feature_dim]: the pooled vector fed to the head
  torch::Tensor logits;      // float [B, num_classes]
  torch::Tensor aux_logits;  // float [B, num_classes] from an auxiliary head in training mode; else undefined
};

class Classifier : public torch::nn::Module {
 public:
  // x: float [B, C, H, W], normalized.
  virtual ModelOutput forward(const torch::Tensor& x) = 0;
  // The final linear layer h: features -> logits. Its weight is [num_classes, feature_dim].
  virtual torch::nn::Linear& head() = 0;
  virtual std::int64_t feature_dim() const = 0;
  // Called by the trainer before each epoch with (epoch - 1) / max_epochs in [0, 1): schedules that live inside
  // the model (e.g. DARTS' drop-path probability) follow it. Default: nothing.
  virtual void set_training_progress(double fraction) { static_cast<void>(fraction); }
  // Called by the trainer before each epoch with a seed derived from (run seed, epoch): randomness inside forward
  // (DARTS' drop path) draws from a generator of its own seeded here, never from Torch's global one, which
  // checkpoints do not save and other workers' weight init would interleave with. Default: nothing.
  virtual void seed_randomness(std::uint64_t seed) { static_cast<void>(seed); }
  // What tells this network from another with the same parameter count, for checkpoint checks. Cell networks give
  // their arch string or genotype (parameter-free ops change no count); the default is a digest of the names and
  // shapes of the parameters and buffers.
  virtual std::string architecture() const;
};
using ClassifierPtr = std::shared_ptr<Classifier>;

struct ModelSpec {
  std::string name = "resnet18";  // see model_names()
  double width_mult = 1.0;        // multiplies every layer's channel count
  std::int64_t in_channels = 3;
  std::int64_t num_classes = 10;
  // "resnet-scale" only (paper A.6): per-stage multipliers d2..d5 and w2..w5; empty = all 1 (ResNet-18).
  std::vector<double> depth_mults;
  std::vector<double> width_mults;
  // Cell networks (built by nas::make_network): the NAS-Bench-201 arch string or DARTS genotype text, initial
  // channels and cells (0 = the network's default), and DARTS' auxiliary head.
  std::string arch;
  std::int64_t channels = 0;
  std::int64_t cells = 0;
  bool auxiliary = false;
  // "mlp" only: hidden layers, units per layer, dropout, and the values per example it flattens (C*H*W; 0 =
  // in_channels, as for a table's [N, F, 1, 1]).
  std::int64_t depth = 2;
  std::int64_t width = 128;
  double dropout = 0.0;
  std::int64_t in_features = 0;
};

std::vector<std::string> model_names();

// Throws InputError for an unknown name or a width multiplier that leaves a layer without channels.
ClassifierPtr make_model(const ModelSpec& spec);

std::int64_t count_parameters(const torch::nn::Module& m);

// Channel count after a width multiplier: rounded, at least 1 (the resnet-scale space's MAC formula uses it too).
using space::scaled_channels;

}  // namespace fhist::models
