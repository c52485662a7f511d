#include "nas/nb201.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <utility>

#include "core/errors.hpp"
#include "nb201_archs.hpp"
#include "test_util.hpp"

namespace fhist::nas {
namespace {

using namespace fhist::space;  // arch strings: space/nb201.hpp

using fhist::testing::input_error_message;
const std::string& kBest = fhist::testing::kNb201Best;
const std::string& kAllNone = fhist::testing::kNb201AllNone;
const std::string& kAllConv3 = fhist::testing::kNb201AllConv3;
const std::string& kAllOps = fhist::testing::kNb201AllOps;

std::int64_t param_count(const torch::nn::Module& m) {
  std::int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

TEST(Nb201Space, ConfigsConvertParseAndBuild) {
  const auto space = nb201_space();
  ASSERT_EQ(space.dims(), 6u);
  const std::vector<std::string> names = {"edge_1_0", "edge_2_0", "edge_2_1", "edge_3_0", "edge_3_1", "edge_3_2"};
  for (std::size_t e = 0; e < names.size(); ++e) {
    EXPECT_EQ(space.params()[e].name, names[e]);
    EXPECT_EQ(space.params()[e].choices.size(), 5u);
  }
  space::Rng rng(7);
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const auto config = space.sample(rng);
    const auto arch = nb201_arch_from_config(config);
    const auto s = to_string(arch);
    ASSERT_EQ(parse_nb201_arch(s), arch) << s;
    ASSERT_EQ(nb201_config(arch), config);
    seen.insert(s);
    if (i < 20) {  // building every one is slow; a subset at tiny size shows sampled cells build and run
      torch::NoGradGuard no_grad;
      TinyNetwork net(2, 1, arch, 10, 3);
      const auto out = net.forward(torch::randn({1, 3, 8, 8}));
      ASSERT_EQ(out.logits.sizes(), (std::vector<std::int64_t>{1, 10})) << s;
      ASSERT_TRUE(torch::isfinite(out.logits).all().item<bool>()) << s;
    }
  }
  EXPECT_GT(seen.size(), 900u);  // 15625 cells: 1000 draws are nearly all distinct
}

TEST(Nb201Ops, ShapesZerosIdentityAndPooling) {
  torch::manual_seed(0);
  const auto x = torch::randn({2, 4, 8, 8});
  for (const auto& op : nb201_op_names()) {
    SCOPED_TRACE(op);
    EXPECT_EQ(Nb201Op(op, 4, 4, 1)->forward(x).sizes(), x.sizes());
    EXPECT_EQ(Nb201Op(op, 4, 6, 2)->forward(x).sizes(), (std::vector<std::int64_t>{2, 6, 4, 4}));
  }
  EXPECT_EQ(Nb201Op("none", 4, 4, 1)->forward(x).abs().sum().item<float>(), 0.0f);
  EXPECT_EQ(Nb201Op("none", 4, 4, 2)->forward(x).sizes(), (std::vector<std::int64_t>{2, 4, 4, 4}));
  EXPECT_EQ(Nb201Op("none", 4, 6, 2)->forward(x).abs().sum().item<float>(), 0.0f);
  EXPECT_TRUE(torch::equal(Nb201Op("skip_connect", 4, 4, 1)->forward(x), x));
  // count_include_pad=False: a constant image stays constant, corners included (with padding counted they'd be 4/9).
  EXPECT_TRUE(
      torch::allclose(Nb201Op("avg_pool_3x3", 4, 4, 1)->forward(torch::ones({1, 4, 5, 5})), torch::ones({1, 4, 5, 5})));
  // Parameters: only conv ops, avg_pool's 1x1 channel change and skip's FactorizedReduce carry any.
  EXPECT_EQ(param_count(*Nb201Op("none", 4, 6, 2)), 0);
  EXPECT_EQ(param_count(*Nb201Op("avg_pool_3x3", 4, 4, 1)), 0);
  EXPECT_EQ(param_count(*Nb201Op("avg_pool_3x3", 4, 6, 2)), 4 * 6 + 2 * 6);
  EXPECT_EQ(param_count(*Nb201Op("nor_conv_1x1", 4, 6, 1)), 4 * 6 + 2 * 6);
  EXPECT_EQ(param_count(*Nb201Op("nor_conv_3x3", 4, 6, 1)), 9 * 4 * 6 + 2 * 6);
  EXPECT_EQ(param_count(*Nb201Op("skip_connect", 4, 6, 2)), 4 * 3 + 4 * 3 + 2 * 6);
  EXPECT_NE(input_error_message([] { Nb201Op("max_pool_3x3", 4, 4, 1); }).find("'max_pool_3x3'"), std::string::npos);
}

TEST(Nb201Cell, WiringSumsEdgesIntoNodes) {
  const auto x = torch::randn({2, 3, 6, 6});
  // Only node3<-0 carries the input; every other edge is `none` (zeros).
  Nb201Cell only_3_0(parse_nb201_arch("|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"), 3);
  EXPECT_TRUE(torch::equal(only_3_0->forward(x), x));
  // A chain 0 -> 1 -> 2 -> 3 through skips, everything else none.
  Nb201Cell chain(parse_nb201_arch("|skip_connect~0|+|none~0|skip_connect~1|+|none~0|none~1|skip_connect~2|"), 3);
  EXPECT_TRUE(torch::equal(chain->forward(x), x));
  // All skips: node1 = x, node2 = x + node1 = 2x, node3 = x + node1 + node2 = 4x.
  Nb201Cell skips(parse_nb201_arch("|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|"
                                   "skip_connect~2|"),
                  3);
  EXPECT_TRUE(torch::allclose(skips->forward(x), 4 * x));
  Nb201Cell none(parse_nb201_arch(kAllNone), 3);
  EXPECT_EQ(none->forward(x).abs().sum().item<float>(), 0.0f);
}

// Exact parameter counts at C=16, N=5, 10 classes, 3 input channels, derived from the op definitions:
//   stem: Conv3x3 3->16 = 3*16*9 = 432, BN(16) = 32                                   ->     464
//   reduction 16->32: conv_a 9*16*32 + BN 64 = 4672, conv_b 9*32*32 + 64 = 9280, shortcut 1x1 16*32 = 512
//                                                                                       ->  14,464
//   reduction 32->64: 9*32*64 + 128 = 18560, 9*64*64 + 128 = 36992, 32*64 = 2048       ->  57,600
//   head: BN(64) = 128, Linear 64*10 + 10 = 650                                         ->     778
//   => the parameter-free part (all-none cells, and avg_pool / skip at stride 1): 73,306
//   per nor_conv_3x3 edge (9C^2 + 2C BN), one per cell, 5 cells per stage:
//       (9*16^2 + 32) + (9*32^2 + 64) + (9*64^2 + 128) = 2336 + 9280 + 36992 = 48,608; x5 = 243,040
//   per nor_conv_1x1 edge (C^2 + 2C): (256 + 32) + (1024 + 64) + (4096 + 128) = 5600; x5 = 28,000
std::int64_t nb201_params(const std::string& arch, std::int64_t in_channels = 3) {
  return param_count(TinyNetwork(16, 5, parse_nb201_arch(arch), 10, in_channels));
}
constexpr std::int64_t kFree = 464 + 14464 + 57600 + 128 + 650;
constexpr std::int64_t kConv3Edge = 5 * ((9 * 16 * 16 + 32) + (9 * 32 * 32 + 64) + (9 * 64 * 64 + 128));
constexpr std::int64_t kConv1Edge = 5 * ((16 * 16 + 32) + (32 * 32 + 64) + (64 * 64 + 128));

TEST(Nb201Network, ExactParameterCountsAtBenchmarkSize) {
  static_assert(kFree == 73306 && kConv3Edge == 243040 && kConv1Edge == 28000, "derivation arithmetic");
  EXPECT_EQ(nb201_params(kAllNone), 73306);
  EXPECT_EQ(nb201_params(kAllConv3), kFree + 6 * kConv3Edge);
  EXPECT_EQ(nb201_params(kAllConv3), 1531546);
  // kBest: 3 x nor_conv_3x3, avg_pool and 2 x skip_connect (identity) add nothing.
  EXPECT_EQ(nb201_params(kBest), kFree + 3 * kConv3Edge);
  EXPECT_EQ(nb201_params(kBest), 802426);
  // 4 x nor_conv_3x3 + 1 x nor_conv_1x1 + avg_pool.
  const std::string mixed =
      "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_1x1~0|nor_conv_3x3~1|avg_pool_3x3~2|";
  EXPECT_EQ(nb201_params(mixed), kFree + 4 * kConv3Edge + kConv1Edge);
  EXPECT_EQ(nb201_params(mixed), 1073466);
  // One input channel: the stem conv has 16*9 instead of 3*16*9 weights.
  EXPECT_EQ(nb201_params(kAllNone, 1), 73306 - 2 * 16 * 9);
}

TEST(Nb201Network, ShapesAndOneSgdStep) {
  for (std::int64_t in_channels : {1, 3}) {
    SCOPED_TRACE(in_channels);
    torch::manual_seed(1);
    TinyNetwork net(4, 1, parse_nb201_arch(kAllOps), 10, in_channels);
    EXPECT_EQ(net.feature_dim(), 16);
    EXPECT_EQ(net.head()->weight.sizes(), (std::vector<std::int64_t>{10, 16}));
    const auto x = torch::randn({2, in_channels, 16, 16});
    const auto y = torch::tensor({3, 7}, torch::kLong);
    torch::optim::SGD opt(net.parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
    auto out = net.forward(x);
    EXPECT_EQ(out.features.sizes(), (std::vector<std::int64_t>{2, 16}));
    EXPECT_EQ(out.logits.sizes(), (std::vector<std::int64_t>{2, 10}));
    EXPECT_FALSE(out.aux_logits.defined());
    auto loss = torch::nn::functional::cross_entropy(out.logits, y);
    ASSERT_TRUE(std::isfinite(loss.item<double>()));
    const auto stem_before = net.parameters().front().clone();
    opt.zero_grad();
    loss.backward();
    opt.step();
    EXPECT_FALSE(torch::equal(stem_before, net.parameters().front()));  // gradient reached the stem
    EXPECT_TRUE(std::isfinite(torch::nn::functional::cross_entropy(net.forward(x).logits, y).item<double>()));
  }
  // The datasets' native sizes: Fashion-MNIST 28x28x1 (28 -> 14 -> 7) and CIFAR 32x32x3.
  torch::NoGradGuard no_grad;
  EXPECT_EQ(TinyNetwork(4, 1, parse_nb201_arch(kBest), 10, 1).forward(torch::randn({2, 1, 28, 28})).logits.sizes(),
            (std::vector<std::int64_t>{2, 10}));
  EXPECT_EQ(TinyNetwork(4, 1, parse_nb201_arch(kBest), 100, 3).forward(torch::randn({2, 3, 32, 32})).logits.sizes(),
            (std::vector<std::int64_t>{2, 100}));
}

TEST(Nb201Network, AllNoneCellsGiveZeroFeatures) {
  // Every cell outputs 0 (x * 0). A reduction block maps 0 to 0: the convs have no bias and BN of an all-zero map
  // is its beta, initialised to 0; the shortcut pool + 1x1 conv give 0. The head BN -> ReLU likewise gives 0. So
  // the features are exactly 0 and the logits are the head's bias, whatever the input, in train and eval mode.
  torch::manual_seed(2);
  TinyNetwork net(4, 2, parse_nb201_arch(kAllNone), 10, 3);
  for (bool train : {true, false}) {
    net.train(train);
    const auto out = net.forward(torch::randn({3, 3, 16, 16}));
    EXPECT_EQ(out.features.abs().sum().item<float>(), 0.0f);
    EXPECT_TRUE(torch::allclose(out.logits, net.head()->bias.detach().expand({3, 10})));
  }
}

TEST(Nb201Network, RejectsBadSizes) {
  EXPECT_THROW(TinyNetwork(0, 5, parse_nb201_arch(kBest), 10), InputError);
  EXPECT_THROW(TinyNetwork(16, 5, parse_nb201_arch(kBest), 0), InputError);
  Nb201Arch unknown = parse_nb201_arch(kBest);
  unknown.ops[4] = "sep_conv_3x3";
  EXPECT_THROW(TinyNetwork(4, 1, unknown, 10), InputError);
  TinyNetwork net(2, 1, parse_nb201_arch(kBest), 10);
  const auto msg = input_error_message([&] { net.forward(torch::randn({1, 3, 30, 30})); });
  EXPECT_NE(msg.find("[1, 3, 30, 30]"), std::string::npos) << msg;
}

}  // namespace
}  // namespace fhist::nas
