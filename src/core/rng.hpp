#pragma once
// Seeds for independent random streams. Every random draw in fhist comes from a stream derived from
// (run seed, purpose, index), so epoch e's shuffle and augmentation do not depend on how many epochs ran before in
// this process: that is what makes continuing from a checkpoint bit-identical to training straight through.
#include <cstdint>

namespace fhist {

enum class Stream : std::uint64_t {
  kSplit = 1,
  kShuffle = 2,
  kAugment = 3,
  kRefit = 4,
  kInit = 5,
  kSample = 6,  // a search's configuration for trial i
  kTrial = 7,   // a search's training seed for trial i
  kModel = 8,   // randomness inside a model's forward pass in epoch i (DARTS' drop path)
  kBootstrap = 9,  // replay's bootstrap replicate i (which table rows it resamples)
};

inline std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

inline std::uint64_t derive_seed(std::uint64_t seed, Stream stream, std::uint64_t index = 0) {
  return splitmix64(splitmix64(splitmix64(seed) ^ static_cast<std::uint64_t>(stream)) ^ index);
}

}  // namespace fhist
