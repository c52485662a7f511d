#pragma once
// Batching with augmentation: pad-and-crop, horizontal flip, Cutout, then per-channel normalization.
#include <torch/torch.h>

#include <cstdint>
#include <random>
#include <string>

#include "data/dataset.hpp"
#include "space/augment.hpp"

namespace fhist::data {

// The setting's text form and "auto" are space/augment.hpp's.
using space::AugmentOptions;
using space::resolve_augment;

// Images `indices` of `ds` as a normalized float batch [B, C, H, W] on `device`. With `aug` and `rng`, applies the
// random augmentation (drawn from `rng`, so a fixed seed gives the same batch); without, the plain images.
torch::Tensor make_batch(const Dataset& ds, const torch::Tensor& indices, const AugmentOptions* aug,
                         std::mt19937_64* rng, const torch::Device& device);

// Throws InputError for augmentation the data cannot take: any on a table of numbers, RandAugment on float arrays.
void check_augment(const Dataset& ds, const AugmentOptions& aug);

}  // namespace fhist::data
