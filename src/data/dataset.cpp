#include "data/dataset.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
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

namespace {

// A tensor over the split's bytes (owned or memory-mapped), keeping them alive; nothing writes to it (every use
// gathers rows into a new tensor first).
// The kind and the last part of the path ("folder:photos"): what checkpoints record of the data's name, so data that
// moved (resume with --data at its new place) still fits them; the content digest tells other data apart.
std::string short_name(const std::string& spec) {
  const auto colon = spec.find(':');
  auto path = std::filesystem::path(spec.substr(colon + 1));
  if (path.filename().empty()) path = path.parent_path();
  return spec.substr(0, colon + 1) + path.filename().string();
}

Dataset from_split(const input::Split& s, const input::Loaded& d) {
  Dataset ds;
  ds.name = short_name(d.spec);
  ds.tabular = d.tabular;
  ds.classes = d.classes;
  ds.num_classes = static_cast<std::int64_t>(d.classes.size());
  std::vector<std::int64_t> shape = s.shape;
  if (d.tabular) shape = {s.shape[0], s.shape[1], 1, 1};
  auto owner = s.values.owner;
  ds.images = torch::from_blob(const_cast<unsigned char*>(s.values.data), shape, [owner](void*) {},
                               s.float32 ? torch::kFloat32 : torch::kUInt8);
  ds.labels = torch::tensor(s.labels, torch::kInt64);
  return ds;
}

TrainTest load_user_data(const std::string& spec, const input::DataOptions& options,
                         const input::ProgressFn& progress) {
  const auto d = input::load(spec, options, progress);
  TrainTest tt;
  tt.train = from_split(d.train, d);
  if (d.val) tt.val = from_split(*d.val, d);
  if (d.test) tt.test = from_split(*d.test, d);
  return tt;
}

// Per-channel mean and std on the scale make_batch divides by (uint8 images: [0, 1]); a constant channel (a
// feature with one value) keeps std 1 rather than dividing by zero.
void set_normalisation(const Dataset& train, Splits& out) {
  torch::NoGradGuard ng;
  auto x = train.images.to(torch::kFloat64);
  if (train.images.dtype() == torch::kUInt8) x = x / 255.0;
  const auto mean = x.mean({0, 2, 3});
  auto sd = x.std({0, 2, 3}, /*unbiased=*/false);
  sd = torch::where(sd > 1e-12, sd, torch::ones_like(sd));
  std::vector<float> m, s;
  for (std::int64_t c = 0; c < mean.size(0); ++c) {
    m.push_back(static_cast<float>(mean[c].item<double>()));
    s.push_back(static_cast<float>(sd[c].item<double>()));
  }
  for (Dataset* ds : {&out.train, &out.val, &out.test}) {
    ds->mean = m;
    ds->std = s;
  }
}

}  // namespace

TrainTest load_dataset(const std::string& spec, const input::DataOptions& options, const input::ProgressFn& progress) {
  if (input::is_user_data(spec)) return load_user_data(spec, options, progress);
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

Dataset draw(const Dataset& ds, std::int64_t size, std::uint64_t seed) {
  assert(size >= 0 && size <= ds.size());
  std::vector<std::int64_t> perm(static_cast<std::size_t>(ds.size()));
  std::iota(perm.begin(), perm.end(), 0);
  std::mt19937_64 rng(seed);
  std::shuffle(perm.begin(), perm.end(), rng);
  perm.resize(static_cast<std::size_t>(size));
  std::sort(perm.begin(), perm.end());
  return subset(ds, torch::tensor(perm, torch::kInt64));
}

Splits make_splits(const TrainTest& tt, std::int64_t train_size, std::int64_t val_size, std::uint64_t seed) {
  if (train_size < 0) throw InputError(fmt::format("--train-size must be >= 0 (0 = auto; got {})", train_size));
  if (val_size < 0) throw InputError(fmt::format("--val-size must be >= 0 (0 = auto; got {})", val_size));
  const bool user = !tt.train.classes.empty();
  Splits out;
  out.test = tt.test;
  if (!user) {
    // The built-in sets: a seeded draw of train + validation from the official training set (today's behaviour).
    auto tv = split_train_val(tt.train, train_size > 0 ? train_size : 8000, val_size > 0 ? val_size : 2000, seed);
    out.train = std::move(tv.train);
    out.val = std::move(tv.val);
    return out;
  }
  const std::int64_t n = tt.train.size();
  if (tt.val.size() > 0) {
    // The data's own validation split: a size below a split's takes a seeded subset of it.
    auto take = [&](const Dataset& ds, std::int64_t size, const char* flag, const char* split, std::uint64_t stream) {
      if (size == 0 || size == ds.size()) return ds;
      if (size > ds.size()) {
        throw InputError(fmt::format("{} {} exceeds the {} examples of {}'s {} split", flag, size, ds.size(),
                                     ds.name, split));
      }
      return draw(ds, size, derive_seed(seed, Stream::kSplit, stream));
    };
    out.train = take(tt.train, train_size, "--train-size", "train", 1);
    out.val = take(tt.val, val_size, "--val-size", "val", 2);
  } else {
    std::int64_t val = val_size, train = train_size;
    if (val == 0) val = std::max<std::int64_t>(1, (train > 0 ? n - train : n) / 5);
    if (train == 0) train = n - val;
    if (n < 2 || train < 1 || val < 1) {
      throw InputError(fmt::format("{} has {} examples: too few to carve a training and a validation set", tt.train.name,
                                   n));
    }
    auto tv = split_train_val(tt.train, train, val, seed);
    out.train = std::move(tv.train);
    out.val = std::move(tv.val);
  }
  set_normalisation(out.train, out);
  return out;
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
    throw InputError(fmt::format("--train-size {} + --val-size {} = {} exceeds the {} training {} of {}", train_size,
                                 val_size, train_size + val_size, ds.size(), ds.tabular ? "rows" : "images", ds.name));
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
