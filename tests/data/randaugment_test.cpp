#include "data/randaugment.hpp"

#include <gtest/gtest.h>

#include "core/errors.hpp"

namespace fhist::data {
namespace {

using Op = RandAugmentOp;

std::vector<Op> all_ops() {
  std::vector<Op> ops;
  for (int i = 0; i < kNumRandAugmentOps; ++i) ops.push_back(static_cast<Op>(i));
  return ops;
}

torch::Tensor random_image(std::int64_t c, std::int64_t h, std::int64_t w, std::uint64_t seed, int lo = 0,
                           int hi = 256) {
  torch::manual_seed(seed);
  return torch::randint(lo, hi, {c, h, w}, torch::kInt64).to(torch::kUInt8);
}

// A single pixel of value 200 at (y, x) on black.
torch::Tensor dot(std::int64_t h, std::int64_t w, std::int64_t y, std::int64_t x) {
  auto img = torch::zeros({1, h, w}, torch::kUInt8);
  img[0][y][x] = 200;
  return img;
}

int at(const torch::Tensor& img, std::int64_t y, std::int64_t x) { return img[0][y][x].item<int>(); }
double mean_of(const torch::Tensor& img) { return img.to(torch::kFloat64).mean().item<double>(); }
double stdev_of(const torch::Tensor& img) { return img.to(torch::kFloat64).std().item<double>(); }

TEST(RandAugmentOps, NamesFollowTheEnum) {
  const auto names = randaugment_op_names();
  ASSERT_EQ(names.size(), static_cast<std::size_t>(kNumRandAugmentOps));
  EXPECT_EQ(names[static_cast<int>(Op::kIdentity)], "Identity");
  EXPECT_EQ(names[static_cast<int>(Op::kRotate)], "Rotate");
  EXPECT_EQ(names[static_cast<int>(Op::kEqualize)], "Equalize");
}

TEST(RandAugmentOps, MagnitudeBinsAreTorchvisions) {
  EXPECT_NEAR(randaugment_magnitude(Op::kShearX, 30, 31, 32, 32), 0.3, 1e-6);
  EXPECT_NEAR(randaugment_magnitude(Op::kTranslateX, 30, 31, 10, 331), 150.0, 1e-4);
  EXPECT_NEAR(randaugment_magnitude(Op::kTranslateY, 15, 31, 331, 10), 75.0, 1e-4);
  EXPECT_NEAR(randaugment_magnitude(Op::kRotate, 30, 31, 32, 32), 30.0, 1e-5);
  EXPECT_NEAR(randaugment_magnitude(Op::kBrightness, 10, 31, 32, 32), 0.3, 1e-6);
  EXPECT_EQ(randaugment_magnitude(Op::kPosterize, 0, 31, 32, 32), 8.0);
  EXPECT_EQ(randaugment_magnitude(Op::kPosterize, 9, 31, 32, 32), 7.0);  // 9 / 7.5 rounds to 1
  EXPECT_EQ(randaugment_magnitude(Op::kPosterize, 30, 31, 32, 32), 4.0);
  EXPECT_EQ(randaugment_magnitude(Op::kSolarize, 0, 31, 32, 32), 255.0);
  EXPECT_EQ(randaugment_magnitude(Op::kSolarize, 30, 31, 32, 32), 0.0);
  EXPECT_TRUE(randaugment_op_signed(Op::kRotate));
  EXPECT_FALSE(randaugment_op_signed(Op::kSolarize));
}

TEST(RandAugmentOps, EveryOpKeepsShapeAndDtype) {
  for (std::int64_t c : {1, 3}) {
    const auto img = random_image(c, 9, 11, 1);
    for (Op op : all_ops()) {
      for (int m : {0, 9, 30}) {
        for (bool neg : {false, true}) {
          const auto out = apply_op(img, op, m, neg);
          EXPECT_EQ(out.sizes(), img.sizes()) << randaugment_op_names()[static_cast<int>(op)];
          EXPECT_EQ(out.scalar_type(), torch::kUInt8);
        }
      }
    }
  }
}

TEST(RandAugmentOps, MagnitudeZeroIsTheIdentity) {
  for (std::int64_t c : {1, 3}) {
    // Solarize's threshold 255 still inverts 255 itself (torchvision inverts pixels >= threshold): no 255 here.
    const auto img = random_image(c, 12, 10, 2, 0, 255);
    for (Op op : {Op::kIdentity, Op::kShearX, Op::kShearY, Op::kTranslateX, Op::kTranslateY, Op::kRotate,
                  Op::kBrightness, Op::kColor, Op::kContrast, Op::kSharpness, Op::kPosterize, Op::kSolarize}) {
      for (bool neg : {false, true}) {
        EXPECT_TRUE(torch::equal(apply_op(img, op, 0, neg), img)) << randaugment_op_names()[static_cast<int>(op)];
      }
    }
  }
}

TEST(RandAugmentOps, PosterizeLastBinKeepsTopFourBits) {
  const auto img = random_image(3, 8, 8, 3);
  EXPECT_TRUE(torch::equal(apply_op(img, Op::kPosterize, 30, false), img.bitwise_and(0xF0)));
}

TEST(RandAugmentOps, SolarizeInvertsPixelsAtOrAboveThreshold) {
  const auto img = random_image(3, 8, 8, 4);
  EXPECT_TRUE(torch::equal(apply_op(img, Op::kSolarize, 30, false), 255 - img));  // threshold 0: everything
  EXPECT_EQ(apply_op(torch::full({1, 2, 2}, 255, torch::kUInt8), Op::kSolarize, 0, false).max().item<int>(), 0);
  // Bin 15: threshold 127.5, so 127 stays and 128 becomes 127.
  auto ramp = torch::arange(256, torch::kInt64).to(torch::kUInt8).view({1, 16, 16});
  const auto out = apply_op(ramp, Op::kSolarize, 15, false);
  EXPECT_EQ(out[0][7][15].item<int>(), 127);
  EXPECT_EQ(out[0][8][0].item<int>(), 127);
  EXPECT_EQ(out[0][15][15].item<int>(), 0);
}

TEST(RandAugmentOps, AutoContrastStretchesEachChannel) {
  auto img = torch::empty({3, 6, 6}, torch::kUInt8);
  torch::manual_seed(5);
  img[0] = torch::randint(50, 101, {6, 6}, torch::kInt64).to(torch::kUInt8);
  img[1] = torch::randint(0, 11, {6, 6}, torch::kInt64).to(torch::kUInt8);
  img[2].fill_(7);  // constant channel: nothing to stretch, left as is
  img[0][0][0] = 50;
  img[0][0][1] = 100;
  img[1][0][0] = 0;
  img[1][0][1] = 10;
  const auto out = apply_op(img, Op::kAutoContrast, 9, false);
  for (int c = 0; c < 2; ++c) {
    EXPECT_EQ(out[c].min().item<int>(), 0);
    EXPECT_EQ(out[c].max().item<int>(), 255);
  }
  EXPECT_TRUE(torch::equal(out[2], img[2]));
  EXPECT_EQ(out[1][0][0].item<int>(), 0);
  EXPECT_EQ(out[1][0][1].item<int>(), 255);
}

// Largest gap between the image's cumulative histogram and a uniform one (a Kolmogorov-Smirnov distance).
double ks_to_uniform(const torch::Tensor& ch) {
  const auto cdf = torch::bincount(ch.reshape({-1}).to(torch::kInt64), {}, 256).cumsum(0).to(torch::kFloat64) /
                   static_cast<double>(ch.numel());
  const auto uniform = torch::arange(1, 257, torch::kFloat64) / 256.0;
  return (cdf - uniform).abs().max().item<double>();
}

TEST(RandAugmentOps, EqualizeFlattensTheHistogram) {
  // Bell-shaped around 128 with a spread of 15 levels: most levels unused. Large enough that PIL's integer step
  // (pixels / 255, floored) is exact to a few percent, else a second pass stretches again by up to step / (step - 1).
  torch::manual_seed(6);
  const auto img = (torch::randn({3, 128, 128}) * 15 + 128).clamp(0, 255).to(torch::kUInt8);
  const auto once = apply_op(img, Op::kEqualize, 0, false);
  for (int c = 0; c < 3; ++c) {
    EXPECT_LT(ks_to_uniform(once[c]), 0.08);
    EXPECT_GT(ks_to_uniform(img[c]), 0.3);
  }
  EXPECT_GT(once.max().item<int>(), 240);
  // Equalizing an equalized image changes it little.
  const auto twice = apply_op(once, Op::kEqualize, 0, false);
  EXPECT_LT((twice.to(torch::kFloat32) - once.to(torch::kFloat32)).abs().mean().item<float>(), 2.0f);
  // A constant image has nothing to equalize.
  const auto flat = torch::full({1, 4, 4}, 90, torch::kUInt8);
  EXPECT_TRUE(torch::equal(apply_op(flat, Op::kEqualize, 0, false), flat));
}

TEST(RandAugmentOps, TranslateMovesAPixelByWholePixels) {
  // 32 wide: bin 6 is 150/331 * 32 * 6/30 = 2.9, truncated to 2.
  const int k = static_cast<int>(randaugment_magnitude(Op::kTranslateX, 6, 31, 32, 32));
  ASSERT_EQ(k, 2);
  const auto img = dot(32, 32, 10, 12);
  auto out = apply_op(img, Op::kTranslateX, 6, false);
  EXPECT_EQ(at(out, 10, 12 + k), 200);
  EXPECT_EQ(out.sum().item<int>(), 200);
  out = apply_op(img, Op::kTranslateX, 6, true);
  EXPECT_EQ(at(out, 10, 12 - k), 200);
  out = apply_op(img, Op::kTranslateY, 30, false);  // 14.5 -> 14 rows down
  EXPECT_EQ(at(out, 24, 12), 200);
  EXPECT_EQ(out.sum().item<int>(), 200);
  out = apply_op(img, Op::kTranslateY, 30, true);  // off the top: only fill is left
  EXPECT_EQ(out.sum().item<int>(), 0);
}

TEST(RandAugmentOps, RotateTurnsCounterClockwiseAboutTheCentre) {
  for (std::int64_t n : {5, 6}) {
    EXPECT_EQ(at(rotate_nearest(dot(n, n, 0, 0), 90.0), n - 1, 0), 200);      // top-left -> bottom-left
    EXPECT_EQ(at(rotate_nearest(dot(n, n, 0, n - 1), 90.0), 0, 0), 200);      // top-right -> top-left
    EXPECT_EQ(at(rotate_nearest(dot(n, n, 0, 0), -90.0), 0, n - 1), 200);     // top-left -> top-right
    EXPECT_EQ(at(rotate_nearest(dot(n, n, 1, 2), 180.0), n - 2, n - 3), 200);
  }
  const auto img = random_image(3, 9, 9, 7);
  EXPECT_TRUE(torch::equal(apply_op(img, Op::kRotate, 30, false), rotate_nearest(img, 30.0)));
  EXPECT_TRUE(torch::equal(apply_op(img, Op::kRotate, 30, true), rotate_nearest(img, -30.0)));
  EXPECT_TRUE(torch::equal(apply_op(img, Op::kRotate, 30, true)[1][4][4], img[1][4][4]));  // centre stays
  // 30 degrees counter-clockwise: a pixel right of centre moves up.
  EXPECT_EQ(at(apply_op(dot(9, 9, 4, 8), Op::kRotate, 30, false), 2, 7), 200);
}

TEST(RandAugmentOps, ShearIsAboutTheTopLeftCorner) {
  // torchvision shears with center=[0, 0]: the top row (ShearX) / left column (ShearY) stays, the far side moves.
  const auto img = random_image(3, 32, 32, 8, 1, 256);  // no zeros, so the fill shows
  for (bool neg : {false, true}) {
    const auto sx = apply_op(img, Op::kShearX, 30, neg);
    EXPECT_TRUE(torch::equal(sx.select(1, 0), img.select(1, 0)));
    const auto sy = apply_op(img, Op::kShearY, 30, neg);
    EXPECT_TRUE(torch::equal(sy.select(2, 0), img.select(2, 0)));
  }
  // Bottom row of ShearX at +0.3: source x = x + 0.3 * 31.5 = x + 9.45 -> 9 columns left, zeros on the right.
  const auto sx = apply_op(img, Op::kShearX, 30, false);
  EXPECT_TRUE(torch::equal(sx.select(1, 31).slice(1, 0, 23), img.select(1, 31).slice(1, 9, 32)));
  EXPECT_EQ(sx.select(1, 31).slice(1, 23, 32).sum().item<int>(), 0);
  // ShearY at -0.3: right column comes from 9 rows higher, zeros on top.
  const auto sy = apply_op(img, Op::kShearY, 30, true);
  EXPECT_TRUE(torch::equal(sy.select(2, 31).slice(1, 9, 32), img.select(2, 31).slice(1, 0, 23)));
  EXPECT_EQ(sy.select(2, 31).slice(1, 0, 9).sum().item<int>(), 0);
}

TEST(RandAugmentOps, BrightnessScalesPixels) {
  const auto img = random_image(3, 16, 16, 9, 0, 200);
  EXPECT_GT(mean_of(apply_op(img, Op::kBrightness, 9, false)), mean_of(img) + 10);
  EXPECT_LT(mean_of(apply_op(img, Op::kBrightness, 9, true)), mean_of(img) - 10);
  // Factor 1 - 0.9 = 0.1, truncated.
  const auto dark = apply_op(img, Op::kBrightness, 30, true);
  EXPECT_TRUE(torch::equal(dark, (img.to(torch::kFloat32) * 0.1).to(torch::kUInt8)));
}

TEST(RandAugmentOps, ColorMovesChannelsTowardsGreyAndLeavesGreyImages) {
  const auto grey = random_image(1, 10, 10, 10);
  for (int m : {9, 30}) {
    for (bool neg : {false, true}) EXPECT_TRUE(torch::equal(apply_op(grey, Op::kColor, m, neg), grey));
  }
  const auto rgb = random_image(3, 16, 16, 11, 60, 200);  // no clipping at factor 1.27
  const auto spread = [](const torch::Tensor& t) {
    return t.to(torch::kFloat32).std(0).mean().item<float>();  // per-pixel spread across channels
  };
  EXPECT_LT(spread(apply_op(rgb, Op::kColor, 30, true)), 0.2f * spread(rgb));
  EXPECT_GT(spread(apply_op(rgb, Op::kColor, 9, false)), spread(rgb));
}

TEST(RandAugmentOps, ContrastKeepsTheMeanGrey) {
  for (std::int64_t c : {1, 3}) {
    const auto img = random_image(c, 16, 16, 12, 60, 200);
    const auto low = apply_op(img, Op::kContrast, 30, true);
    const auto high = apply_op(img, Op::kContrast, 9, false);
    EXPECT_NEAR(mean_of(low), mean_of(img), 3.0);
    EXPECT_NEAR(mean_of(high), mean_of(img), 3.0);
    EXPECT_LT(stdev_of(low), 0.2 * stdev_of(img));
    EXPECT_GT(stdev_of(high), 1.2 * stdev_of(img));
  }
}

TEST(RandAugmentOps, SharpnessSharpensOrBlursAPeak) {
  auto img = torch::full({1, 7, 7}, 100, torch::kUInt8);
  img[0][3][3] = 200;
  EXPECT_EQ(at(apply_op(img, Op::kSharpness, 30, false), 3, 3), 255);  // 1.9 * 200 - 0.9 * 138, clamped
  EXPECT_EQ(at(apply_op(img, Op::kSharpness, 30, true), 3, 3), 144);   // 0.1 * 200 + 0.9 * 138
  const auto tiny = random_image(3, 2, 5, 13);                          // no interior: unchanged
  EXPECT_TRUE(torch::equal(apply_op(tiny, Op::kSharpness, 30, false), tiny));
}

TEST(RandAugmentOps, BadInputIsRejected) {
  const auto img = random_image(3, 4, 4, 14);
  EXPECT_THROW(apply_op(img, Op::kRotate, 31, false), InputError);
  EXPECT_THROW(apply_op(img, Op::kRotate, -1, false), InputError);
  EXPECT_THROW(apply_op(img.to(torch::kFloat32), Op::kRotate, 1, false), InputError);
  EXPECT_THROW(apply_op(img.unsqueeze(0), Op::kRotate, 1, false), InputError);
  EXPECT_THROW(apply_op(random_image(2, 4, 4, 15), Op::kRotate, 1, false), InputError);
}

TEST(RandAugment, ZeroOpsIsTheIdentity) {
  const auto img = random_image(3, 8, 8, 16);
  std::mt19937_64 rng(1);
  EXPECT_TRUE(torch::equal(rand_augment(img, {0, 30, 31}, rng), img));
}

TEST(RandAugment, FixedSeedIsDeterministic) {
  const auto img = random_image(3, 16, 16, 17);
  const RandAugmentOptions o{3, 15, 31};
  std::mt19937_64 a(42), b(42), c(43);
  bool any_changed = false, any_differs = false;
  for (int i = 0; i < 8; ++i) {
    const auto x = rand_augment(img, o, a);
    EXPECT_TRUE(torch::equal(x, rand_augment(img, o, b)));
    any_changed = any_changed || !torch::equal(x, img);
    any_differs = any_differs || !torch::equal(x, rand_augment(img, o, c));
  }
  EXPECT_TRUE(any_changed);
  EXPECT_TRUE(any_differs);
}

TEST(RandAugment, BadOptionsAreRejected) {
  const auto img = random_image(1, 8, 8, 18);
  std::mt19937_64 rng(1);
  const auto message = [&](const RandAugmentOptions& o) {
    try {
      rand_augment(img, o, rng);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({-1, 9, 31}).find("N "), std::string::npos);
  EXPECT_NE(message({2, 31, 31}).find("M "), std::string::npos);
  EXPECT_NE(message({2, -1, 31}).find("M "), std::string::npos);
  EXPECT_NE(message({2, 0, 1}).find("bins"), std::string::npos);
  EXPECT_NO_THROW(RandAugmentOptions{}.validate());
}

}  // namespace
}  // namespace fhist::data
