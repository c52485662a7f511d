#include <fmt/format.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/errors.hpp"
#include "data/loaders.hpp"

namespace fhist::data {
namespace {
namespace fs = std::filesystem;
constexpr std::int64_t kPixels = 3 * 32 * 32;

std::string find_dir(const std::string& dir, const std::string& nested, const std::string& probe) {
  if (fs::exists(fs::path(dir) / probe)) return dir;
  if (fs::exists(fs::path(dir) / nested / probe)) return (fs::path(dir) / nested).string();
  throw DataError(fmt::format("{}: no {} here or in {}/{} (expected the CIFAR binary version's files)", dir, probe,
                              dir, nested));
}

Dataset cat_batches(std::vector<CifarBatch> batches, std::int64_t classes) {
  std::vector<torch::Tensor> imgs, labels;
  for (auto& b : batches) {
    imgs.push_back(b.images);
    labels.push_back(b.labels);
  }
  Dataset ds;
  ds.images = torch::cat(imgs);
  ds.labels = torch::cat(labels);
  ds.num_classes = classes;
  return ds;
}
}  // namespace

CifarBatch read_cifar_batch(const std::string& path, bool cifar100) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(fmt::format("{}: cannot open CIFAR batch file", path));
  in.seekg(0, std::ios::end);
  const std::int64_t size = in.tellg();
  in.seekg(0);
  const std::int64_t label_bytes = cifar100 ? 2 : 1;
  const std::int64_t record = label_bytes + kPixels;
  if (size == 0 || size % record != 0) {
    throw DataError(fmt::format("{}: {} bytes is not a whole number of {}-byte {} records (truncated or wrong file?)",
                                path, size, record, cifar100 ? "CIFAR-100" : "CIFAR-10"));
  }
  const std::int64_t n = size / record;
  std::vector<unsigned char> bytes(static_cast<std::size_t>(size));
  in.read(reinterpret_cast<char*>(bytes.data()), size);
  CifarBatch out;
  out.images = torch::empty({n, 3, 32, 32}, torch::kUInt8);
  out.labels = torch::empty({n}, torch::kInt64);
  auto* img = out.images.data_ptr<std::uint8_t>();
  auto* lab = out.labels.data_ptr<std::int64_t>();
  const std::int64_t max_label = cifar100 ? 99 : 9;
  for (std::int64_t i = 0; i < n; ++i) {
    const unsigned char* rec = bytes.data() + i * record;
    const std::int64_t label = rec[label_bytes - 1];  // CIFAR-100: the fine label follows the coarse one
    if (label > max_label) {
      throw DataError(fmt::format("{}: record {} has label {} (expected 0..{})", path, i, label, max_label));
    }
    lab[i] = label;
    std::memcpy(img + i * kPixels, rec + label_bytes, kPixels);
  }
  return out;
}

TrainTest load_cifar10_dir(const std::string& dir_in) {
  const std::string dir = find_dir(dir_in, "cifar-10-batches-bin", "data_batch_1.bin");
  std::vector<CifarBatch> train;
  for (int i = 1; i <= 5; ++i) {
    train.push_back(read_cifar_batch((fs::path(dir) / fmt::format("data_batch_{}.bin", i)).string(), false));
  }
  TrainTest tt{cat_batches(std::move(train), 10),
               cat_batches({read_cifar_batch((fs::path(dir) / "test_batch.bin").string(), false)}, 10)};
  for (Dataset* ds : {&tt.train, &tt.test}) {
    ds->name = "cifar10";
    ds->mean = {0.4914f, 0.4822f, 0.4465f};
    ds->std = {0.2470f, 0.2435f, 0.2616f};
  }
  return tt;
}

TrainTest load_cifar100_dir(const std::string& dir_in) {
  const std::string dir = find_dir(dir_in, "cifar-100-binary", "train.bin");
  TrainTest tt{cat_batches({read_cifar_batch((fs::path(dir) / "train.bin").string(), true)}, 100),
               cat_batches({read_cifar_batch((fs::path(dir) / "test.bin").string(), true)}, 100)};
  for (Dataset* ds : {&tt.train, &tt.test}) {
    ds->name = "cifar100";
    ds->mean = {0.5071f, 0.4865f, 0.4409f};
    ds->std = {0.2673f, 0.2564f, 0.2762f};
  }
  return tt;
}

}  // namespace fhist::data
