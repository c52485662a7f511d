// A user's data as tensors: the splits a run uses, their normalisation, tables as [N, F, 1, 1], float arrays in
// batches, and the augmentation a kind of data cannot take.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "core/npy.hpp"
#include "data/augment.hpp"
#include "data/dataset.hpp"
#include "test_util.hpp"

namespace fhist::data {
namespace {

template <class T>
void put(const std::string& path, NpyDType dtype, std::vector<std::int64_t> shape, const std::vector<T>& values) {
  NpyArray a;
  a.dtype = dtype;
  a.shape = std::move(shape);
  a.data.resize(values.size() * sizeof(T));
  std::memcpy(a.data.data(), values.data(), a.data.size());
  write_npy(path, a);
}

// Grey 2x2 images whose pixels all equal `value(i)`, labels i % 2.
void images(const std::string& dir, const std::string& split, int n, int offset) {
  std::vector<std::uint8_t> x;
  std::vector<std::int64_t> y;
  for (int i = 0; i < n; ++i) {
    for (int k = 0; k < 4; ++k) x.push_back(static_cast<std::uint8_t>(offset + i));
    y.push_back(i % 2);
  }
  put(dir + "/x_" + split + ".npy", NpyDType::kUInt8, {n, 2, 2}, x);
  put(dir + "/y_" + split + ".npy", NpyDType::kInt64, {n}, y);
}

TEST(UserData, OwnSplitsAreUsedAndNormalisedByTheTrainingSet) {
  fhist::testing::TempDir tmp;
  images(tmp.str(), "train", 10, 0);
  images(tmp.str(), "val", 4, 100);
  images(tmp.str(), "test", 6, 200);
  const auto tt = load_dataset("npy:" + tmp.str());
  EXPECT_EQ(tt.train.classes, (std::vector<std::string>{"0", "1"}));
  const auto s = make_splits(tt, 0, 0, 1);
  EXPECT_EQ(s.train.size(), 10);
  EXPECT_EQ(s.val.size(), 4);
  EXPECT_EQ(s.test.size(), 6);
  EXPECT_EQ(s.val.images[0][0][0][0].item<int>(), 100);  // the given val split, not a draw from train
  // Pixels 0..9 of 255: mean 4.5 / 255, population std sqrt(8.25) / 255; the same for every split.
  for (const auto* ds : {&s.train, &s.val, &s.test}) {
    ASSERT_EQ(ds->mean.size(), 1u);
    EXPECT_NEAR(ds->mean[0], 4.5 / 255.0, 1e-6);
    EXPECT_NEAR(ds->std[0], std::sqrt(8.25) / 255.0, 1e-6);
  }
  // Sizes below a split's take a seeded subset (the same one for the same seed); above are refused.
  const auto sub = make_splits(tt, 6, 3, 1), again = make_splits(tt, 6, 3, 1);
  EXPECT_EQ(sub.train.size(), 6);
  EXPECT_EQ(sub.val.size(), 3);
  EXPECT_TRUE(torch::equal(sub.train.images, again.train.images));
  FHIST_EXPECT_INPUT_ERROR(make_splits(tt, 11, 0, 1), "--train-size 11 exceeds the 10 examples");
  FHIST_EXPECT_INPUT_ERROR(make_splits(tt, -1, 0, 1), "--train-size must be >= 0");
}

TEST(UserData, ValidationIsCarvedFromTrainWhenTheDataHasNone) {
  fhist::testing::TempDir tmp;
  images(tmp.str(), "train", 20, 0);
  const auto tt = load_dataset("npy:" + tmp.str());
  const auto s = make_splits(tt, 0, 0, 3);
  EXPECT_EQ(s.train.size(), 16);
  EXPECT_EQ(s.val.size(), 4);
  EXPECT_EQ(s.test.size(), 0);
  const auto t = make_splits(tt, 10, 5, 3);
  EXPECT_EQ(t.train.size() + t.val.size(), 15);
  // Disjoint: every image value appears once across train and val.
  auto values = torch::cat({s.train.images.flatten(1).select(1, 0), s.val.images.flatten(1).select(1, 0)});
  EXPECT_EQ(std::get<0>(at::_unique(values)).numel(), 20);
}

TEST(UserData, TablesAreFeatureColumnsStandardisedPerFeature) {
  fhist::testing::TempDir tmp;
  {
    std::ofstream f(tmp.str("t.csv"));
    f << "a,const,y\n";
    for (int i = 0; i < 10; ++i) f << i << ",7," << (i % 2) << "\n";
  }
  input::DataOptions o;
  o.target = "y";
  const auto tt = load_dataset("csv:" + tmp.str("t.csv"), o);
  EXPECT_TRUE(tt.train.tabular);
  EXPECT_EQ(tt.train.images.sizes(), (std::vector<std::int64_t>{10, 2, 1, 1}));
  EXPECT_EQ(tt.train.images.dtype(), torch::kFloat32);
  const auto s = make_splits(tt, 0, 2, 0);
  ASSERT_EQ(s.train.mean.size(), 2u);
  EXPECT_FLOAT_EQ(s.train.std[1], 1.0f);  // a constant feature is not divided by zero
  EXPECT_FLOAT_EQ(s.train.mean[1], 7.0f);
  // Batches of float data are not divided by 255: standardised training features have mean 0.
  const auto idx = torch::arange(s.train.size(), torch::kInt64);
  const auto x = make_batch(s.train, idx, nullptr, nullptr, torch::kCPU);
  EXPECT_NEAR(x.select(1, 0).mean().item<double>(), 0.0, 1e-5);
  EXPECT_NEAR(x.select(1, 1).abs().max().item<double>(), 0.0, 1e-6);

  FHIST_EXPECT_INPUT_ERROR(check_augment(s.train, AugmentOptions::parse("flip")), "image augmentation");
  check_augment(s.train, AugmentOptions::parse("none"));
  Dataset floats = s.train;
  floats.tabular = false;
  auto ra = AugmentOptions::parse("none");
  ra.randaugment_n = 2;
  FHIST_EXPECT_INPUT_ERROR(check_augment(floats, ra), "RandAugment works on 8-bit images");
}

}  // namespace
}  // namespace fhist::data
