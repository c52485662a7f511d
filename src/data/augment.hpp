#pragma once
// Batching with augmentation: pad-and-crop, horizontal flip, Cutout, then per-channel normalization.
#include <torch/torch.h>

#include <cstdint>
#include <random>
#include <string>

#include "data/dataset.hpp"

namespace fhist::data {

struct AugmentOptions {
  bool flip = true;          // horizontal flip with probability 1/2
  int crop_padding = 4;      // zero-pad each side by this much, then take a random crop of the original size
  int cutout = 0;            // side of the zeroed square (DeVries & Taylor); 0 = off
  int randaugment_n = 0;     // RandAugment ops per image, applied first (0 = off)
  int randaugment_m = 9;     // RandAugment magnitude bin, 0..30

  // Parses "crop,flip", "crop,flip,cutout16", "randaug2-9,crop,flip", "none", ... Throws InputError naming the bad
  // token.
  static AugmentOptions parse(const std::string& text);
  std::string to_string() const;
};

// "auto" becomes what measured best for the dataset at fhist's budgets (docs/results.md, "Defaults"): "none" for
// Fashion-MNIST and MNIST, "crop,flip" for CIFAR (the paper's). Any other text is returned unchanged.
std::string resolve_augment(const std::string& augment, const std::string& data_spec);

// Images `indices` of `ds` as a normalized float batch [B, C, H, W] on `device`. With `aug` and `rng`, applies the
// random augmentation (drawn from `rng`, so a fixed seed gives the same batch); without, the plain images.
torch::Tensor make_batch(const Dataset& ds, const torch::Tensor& indices, const AugmentOptions* aug,
                         std::mt19937_64* rng, const torch::Device& device);

}  // namespace fhist::data
