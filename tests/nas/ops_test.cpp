#include <gtest/gtest.h>

#include "nas/ops.hpp"

namespace fhist::nas {
namespace {

TEST(NasOps, FactorizedReduceHalvesResolutionAndKeepsEveryPixel) {
  torch::manual_seed(0);
  FactorizedReduce fr(6, 7);
  auto x = torch::randn({2, 6, 8, 8});
  auto y = fr->forward(x);
  EXPECT_EQ(y.sizes(), (std::vector<std::int64_t>{2, 7, 4, 4}));
  // Parameters: 6*3 + 6*4 conv weights (3 and 4 outputs) + 2*7 BN affine.
  std::int64_t n = 0;
  for (const auto& p : fr->parameters()) n += p.numel();
  EXPECT_EQ(n, 6 * 3 + 6 * 4 + 2 * 7);
  // The second branch sees odd pixels: changing only x[..., 1, 1] changes its outputs.
  fr->eval();
  auto x2 = x.clone();
  x2.index_put_({torch::indexing::Slice(), torch::indexing::Slice(), 1, 1}, 100.0);
  auto d = (fr->forward(x2) - fr->forward(x)).abs().sum({0, 2, 3});
  EXPECT_EQ(d.narrow(0, 0, 3).sum().item<float>(), 0.0f);
  EXPECT_GT(d.narrow(0, 3, 4).sum().item<float>(), 0.0f);
}

TEST(NasOps, ReLUConvBNShapes) {
  ReLUConvBN op(4, 8, 3, 2, 1);
  EXPECT_EQ(op->forward(torch::randn({1, 4, 9, 9})).sizes(), (std::vector<std::int64_t>{1, 8, 5, 5}));
}

}  // namespace
}  // namespace fhist::nas
