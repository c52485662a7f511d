#pragma once
// RandAugment (Cubuk et al. 2020) with torchvision's op set, magnitude bins and tensor semantics (REFERENCE.md §4),
// so that searched (N, M) mean the same as in torchvision. Works on one uint8 image [C, H, W] at a time, on CPU.
#include <torch/torch.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "space/augment.hpp"

namespace fhist::data {

// The 14 ops in torchvision's order (the draw in rand_augment indexes this order).
enum class RandAugmentOp {
  kIdentity, kShearX, kShearY, kTranslateX, kTranslateY, kRotate, kBrightness, kColor, kContrast, kSharpness,
  kPosterize, kSolarize, kAutoContrast, kEqualize
};
inline constexpr int kNumRandAugmentOps = 14;

// Op names as torchvision spells them ("Identity", "ShearX", ...), indexed by the enum.
std::vector<std::string> randaugment_op_names();

// Whether the op's magnitude gets a random sign (geometric and enhance ops).
bool randaugment_op_signed(RandAugmentOp op);

// The unsigned magnitude of `op` at bin `bin` of `num_bins` for an image of `height` x `width` pixels, in the op's
// unit: shear factor (tan of the angle), translation in pixels, rotation in degrees (counter-clockwise), enhance
// factor minus 1, posterize bits kept, solarize threshold; 0 for Identity, AutoContrast and Equalize.
double randaugment_magnitude(RandAugmentOp op, int bin, int num_bins, std::int64_t height, std::int64_t width);

// One op on one uint8 image [C, H, W] (C = 1 or 3) at magnitude bin `magnitude` in [0, num_bins - 1]; `negate` flips
// the sign for signed ops (ignored by the others). Returns uint8 [C, H, W]; may be `image` itself when the op leaves
// it unchanged, so don't write into the result in place. Throws InputError on a bad image or bin.
torch::Tensor apply_op(const torch::Tensor& image, RandAugmentOp op, int magnitude, bool negate, int num_bins = 31);

// Rotates a uint8 image [C, H, W] by `degrees` counter-clockwise about its centre; nearest neighbour, 0 outside
// (torchvision F.rotate). The Rotate op is this with the bin's angle; exposed for angles the bins don't reach.
torch::Tensor rotate_nearest(const torch::Tensor& image, double degrees);

using space::RandAugmentOptions;  // space/augment.hpp

// N ops drawn uniformly with replacement from `rng`, each with a random sign for signed ops, applied in turn to a
// uint8 image [C, H, W] (C = 1 or 3). A fixed rng state gives the same result. Returns uint8 [C, H, W].
torch::Tensor rand_augment(const torch::Tensor& image, const RandAugmentOptions& o, std::mt19937_64& rng);

}  // namespace fhist::data
