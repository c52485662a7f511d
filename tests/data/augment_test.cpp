#include <gtest/gtest.h>

#include "core/errors.hpp"
#include "data/augment.hpp"

namespace fhist::data {
namespace {

Dataset images(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w) {
  Dataset ds;
  ds.images = (torch::arange(n * c * h * w, torch::kInt64) % 200 + 20).to(torch::kUInt8).view({n, c, h, w});
  ds.labels = torch::zeros({n}, torch::kInt64);
  ds.num_classes = 2;
  ds.mean.assign(static_cast<std::size_t>(c), 0.0f);
  ds.std.assign(static_cast<std::size_t>(c), 1.0f);
  return ds;
}

TEST(Augment, PlainBatchIsNormalizedImage) {
  auto ds = images(4, 3, 5, 6);
  ds.mean = {0.1f, 0.2f, 0.3f};
  ds.std = {0.5f, 0.5f, 0.25f};
  auto idx = torch::tensor({2, 0}, torch::kInt64);
  auto x = make_batch(ds, idx, nullptr, nullptr, torch::kCPU);
  auto expect = (ds.images[2][1].to(torch::kFloat32) / 255.0 - 0.2) / 0.5;
  EXPECT_TRUE(torch::allclose(x[0][1], expect));
}

TEST(Augment, FlipOnlyMirrorsOrKeepsEachImage) {
  auto ds = images(64, 1, 4, 5);
  AugmentOptions o = AugmentOptions::parse("flip");
  std::mt19937_64 rng(1);
  auto idx = torch::arange(64, torch::kInt64);
  auto plain = make_batch(ds, idx, nullptr, nullptr, torch::kCPU);
  auto x = make_batch(ds, idx, &o, &rng, torch::kCPU);
  int flipped = 0;
  for (int i = 0; i < 64; ++i) {
    const bool same = torch::equal(x[i], plain[i]);
    const bool mirrored = torch::equal(x[i], plain[i].flip({2}));
    EXPECT_TRUE(same || mirrored);
    flipped += mirrored ? 1 : 0;
  }
  EXPECT_GT(flipped, 15);
  EXPECT_LT(flipped, 49);
}

TEST(Augment, CropIsAShiftedWindowOfThePaddedImage) {
  auto ds = images(16, 2, 8, 8);
  AugmentOptions o = AugmentOptions::parse("crop2");
  EXPECT_EQ(o.crop_padding, 2);
  std::mt19937_64 rng(3);
  auto idx = torch::arange(16, torch::kInt64);
  auto plain = make_batch(ds, idx, nullptr, nullptr, torch::kCPU);
  auto x = make_batch(ds, idx, &o, &rng, torch::kCPU);
  for (int i = 0; i < 16; ++i) {
    auto padded = torch::constant_pad_nd(plain[i], {2, 2, 2, 2}, 0.0);
    bool found = false;
    for (int dy = 0; dy <= 4 && !found; ++dy)
      for (int dx = 0; dx <= 4 && !found; ++dx) found = torch::equal(x[i], padded.narrow(1, dy, 8).narrow(2, dx, 8));
    EXPECT_TRUE(found) << "image " << i;
  }
}

TEST(Augment, CutoutZeroesASquareAtMost) {
  auto ds = images(32, 1, 12, 12);
  AugmentOptions o = AugmentOptions::parse("cutout4");
  std::mt19937_64 rng(5);
  auto x = make_batch(ds, torch::arange(32, torch::kInt64), &o, &rng, torch::kCPU);
  std::int64_t total_zero = 0;
  for (int i = 0; i < 32; ++i) {
    const auto zeros = x[i].eq(0).sum().item<std::int64_t>();  // pixels are >= 20/255 > 0 before cutout
    EXPECT_LE(zeros, 16);
    total_zero += zeros;
  }
  EXPECT_GT(total_zero, 32 * 4);
}

TEST(Augment, ParseRejectsUnknownTokens) {
  EXPECT_THROW(AugmentOptions::parse("crop,rotate"), InputError);
  EXPECT_THROW(AugmentOptions::parse("cutoutX"), InputError);
  EXPECT_EQ(AugmentOptions::parse("crop,flip").to_string(), "crop4,flip");
  EXPECT_EQ(AugmentOptions::parse("none").to_string(), "none");
}

}  // namespace
}  // namespace fhist::data

namespace fhist::data {
namespace {

TEST(Augment, RandAugmentTokenAppliesOpsToUint8ImagesFirst) {
  auto o = AugmentOptions::parse("randaug2-9,crop,flip");
  EXPECT_EQ(o.randaugment_n, 2);
  EXPECT_EQ(o.randaugment_m, 9);
  EXPECT_EQ(o.to_string(), "randaug2-9,crop4,flip");
  EXPECT_THROW(AugmentOptions::parse("randaug2"), InputError);
  EXPECT_THROW(AugmentOptions::parse("randaug2-40"), InputError);  // M out of 0..30
  // With RandAugment only, a batch differs from the plain images and stays deterministic for a seed.
  Dataset ds;
  ds.images = (torch::arange(8 * 3 * 12 * 12, torch::kInt64) % 251).to(torch::kUInt8).view({8, 3, 12, 12});
  ds.labels = torch::zeros({8}, torch::kInt64);
  ds.num_classes = 2;
  ds.mean = {0, 0, 0};
  ds.std = {1, 1, 1};
  auto ra = AugmentOptions::parse("randaug3-20");
  auto idx = torch::arange(8, torch::kInt64);
  std::mt19937_64 r1(4), r2(4);
  auto a = make_batch(ds, idx, &ra, &r1, torch::kCPU);
  auto b = make_batch(ds, idx, &ra, &r2, torch::kCPU);
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a, make_batch(ds, idx, nullptr, nullptr, torch::kCPU)));
  EXPECT_TRUE(torch::equal(ds.images, (torch::arange(8 * 3 * 12 * 12, torch::kInt64) % 251).to(torch::kUInt8)
                                          .view({8, 3, 12, 12})));  // the dataset itself is untouched
}

}  // namespace
}  // namespace fhist::data
