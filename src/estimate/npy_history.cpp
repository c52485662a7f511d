#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <regex>

#include "core/errors.hpp"
#include "core/npy.hpp"
#include "estimate/estimator.hpp"

namespace fhist {
namespace {

namespace fs = std::filesystem;

NpyArray to_npy(const torch::Tensor& t_in) {
  auto t = t_in.detach().to(torch::kCPU).contiguous();
  NpyArray a;
  switch (t.scalar_type()) {
    case torch::kFloat16: a.dtype = NpyDType::kFloat16; break;
    case torch::kFloat32: a.dtype = NpyDType::kFloat32; break;
    case torch::kFloat64: a.dtype = NpyDType::kFloat64; break;
    case torch::kInt64: a.dtype = NpyDType::kInt64; break;
    case torch::kInt32: a.dtype = NpyDType::kInt32; break;
    case torch::kUInt8: a.dtype = NpyDType::kUInt8; break;
    default: throw Error(fmt::format("to_npy: unsupported tensor dtype {}", c10::toString(t.scalar_type())));
  }
  a.shape.assign(t.sizes().begin(), t.sizes().end());
  a.data.resize(static_cast<std::size_t>(t.numel()) * t.element_size());
  if (!a.data.empty()) std::memcpy(a.data.data(), t.data_ptr(), a.data.size());  // never memcpy from null
  return a;
}

torch::Tensor from_npy(const NpyArray& a) {
  torch::Dtype dt = torch::kFloat32;
  switch (a.dtype) {
    case NpyDType::kFloat16: dt = torch::kFloat16; break;
    case NpyDType::kFloat32: dt = torch::kFloat32; break;
    case NpyDType::kFloat64: dt = torch::kFloat64; break;
    case NpyDType::kInt64: dt = torch::kInt64; break;
    case NpyDType::kInt32: dt = torch::kInt32; break;
    case NpyDType::kUInt8: dt = torch::kUInt8; break;
    case NpyDType::kInt16: dt = torch::kInt16; break;
    case NpyDType::kInt8: dt = torch::kInt8; break;
    case NpyDType::kBool: dt = torch::kBool; break;
    case NpyDType::kUInt16:
    case NpyDType::kUInt32:
    case NpyDType::kUInt64: {
      // LibTorch 1.13 has no wider unsigned types: widened to int64 (labels and class ids fit).
      auto t = torch::empty(a.shape, torch::kInt64);
      auto* out = t.data_ptr<std::int64_t>();
      const auto size = npy_itemsize(a.dtype);
      for (std::int64_t i = 0; i < t.numel(); ++i) {
        std::uint64_t v = 0;
        std::memcpy(&v, a.data.data() + static_cast<std::size_t>(i) * size, size);  // little-endian host
        out[i] = static_cast<std::int64_t>(v);
      }
      return t;
    }
  }
  auto t = torch::empty(a.shape, dt);
  if (!a.data.empty()) std::memcpy(t.data_ptr(), a.data.data(), a.data.size());
  return t;
}

torch::Tensor load(const fs::path& file, std::int64_t dims, bool integer) {
  if (!fs::exists(file)) throw DataError(fmt::format("{}: missing (see `fhist estimate --help` for the layout)", file.string()));
  auto t = from_npy(read_npy(file.string()));
  if (t.dim() != dims) {
    throw DataError(fmt::format("{}: has {} dimensions, expected {}", file.string(), t.dim(), dims));
  }
  if (integer && !(t.scalar_type() == torch::kInt64 || t.scalar_type() == torch::kInt32 ||
                   t.scalar_type() == torch::kUInt8)) {
    throw DataError(fmt::format("{}: labels must be an integer array (<i8, <i4 or |u1)", file.string()));
  }
  if (!integer && !t.is_floating_point()) {
    throw DataError(fmt::format("{}: expected a float array (<f2, <f4 or <f8)", file.string()));
  }
  return t;
}

}  // namespace

void save_epoch_npy(const std::string& dir, const EpochFeatures& e) {
  const fs::path d = fs::path(dir) / fmt::format("epoch_{:04d}", e.epoch);
  fs::create_directories(d);
  write_npy((d / "train_features.npy").string(), to_npy(e.train_features));
  write_npy((d / "train_labels.npy").string(), to_npy(e.train_labels));
  write_npy((d / "val_features.npy").string(), to_npy(e.val_features));
  write_npy((d / "val_labels.npy").string(), to_npy(e.val_labels));
  write_npy((d / "head_weight.npy").string(), to_npy(e.head_weight.to(torch::kFloat32)));
  write_npy((d / "head_bias.npy").string(), to_npy(e.head_bias.to(torch::kFloat32)));
}

FeatureHistory load_history_npy(const std::string& dir, int window, torch::Dtype storage_dtype) {
  if (!fs::is_directory(dir)) throw DataError(fmt::format("{}: feature directory does not exist", dir));
  static const std::regex epoch_re(R"(epoch_(\d+))");
  std::vector<std::pair<std::int64_t, fs::path>> epochs;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::smatch m;
    const std::string name = entry.path().filename().string();
    if (entry.is_directory() && std::regex_match(name, m, epoch_re)) epochs.emplace_back(std::stoll(m[1]), entry.path());
  }
  if (epochs.empty()) {
    throw DataError(fmt::format("{}: no epoch_NNNN folders (expected the layout written by `fhist train "
                                "--save-features`)",
                                dir));
  }
  std::sort(epochs.begin(), epochs.end());
  FeatureHistory history(window, storage_dtype);
  const std::size_t first = epochs.size() > static_cast<std::size_t>(window) ? epochs.size() - window : 0;
  for (std::size_t i = first; i < epochs.size(); ++i) {
    const auto& p = epochs[i].second;
    EpochFeatures e;
    e.epoch = epochs[i].first;
    e.train_features = load(p / "train_features.npy", 2, false);
    e.train_labels = load(p / "train_labels.npy", 1, true).to(torch::kInt64);
    e.val_features = load(p / "val_features.npy", 2, false);
    e.val_labels = load(p / "val_labels.npy", 1, true).to(torch::kInt64);
    e.head_weight = load(p / "head_weight.npy", 2, false);
    e.head_bias = load(p / "head_bias.npy", 1, false);
    const auto c = e.head_weight.size(0);
    for (const auto& [file, labels] : {std::pair{"train_labels.npy", e.train_labels},
                                       std::pair{"val_labels.npy", e.val_labels}}) {
      if (labels.numel() > 0 && (labels.min().item<std::int64_t>() < 0 || labels.max().item<std::int64_t>() >= c)) {
        throw DataError(fmt::format("{}: labels must lie in [0, {}) (head_weight.npy has {} rows)",
                                    (p / file).string(), c, c));
      }
    }
    try {
      history.add(e);
    } catch (const InputError& err) {
      throw DataError(fmt::format("{}: {}", p.string(), err.what()));
    }
  }
  return history;
}

}  // namespace fhist
