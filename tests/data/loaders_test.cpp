#include <gtest/gtest.h>
#include <zlib.h>

#include <fstream>

#include "core/errors.hpp"
#include "data/dataset.hpp"
#include "data/loaders.hpp"
#include "test_util.hpp"

namespace fhist::data {
namespace {

using Bytes = std::vector<unsigned char>;

void put_be32(Bytes& b, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<unsigned char>(v >> s));
}

// An IDX image file in the original format: magic 2051, count, rows, cols, then pixels (pixel = 10*i + j % 10).
Bytes idx_images(std::uint32_t n, std::uint32_t rows, std::uint32_t cols) {
  Bytes b;
  put_be32(b, 2051);
  put_be32(b, n);
  put_be32(b, rows);
  put_be32(b, cols);
  for (std::uint32_t i = 0; i < n; ++i)
    for (std::uint32_t j = 0; j < rows * cols; ++j) b.push_back(static_cast<unsigned char>(10 * i + j % 10));
  return b;
}
Bytes idx_labels(std::uint32_t n) {
  Bytes b;
  put_be32(b, 2049);
  put_be32(b, n);
  for (std::uint32_t i = 0; i < n; ++i) b.push_back(static_cast<unsigned char>((i * 3) % 10));
  return b;
}

void write(const std::string& path, const Bytes& b) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), static_cast<long>(b.size()));
}
void write_gz(const std::string& path, const Bytes& b) {
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, b.data(), static_cast<unsigned>(b.size()));
  gzclose(f);
}

template <class E = DataError, class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "(no error)";
}

void write_mnist_dir(const fhist::testing::TempDir& dir, bool gz) {
  auto w = gz ? write_gz : write;
  const std::string ext = gz ? ".gz" : "";
  w(dir.str("train-images-idx3-ubyte" + ext), idx_images(6, 4, 3));
  w(dir.str("train-labels-idx1-ubyte" + ext), idx_labels(6));
  w(dir.str("t10k-images-idx3-ubyte" + ext), idx_images(2, 4, 3));
  w(dir.str("t10k-labels-idx1-ubyte" + ext), idx_labels(2));
}

TEST(IdxLoader, ReadsRawAndGzipFiles) {
  for (bool gz : {false, true}) {
    fhist::testing::TempDir dir;
    write_mnist_dir(dir, gz);
    auto tt = load_dataset("fashion-mnist:" + dir.str());
    EXPECT_EQ(tt.train.images.sizes(), (std::vector<std::int64_t>{6, 1, 4, 3}));
    EXPECT_EQ(tt.test.size(), 2);
    EXPECT_EQ(tt.train.images.scalar_type(), torch::kUInt8);
    EXPECT_EQ(tt.train.images[5][0][1][2].item<int>(), 10 * 5 + (1 * 3 + 2) % 10);
    EXPECT_EQ(tt.train.labels[4].item<std::int64_t>(), 2);  // (4*3) % 10
    EXPECT_EQ(tt.train.num_classes, 10);
    EXPECT_EQ(tt.train.mean.size(), 1u);
  }
}

TEST(IdxLoader, TruncatedFileNamesFileAndSizes) {
  fhist::testing::TempDir dir;
  auto img = idx_images(6, 4, 3);
  img.resize(img.size() - 5);
  write(dir.str("imgs"), img);
  const auto msg = error_of([&] { read_idx_images(dir.str("imgs")); });
  EXPECT_NE(msg.find(dir.str("imgs")), std::string::npos) << msg;
  EXPECT_NE(msg.find("83 bytes"), std::string::npos) << msg;  // 16 + 72 - 5
  EXPECT_NE(msg.find("says 88"), std::string::npos) << msg;
}

TEST(IdxLoader, WrongMagicAndMismatchedCounts) {
  fhist::testing::TempDir dir;
  write(dir.str("labels"), idx_labels(3));
  EXPECT_NE(error_of([&] { read_idx_images(dir.str("labels")); }).find("magic 2049, expected 2051"), std::string::npos);
  write_mnist_dir(dir, false);
  write(dir.str("train-labels-idx1-ubyte"), idx_labels(5));
  EXPECT_NE(error_of([&] { load_dataset("mnist:" + dir.str()); }).find("6 images but"), std::string::npos);
}

TEST(DatasetSpec, MissingDirectoryAndUnknownName) {
  const auto msg = error_of([&] { load_dataset("cifar10:/nonexistent/dir"); });
  EXPECT_NE(msg.find("/nonexistent/dir"), std::string::npos) << msg;
  EXPECT_NE(error_of<InputError>([&] { load_dataset("imagenet:/x"); }).find("unknown dataset"), std::string::npos);
  EXPECT_NE(error_of<InputError>([&] { load_dataset("mnist"); }).find("needs a directory"), std::string::npos);
}

