#pragma once
// A tiny learnable image dataset for training tests: 3 classes, each brightening a different third of the rows of
// channel 0, plus noise. Deterministic for a seed.
#include <ATen/CPUGeneratorImpl.h>

#include <cstdint>
#include <vector>

#include "data/dataset.hpp"

namespace fhist::testing {

inline data::Dataset toy_dataset(std::int64_t n, std::uint64_t seed, std::int64_t channels, std::int64_t side) {
  auto gen = at::detail::createCPUGenerator(seed);
  const std::int64_t band = side / 3;
  data::Dataset ds;
  ds.name = "toy";
  ds.labels = torch::randint(0, 3, {n}, gen, torch::kInt64);
  auto img = torch::rand({n, channels, side, side}, gen) * 120;
  for (std::int64_t i = 0; i < n; ++i) img[i][0].narrow(0, band * ds.labels[i].item<std::int64_t>(), band).add_(120);
  ds.images = img.to(torch::kUInt8);
  ds.num_classes = 3;
  ds.mean = std::vector<float>(static_cast<std::size_t>(channels), 0.3f);
  ds.std = std::vector<float>(static_cast<std::size_t>(channels), 0.3f);
  return ds;
}

}  // namespace fhist::testing
