#include "data/dataset.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <numeric>
#include <random>

#include "core/errors.hpp"
#include "core/rng.hpp"
#include "data/loaders.hpp"

namespace fhist::data {

namespace {
constexpr const char* kDebianFashionMnist = "/usr/share/datasets/fashion-mnist";
}

std::vector<std::string> dataset_names() { return {"fashion-mnist", "mnist", "cifar10", "cifar100"}; }

TrainTest load_dataset(const std::string& spec) {
  const auto colon = spec.find(':');
  const std::string name = spec.substr(0, colon);
  std::string dir = colon == std::string::npos ? "" : spec.substr(colon + 1);
  if (name == "fashion-mnist" && dir.empty()) dir = kDebianFashionMnist;
  const auto names = dataset_names();
  if (std::find(names.begin(), names.end(), name) == names.end()) {
    throw InputError(fmt::format("--data '{}': unknown dataset '{}' (expected fashion-mnist, fashion-mnist:DIR, "
                                 "mnist:DIR, cifar10:DIR or cifar100:DIR)",
                                 spec, name));
  }
  if (dir.empty()) {
    throw InputError(fmt::format("--data '{}': {} needs a directory, e.g. {}:/path/to/files", spec, name, name));
  }
  if (!std::filesystem::is_directory(dir)) {
    std::string hint;
    if (dir == kDebianFashionMnist) {
      hint = " — install the Debian package dataset-fashion-mnist (apt-get install dataset-fashion-mnist)";
    } else {
      hint = " — pass the directory that holds the dataset's original files";
    }
    throw DataError(fmt::format("dataset directory {} does not exist{}", dir, hint));
  }
  if (name == "fashion-mnist" || name == "mnist") return load_idx_dir(dir, name);
  if (name == "cifar10") return load_cifar10_dir(dir);
  return load_cifar100_dir(dir);
}

Dataset subset(const Dataset& ds, const torch::Tensor& indices) {
  Dataset out = ds;
  out.images = ds.images.index_select(0, indices).contiguous();
  out.labels = ds.labels.index_select(0, indices).contiguous();
  return out;
}

TrainVal split_train_val(const Dataset& ds, std::int64_t train_size, std::int64_t val_size, std::uint64_t seed) {
  if (train_size <= 0) throw InputError(fmt::format("--train-size must be positive (got {})", train_size));
  if (val_size <= 0) throw InputError(fmt::format("--val-size must be positive (got {})", val_size));
  if (train_size + val_size > ds.size()) {
    throw InputError(fmt::format("--train-size {} + --val-size {} = {} exceeds the {} training images of {}",
                                 train_size, val_size, train_size + val_size, ds.size(), ds.name));
  }
  std::vector<std::int64_t> perm(static_cast<std::size_t>(ds.size()));
  std::iota(perm.begin(), perm.end(), 0);
  std::mt19937_64 rng(derive_seed(seed, Stream::kSplit));
  std::shuffle(perm.begin(), perm.end(), rng);
  auto idx = torch::from_blob(perm.data(), {ds.size()}, torch::kInt64).clone();
  return {subset(ds, idx.narrow(0, 0, train_size)), subset(ds, idx.narrow(0, train_size, val_size))};
}

Dataset concat(const Dataset& a, const Dataset& b) {
  Dataset out = a;
  out.images = torch::cat({a.images, b.images});
  out.labels = torch::cat({a.labels, b.labels});
  return out;
}

}  // namespace fhist::data