Bytes cifar_records(int n, bool cifar100, int label_offset) {
  Bytes b;
  for (int i = 0; i < n; ++i) {
    if (cifar100) b.push_back(static_cast<unsigned char>(i % 20));  // coarse label
    b.push_back(static_cast<unsigned char>((i + label_offset) % (cifar100 ? 100 : 10)));
    for (int p = 0; p < 3072; ++p) b.push_back(static_cast<unsigned char>((p / 1024) * 50 + i));  // channel-major
  }
  return b;
}

TEST(CifarLoader, Cifar10ReadsAllBatchesChannelMajor) {
  fhist::testing::TempDir dir;
  std::filesystem::create_directories(dir.path() / "cifar-10-batches-bin");
  for (int i = 1; i <= 5; ++i) write(dir.str("cifar-10-batches-bin/data_batch_" + std::to_string(i) + ".bin"),
                                     cifar_records(3, false, i));
  write(dir.str("cifar-10-batches-bin/test_batch.bin"), cifar_records(2, false, 0));
  auto tt = load_dataset("cifar10:" + dir.str());
  EXPECT_EQ(tt.train.images.sizes(), (std::vector<std::int64_t>{15, 3, 32, 32}));
  EXPECT_EQ(tt.test.size(), 2);
  EXPECT_EQ(tt.train.labels[3].item<std::int64_t>(), 2);  // batch 2, record 0
  EXPECT_EQ(tt.train.images[4][2][31][31].item<int>(), 100 + 1);  // channel 2, record 1
  EXPECT_EQ(tt.train.mean.size(), 3u);
}

TEST(CifarLoader, Cifar100UsesFineLabels) {
  fhist::testing::TempDir dir;
  write(dir.str("train.bin"), cifar_records(4, true, 37));
  write(dir.str("test.bin"), cifar_records(2, true, 0));
  auto tt = load_dataset("cifar100:" + dir.str());
  EXPECT_EQ(tt.train.num_classes, 100);
  EXPECT_EQ(tt.train.labels[2].item<std::int64_t>(), 39);
}

TEST(CifarLoader, TruncatedBatchNamesFileAndRecordSize) {
  fhist::testing::TempDir dir;
  auto b = cifar_records(2, false, 0);
  b.pop_back();
  write(dir.str("batch.bin"), b);
  const auto msg = error_of([&] { read_cifar_batch(dir.str("batch.bin"), false); });
  EXPECT_NE(msg.find("batch.bin"), std::string::npos) << msg;
  EXPECT_NE(msg.find("6145"), std::string::npos) << msg;  // actual size
  EXPECT_NE(msg.find("3073-byte"), std::string::npos) << msg;
  EXPECT_NE(error_of([&] { load_dataset("cifar10:" + dir.str()); }).find("data_batch_1.bin"), std::string::npos);
}

Dataset toy(std::int64_t n) {
  Dataset ds;
  ds.name = "toy";
  ds.images = torch::arange(n, torch::kInt64).to(torch::kUInt8).view({n, 1, 1, 1});
  ds.labels = torch::arange(n, torch::kInt64) % 3;
  ds.num_classes = 3;
  ds.mean = {0.5f};
  ds.std = {0.25f};
  return ds;
}

TEST(Split, SeededDisjointAndSized) {
  auto ds = toy(100);
  auto a = split_train_val(ds, 60, 30, 7);
  auto b = split_train_val(ds, 60, 30, 7);
  auto c = split_train_val(ds, 60, 30, 8);
  EXPECT_EQ(a.train.size(), 60);
  EXPECT_EQ(a.val.size(), 30);
  EXPECT_TRUE(torch::equal(a.train.images, b.train.images));
  EXPECT_FALSE(torch::equal(a.train.images, c.train.images));
  auto all = torch::cat({a.train.images.flatten(), a.val.images.flatten()});
  EXPECT_EQ(std::get<0>(at::_unique(all)).numel(), 90);  // disjoint
  EXPECT_TRUE(torch::equal(a.train.labels, a.train.images.flatten().to(torch::kInt64) % 3));  // rows stay paired
}

TEST(Split, RejectsBadSizes) {
  auto ds = toy(10);
  EXPECT_NE(error_of<InputError>([&] { split_train_val(ds, 0, 2, 0); }).find("--train-size"), std::string::npos);
  EXPECT_NE(error_of<InputError>([&] { split_train_val(ds, 5, -1, 0); }).find("--val-size"), std::string::npos);
  EXPECT_NE(error_of<InputError>([&] { split_train_val(ds, 8, 3, 0); }).find("exceeds"), std::string::npos);
}

}  // namespace
}  // namespace fhist::data
