#pragma once
// The augmentation setting of a trial as text ("crop,flip", "randaug2-9,crop,flip,cutout16", "none", "auto"): what
// a study records and a configuration's ra_n / ra_m adjust. No Torch: data::make_batch applies it.
#include <string>

namespace fhist::space {

struct RandAugmentOptions {
  int num_ops = 2;     // N: ops applied in turn per image, >= 0
  int magnitude = 9;   // M: magnitude bin in [0, num_bins - 1]
  int num_bins = 31;   // number of magnitude bins, >= 2

  // Throws InputError naming N, M or the bin count.
  void validate() const;
};

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

}  // namespace fhist::space
