// npy:DIR: a user's arrays as images or tables, their labels remapped, and every way they can be wrong.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "core/npy.hpp"
#include "input/input.hpp"
#include "test_util.hpp"

namespace fhist::input {
namespace {

template <class T>
NpyArray array(NpyDType dtype, std::vector<std::int64_t> shape, const std::vector<T>& values) {
  NpyArray a;
  a.dtype = dtype;
  a.shape = std::move(shape);
  a.data.resize(values.size() * sizeof(T));
  std::memcpy(a.data.data(), values.data(), a.data.size());
  return a;
}

class NpyDirTest : public ::testing::Test {
 protected:
  void put(const std::string& name, const NpyArray& a) { write_npy(tmp_.str(name), a); }
  Loaded load() { return load_npy_dir(tmp_.str(), {}); }
  fhist::testing::TempDir tmp_;
};

TEST_F(NpyDirTest, GreyImagesKeepUint8AndLabelsAreRemapped) {
  std::vector<std::uint8_t> x(3 * 2 * 2);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<std::uint8_t>(i);
  put("x_train.npy", array(NpyDType::kUInt8, {3, 2, 2}, x));
  put("y_train.npy", array<std::int64_t>(NpyDType::kInt64, {3}, {9, 3, 9}));
  const auto d = load();
  EXPECT_FALSE(d.tabular);
  EXPECT_EQ(d.train.shape, (std::vector<std::int64_t>{3, 1, 2, 2}));
  EXPECT_FALSE(d.train.float32);
  EXPECT_EQ(d.train.values.data[5], 5);
  EXPECT_EQ(d.classes, (std::vector<std::string>{"3", "9"}));
  EXPECT_EQ(d.train.labels, (std::vector<std::int64_t>{1, 0, 1}));
  EXPECT_FALSE(d.val.has_value());
}

TEST_F(NpyDirTest, LabelsOfEveryIntegerDtype) {
  put("x_train.npy", array<float>(NpyDType::kFloat32, {3, 1}, {1, 2, 3}));
  const auto check = [&](NpyDType dt, std::size_t size) {
    NpyArray y;
    y.dtype = dt;
    y.shape = {3};
    y.data.assign(3 * size, 0);
    y.data[size] = 1;  // labels 0, 1, 0 (the low byte, little-endian)
    put("y_train.npy", y);
    const auto d = load();
    EXPECT_EQ(d.train.labels, (std::vector<std::int64_t>{0, 1, 0})) << npy_descr(dt);
    EXPECT_EQ(d.classes, (std::vector<std::string>{"0", "1"})) << npy_descr(dt);
  };
  for (auto dt : {NpyDType::kInt8, NpyDType::kInt16, NpyDType::kInt32, NpyDType::kInt64, NpyDType::kUInt8,
                  NpyDType::kUInt16, NpyDType::kUInt32, NpyDType::kUInt64, NpyDType::kBool}) {
    check(dt, npy_itemsize(dt));
  }
}

TEST_F(NpyDirTest, ChannelsLastBecomesChannelsFirst) {
  // Two 2x2 RGB images, [N, H, W, C]: value = 100 * c + 10 * pixel + n.
  std::vector<float> x;
  for (int n = 0; n < 2; ++n)
    for (int p = 0; p < 4; ++p)
      for (int c = 0; c < 3; ++c) x.push_back(static_cast<float>(100 * c + 10 * p + n));
  put("x_train.npy", array(NpyDType::kFloat32, {2, 2, 2, 3}, x));
  put("y_train.npy", array<std::int32_t>(NpyDType::kInt32, {2}, {0, 1}));
  const auto d = load();
  ASSERT_EQ(d.train.shape, (std::vector<std::int64_t>{2, 3, 2, 2}));
  ASSERT_TRUE(d.train.float32);
  auto at = [&](int n, int c, int p) {
    float v;
    std::memcpy(&v, d.train.values.data + static_cast<std::size_t>(((n * 3 + c) * 4 + p) * 4), 4);
    return v;
  };
  EXPECT_EQ(at(0, 0, 0), 0.0f);
  EXPECT_EQ(at(1, 2, 3), 231.0f);
  EXPECT_EQ(at(0, 1, 2), 120.0f);
}

TEST_F(NpyDirTest, ChannelsFirstIsKept) {
  std::vector<std::uint8_t> x(2 * 3 * 4 * 4, 7);
  put("x_train.npy", array(NpyDType::kUInt8, {2, 3, 4, 4}, x));
  put("y_train.npy", array<std::uint8_t>(NpyDType::kUInt8, {2}, {1, 2}));
  EXPECT_EQ(load().train.shape, (std::vector<std::int64_t>{2, 3, 4, 4}));
}

TEST_F(NpyDirTest, TwoDimensionalArraysAreATableWithValAndTestSplits) {
  put("x_train.npy", array<double>(NpyDType::kFloat64, {3, 2}, {1, 2, 3, 4, 5, 6}));
  put("y_train.npy", array<std::int64_t>(NpyDType::kInt64, {3}, {0, 1, 0}));
  put("x_val.npy", array<double>(NpyDType::kFloat64, {1, 2}, {7, 8}));
  put("y_val.npy", array<std::int64_t>(NpyDType::kInt64, {1}, {1}));
  put("x_test.npy", array<std::uint8_t>(NpyDType::kUInt8, {2, 2}, {9, 10, 11, 12}));
  put("y_test.npy", array<double>(NpyDType::kFloat64, {2}, {0.0, 1.0}));
  const auto d = load();
  EXPECT_TRUE(d.tabular);
  EXPECT_TRUE(d.train.float32);
  ASSERT_TRUE(d.val && d.test);
  EXPECT_EQ(d.val->labels, (std::vector<std::int64_t>{1}));
  EXPECT_TRUE(d.test->float32);  // a table's uint8 columns are numbers, not pixels
  float v;
  std::memcpy(&v, d.test->values.data + 12, 4);
  EXPECT_EQ(v, 12.0f);
}

TEST_F(NpyDirTest, RefusesWhatAUserMustFix) {
  FHIST_EXPECT_INPUT_ERROR(load(), "x_train.npy is missing");
  put("x_train.npy", array<float>(NpyDType::kFloat32, {3, 2}, {1, 2, 3, 4, 5, 6}));
  FHIST_EXPECT_INPUT_ERROR(load(), "y_train.npy is missing");
  put("y_train.npy", array<std::int64_t>(NpyDType::kInt64, {2}, {0, 1}));
  FHIST_EXPECT_INPUT_ERROR(load(), "y_train.npy has 2 labels but");
  put("y_train.npy", array<std::int64_t>(NpyDType::kInt64, {3}, {0, 0, 0}));
  FHIST_EXPECT_INPUT_ERROR(load(), "holds 1 distinct label(s)");
  put("y_train.npy", array<float>(NpyDType::kFloat32, {3}, {0.0f, 1.5f, 0.0f}));
  FHIST_EXPECT_INPUT_ERROR(load(), "labels must be whole numbers");
  put("y_train.npy", array<std::int64_t>(NpyDType::kInt64, {3}, {0, 1, 0}));
  put("x_val.npy", array<float>(NpyDType::kFloat32, {1, 2}, {1, 2}));
  FHIST_EXPECT_INPUT_ERROR(load(), "y_val.npy is missing");
  put("y_val.npy", array<std::int64_t>(NpyDType::kInt64, {1}, {5}));
  FHIST_EXPECT_INPUT_ERROR(load(), "label 5 (example 0) never occurs in y_train.npy");
  put("x_val.npy", array<float>(NpyDType::kFloat32, {1, 3}, {1, 2, 3}));
  FHIST_EXPECT_INPUT_ERROR(load(), "every split needs the same");
  put("x_val.npy", array<float>(NpyDType::kFloat32, {1, 2}, {1, std::numeric_limits<float>::quiet_NaN()}));
  FHIST_EXPECT_INPUT_ERROR(load(), "non-finite value");
  put("x_train.npy", array<float>(NpyDType::kFloat32, {1, 1, 1, 1, 1}, {1}));
  FHIST_EXPECT_INPUT_ERROR(load(), "expected [N, F] (a table)");
  FHIST_EXPECT_INPUT_ERROR(load_npy_dir(tmp_.str("nope"), {}), "not a folder");
}

}  // namespace
}  // namespace fhist::input
