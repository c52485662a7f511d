#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/errors.hpp"
#include "core/npy.hpp"
#include "estimate/estimator.hpp"
#include "test_util.hpp"

namespace fhist {
namespace {

EpochFeatures epoch(std::int64_t ep, torch::Dtype dt) {
  torch::manual_seed(static_cast<std::uint64_t>(ep));
  EpochFeatures e;
  e.epoch = ep;
  e.train_features = torch::randn({20, 6}).to(dt);
  e.train_labels = torch::randint(0, 3, {20}, torch::kInt64);
  e.val_features = torch::randn({9, 6}).to(dt);
  e.val_labels = torch::arange(9, torch::kInt64) % 3;  // one validation set for every epoch
  e.head_weight = torch::randn({3, 6});
  e.head_bias = torch::randn({3});
  return e;
}

template <class F>
std::string data_error(F&& f) {
  try {
    f();
  } catch (const DataError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(NpyHistory, RoundTripKeepsTheLastWindowAndExactValues) {
  for (auto dt : {torch::kFloat16, torch::kFloat32}) {
    testing::TempDir dir;
    for (int ep = 1; ep <= 4; ++ep) save_epoch_npy(dir.str(), epoch(ep, dt));
    EXPECT_TRUE(std::filesystem::exists(dir.path() / "epoch_0004" / "head_bias.npy"));
    auto h = load_history_npy(dir.str(), 3, torch::kFloat32);
    ASSERT_EQ(h.size(), 3u);
    EXPECT_EQ(h.epochs().front().epoch, 2);
    const auto want = epoch(4, dt);
    const auto& got = h.latest();
    EXPECT_TRUE(torch::equal(got.train_features, want.train_features.to(torch::kFloat32)));
    EXPECT_TRUE(torch::equal(got.val_labels, want.val_labels));
    EXPECT_TRUE(torch::equal(got.head_weight, want.head_weight));
    // Same estimate from the files as from memory.
    FeatureHistory mem(3, torch::kFloat32);
    for (int ep = 2; ep <= 4; ++ep) mem.add(epoch(ep, dt));
    EXPECT_DOUBLE_EQ(make_feature_estimator("fh")->estimate(h).accuracy,
                     make_feature_estimator("fh")->estimate(mem).accuracy);
  }
}

TEST(NpyHistory, ErrorsNameTheFile) {
  testing::TempDir dir;
  save_epoch_npy(dir.str(), epoch(1, torch::kFloat32));
  const auto ep = dir.path() / "epoch_0001";
  // Truncated array.
  std::filesystem::resize_file(ep / "val_features.npy", 150);
  auto msg = data_error([&] { load_history_npy(dir.str(), 10); });
  EXPECT_NE(msg.find("val_features.npy"), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
  save_epoch_npy(dir.str(), epoch(1, torch::kFloat32));
  // Missing array.
  std::filesystem::remove(ep / "head_bias.npy");
  msg = data_error([&] { load_history_npy(dir.str(), 10); });
  EXPECT_NE(msg.find("head_bias.npy"), std::string::npos) << msg;
  save_epoch_npy(dir.str(), epoch(1, torch::kFloat32));
  // Labels out of range for the head.
  NpyArray labels;
  labels.dtype = NpyDType::kInt64;
  labels.shape = {9};
  labels.data.assign(9 * 8, 0);
  labels.data[0] = 7;
  write_npy((ep / "val_labels.npy").string(), labels);
  msg = data_error([&] { load_history_npy(dir.str(), 10); });
  EXPECT_NE(msg.find("val_labels.npy"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[0, 3)"), std::string::npos) << msg;
  // Inconsistent shapes between arrays of one epoch.
  save_epoch_npy(dir.str(), epoch(1, torch::kFloat32));
  labels.shape = {8};
  labels.data.assign(8 * 8, 0);
  write_npy((ep / "val_labels.npy").string(), labels);
  msg = data_error([&] { load_history_npy(dir.str(), 10); });
  EXPECT_NE(msg.find("val_labels"), std::string::npos) << msg;
  // Nothing there at all.
  testing::TempDir empty;
  EXPECT_NE(data_error([&] { load_history_npy(empty.str(), 10); }).find("no epoch_NNNN"), std::string::npos);
  EXPECT_NE(data_error([&] { load_history_npy(empty.str("nope"), 10); }).find("does not exist"), std::string::npos);
}

}  // namespace
}  // namespace fhist
