#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/errors.hpp"
#include "data/augment.hpp"
#include "data/randaugment.hpp"

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

TEST(Augment, CutoutFillsASquareWithTheMeanColour) {
  auto ds = images(32, 1, 12, 12);
  ds.mean = {0.5f};  // between the pixels' values (20..219 / 255), none of which equals it
  ds.std = {0.25f};
  AugmentOptions o = AugmentOptions::parse("cutout4");
  std::mt19937_64 rng(5);
  auto x = make_batch(ds, torch::arange(32, torch::kInt64), &o, &rng, torch::kCPU);
  std::int64_t total_zero = 0;
  for (int i = 0; i < 32; ++i) {
    // The mean colour normalizes to exactly 0; black would be -2 here.
    EXPECT_EQ(x[i].eq(-2.0f).sum().item<std::int64_t>(), 0) << "image " << i << " has black pixels";
    const auto zeros = x[i].eq(0).sum().item<std::int64_t>();
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

namespace fhist::data {
namespace {

// The straightforward per-image pad-and-crop / flip / Cutout that make_batch's whole-batch version replaced: same
// draws from `rng` in the same order (crop dy, dx per image; the flip coins; Cutout y, x per image), one small tensor
// op per image. make_batch must give exactly the same batch for the same seed.
torch::Tensor reference_batch(const Dataset& ds, const torch::Tensor& indices, const AugmentOptions& aug,
                              std::mt19937_64& rng) {
  auto raw = ds.images.index_select(0, indices);
  if (aug.randaugment_n > 0) {
    RandAugmentOptions ra;
    ra.num_ops = aug.randaugment_n;
    ra.magnitude = aug.randaugment_m;
    for (std::int64_t i = 0; i < raw.size(0); ++i) raw[i].copy_(rand_augment(raw[i], ra, rng));
  }
  auto x = raw.to(torch::kFloat32).div_(255.0);
  const auto b = x.size(0), h = x.size(2), w = x.size(3);
  if (aug.crop_padding > 0) {
    const int p = aug.crop_padding;
    auto padded = torch::constant_pad_nd(x, {p, p, p, p}, 0.0);
    auto out = torch::empty_like(x);
    std::uniform_int_distribution<int> off(0, 2 * p);
    for (std::int64_t i = 0; i < b; ++i) {
      const int dy = off(rng), dx = off(rng);
      out[i].copy_(padded[i].narrow(1, dy, h).narrow(2, dx, w));
    }
    x = out;
  }
  if (aug.flip) {
    std::bernoulli_distribution coin(0.5);
    for (std::int64_t i = 0; i < b; ++i) {
      if (coin(rng)) x[i].copy_(x[i].flip({2}));
    }
  }
  if (aug.cutout > 0) {
    std::uniform_int_distribution<std::int64_t> cy(0, h - 1), cx(0, w - 1);
    const std::int64_t half = aug.cutout / 2;
    for (std::int64_t i = 0; i < b; ++i) {
      const auto y = cy(rng), xc = cx(rng);
      const auto y0 = std::clamp<std::int64_t>(y - half, 0, h), y1 = std::clamp<std::int64_t>(y + half, 0, h);
      const auto x0 = std::clamp<std::int64_t>(xc - half, 0, w), x1 = std::clamp<std::int64_t>(xc + half, 0, w);
      if (y1 <= y0 || x1 <= x0) continue;
      for (std::int64_t ch = 0; ch < x.size(1); ++ch)
        x[i][ch].narrow(0, y0, y1 - y0).narrow(1, x0, x1 - x0).fill_(ds.mean[static_cast<std::size_t>(ch)]);
    }
  }
  auto mean = torch::tensor(ds.mean).view({1, -1, 1, 1});
  auto stdv = torch::tensor(ds.std).view({1, -1, 1, 1});
  return (x - mean) / stdv;
}

TEST(Augment, WholeBatchAugmentEqualsPerImageReference) {
  struct Case {
    std::int64_t n, c, h, w;
    std::string aug;
  };
  const std::vector<Case> cases = {
      {40, 1, 28, 28, "crop4,flip,cutout16"},  // Fashion-MNIST-like
      {40, 3, 32, 32, "crop2,flip,cutout8"},   // CIFAR-like
      {40, 3, 32, 32, "crop4,flip,cutout16"},
      {40, 1, 28, 20, "crop4,flip,cutout16"},  // non-square
      {40, 3, 20, 32, "crop2,flip,cutout8"},
      {40, 3, 9, 7, "crop3,flip,cutout7"},     // odd side: a 6x6 square, mostly clipped at the borders
      {40, 1, 6, 5, "crop2,cutout40"},         // square larger than the image: the whole image
      {40, 2, 12, 12, "crop5"},                // each op alone
      {40, 2, 12, 12, "flip"},
      {40, 2, 12, 12, "cutout4"},
      {40, 2, 12, 12, "none"},
      {16, 3, 12, 12, "randaug2-9,crop,flip,cutout6"},
      {1, 3, 32, 32, "crop4,flip,cutout16"},   // a batch of one
  };
  for (const auto& k : cases) {
    Dataset ds;
    ds.images = (torch::arange(k.n * k.c * k.h * k.w, torch::kInt64) * 7 % 236 + 20).to(torch::kUInt8)
                    .view({k.n, k.c, k.h, k.w});  // no pixel is black, as none was before Cutout
    ds.labels = torch::zeros({k.n}, torch::kInt64);
    ds.num_classes = 2;
    for (std::int64_t ch = 0; ch < k.c; ++ch) {
      ds.mean.push_back(0.1f + 0.2f * static_cast<float>(ch));
      ds.std.push_back(0.3f + 0.1f * static_cast<float>(ch));
    }
    const auto o = AugmentOptions::parse(k.aug);
    for (const std::uint64_t seed : {1u, 7u, 12345u}) {
      SCOPED_TRACE(testing::Message() << k.c << "x" << k.h << "x" << k.w << " " << k.aug << " seed " << seed);
      // A shuffled batch with a repeated image, smaller than the set.
      std::mt19937_64 pick(seed);
      std::vector<std::int64_t> idx_v;
      for (std::int64_t i = 0; i < std::max<std::int64_t>(1, k.n - 3); ++i) {
        idx_v.push_back(static_cast<std::int64_t>(pick() % static_cast<std::uint64_t>(k.n)));
      }
      if (idx_v.size() > 1) idx_v.back() = idx_v.front();
      const auto idx = torch::tensor(idx_v, torch::kInt64);
      std::mt19937_64 r_ref(seed), r_new(seed);
      const auto expect = reference_batch(ds, idx, o, r_ref);
      const auto got = make_batch(ds, idx, &o, &r_new, torch::kCPU);
      EXPECT_EQ(got.sizes(), expect.sizes());
      EXPECT_EQ(got.scalar_type(), torch::kFloat32);
      EXPECT_TRUE(torch::equal(got, expect)) << "max diff " << (got - expect).abs().max().item<float>();
      EXPECT_EQ(r_new(), r_ref()) << "make_batch drew a different number of values from the rng";
      if (o.cutout >= 2 * std::max(k.h, k.w)) {  // the clipped square covers everything: the mean, 0 throughout
        EXPECT_TRUE(torch::equal(got, torch::zeros_like(got)));
      }
    }
  }
}

}  // namespace
}  // namespace fhist::data

TEST(ResolveAugment, AutoPicksTheMeasuredDefaultPerDataset) {
  EXPECT_EQ(fhist::data::resolve_augment("auto", "fashion-mnist"), "none");
  EXPECT_EQ(fhist::data::resolve_augment("auto", "fashion-mnist:/data/fm"), "none");
  EXPECT_EQ(fhist::data::resolve_augment("auto", "mnist:/data/m"), "none");
  EXPECT_EQ(fhist::data::resolve_augment("auto", "cifar10:/data/c"), "crop,flip");
  EXPECT_EQ(fhist::data::resolve_augment("auto", "cifar100:/data/c"), "crop,flip");
  EXPECT_EQ(fhist::data::resolve_augment("crop,flip", "fashion-mnist"), "crop,flip");  // an explicit choice stays
  EXPECT_EQ(fhist::data::resolve_augment("none", "cifar10:/d"), "none");
}
