// npy:DIR — x_train.npy / y_train.npy and optional x_val/y_val, x_test/y_test, read with core/npy (the reader
// `fhist estimate` and the NPY fuzz target use).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>

#include "core/errors.hpp"
#include "core/npy.hpp"
#include "input/input.hpp"

namespace fhist::input {

namespace fs = std::filesystem;

namespace {

std::string shape_text(const std::vector<std::int64_t>& shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

double element(const NpyArray& a, std::int64_t i) {
  const auto* p = a.data.data() + static_cast<std::size_t>(i) * npy_itemsize(a.dtype);
  switch (a.dtype) {
    case NpyDType::kUInt8: return *p;
    case NpyDType::kBool: return *p != 0 ? 1.0 : 0.0;
    case NpyDType::kInt8: { std::int8_t v; std::memcpy(&v, p, 1); return v; }
    case NpyDType::kInt16: { std::int16_t v; std::memcpy(&v, p, 2); return v; }
    case NpyDType::kUInt16: { std::uint16_t v; std::memcpy(&v, p, 2); return v; }
    case NpyDType::kUInt32: { std::uint32_t v; std::memcpy(&v, p, 4); return v; }
    case NpyDType::kUInt64: { std::uint64_t v; std::memcpy(&v, p, 8); return static_cast<double>(v); }
    case NpyDType::kInt32: { std::int32_t v; std::memcpy(&v, p, 4); return v; }
    case NpyDType::kInt64: { std::int64_t v; std::memcpy(&v, p, 8); return static_cast<double>(v); }
    case NpyDType::kFloat32: { float v; std::memcpy(&v, p, 4); return v; }
    case NpyDType::kFloat64: { double v; std::memcpy(&v, p, 8); return v; }
    case NpyDType::kFloat16: {
      std::uint16_t h;
      std::memcpy(&h, p, 2);
      const int exp = (h >> 10) & 0x1f;
      const int mant = h & 0x3ff;
      const double sign = (h & 0x8000) ? -1.0 : 1.0;
      if (exp == 0) return sign * std::ldexp(mant, -24);
      if (exp == 31) return mant ? std::nan("") : sign * INFINITY;
      return sign * std::ldexp(mant + 1024, exp - 25);
    }
  }
  return 0;
}

// The examples of one split: images as [N, C, H, W] (uint8 kept, anything else float32), tables as [N, F] float32.
Split read_examples(const std::string& path, bool& tabular) {
  const auto a = read_npy(path);
  const auto& s = a.shape;
  Split out;
  if (s.size() == 2) {
    tabular = true;
    out.shape = s;
  } else if (s.size() == 3) {
    out.shape = {s[0], 1, s[1], s[2]};
  } else if (s.size() == 4) {
    // [N, H, W, C] when the last axis is a channel count and the second is not; otherwise [N, C, H, W].
    const bool last_is_channels = s[3] == 1 || s[3] == 3;
    const bool second_is_channels = s[1] == 1 || s[1] == 3;
    out.shape = last_is_channels && !second_is_channels ? std::vector<std::int64_t>{s[0], s[3], s[1], s[2]} : s;
  } else {
    throw InputError(fmt::format("{}: shape {}: expected [N, F] (a table), [N, H, W], [N, H, W, C] or [N, C, H, W] "
                                 "(images)",
                                 path, shape_text(s)));
  }
  if (out.shape[0] == 0) throw InputError(fmt::format("{}: holds no examples (shape {})", path, shape_text(s)));
  const bool nhwc = s.size() == 4 && out.shape[1] != s[1];
  const std::int64_t n = out.shape[0];
  const std::int64_t per = a.numel() / n;
  const bool keep_uint8 = a.dtype == NpyDType::kUInt8 && !tabular;
  out.float32 = !keep_uint8;
  std::vector<unsigned char> bytes(static_cast<std::size_t>(a.numel()) * (keep_uint8 ? 1 : 4));
  // Source index of destination element (example, c, y, x) in an NHWC array.
  const std::int64_t C = s.size() == 4 ? out.shape[1] : 1;
  const std::int64_t HW = per / C;
  for (std::int64_t i = 0; i < a.numel(); ++i) {
    std::int64_t src = i;
    if (nhwc) {
      const std::int64_t ex = i / per, r = i % per, c = r / HW, p = r % HW;
      src = ex * per + p * C + c;
    }
    if (keep_uint8) {
      bytes[static_cast<std::size_t>(i)] = a.data[static_cast<std::size_t>(src)];
      continue;
    }
    const double v = element(a, src);
    if (!std::isfinite(v)) {
      throw InputError(fmt::format("{}: example {} holds a non-finite value ({}): remove or impute it", path,
                                   src / per, v));
    }
    const float f = static_cast<float>(v);
    std::memcpy(bytes.data() + static_cast<std::size_t>(i) * 4, &f, 4);
  }
  out.values = own_bytes(std::move(bytes));
  return out;
}

std::vector<double> read_labels(const std::string& path, std::int64_t n, const std::string& x_path) {
  const auto a = read_npy(path);
  if (!(a.shape.size() == 1 || (a.shape.size() == 2 && a.shape[1] == 1))) {
    throw InputError(fmt::format("{}: shape {}: expected [N] class labels", path, shape_text(a.shape)));
  }
  if (a.shape[0] != n) {
    throw InputError(fmt::format("{} has {} labels but {} has {} examples: the two must have the same N", path,
                                 a.shape[0], x_path, n));
  }
  std::vector<double> out(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    const double v = element(a, i);
    if (!std::isfinite(v) || v != std::floor(v)) {
      throw InputError(fmt::format("{}: label {} is {}: labels must be whole numbers (class ids)", path, i, v));
    }
    out[static_cast<std::size_t>(i)] = v;
  }
  return out;
}

}  // namespace

Loaded load_npy_dir(const std::string& dir, const DataOptions& /*options*/) {
  if (!fs::is_directory(dir)) {
    throw InputError(fmt::format("npy:{}: not a folder (expected one holding x_train.npy and y_train.npy)", dir));
  }
  Loaded out;
  out.tabular = false;
  struct Raw {
    std::string name;
    Split split;
    std::vector<double> labels;
  };
  std::vector<Raw> raws;
  for (const std::string name : {"train", "val", "test"}) {
    const auto x = (fs::path(dir) / ("x_" + name + ".npy")).string();
    const auto y = (fs::path(dir) / ("y_" + name + ".npy")).string();
    const bool has_x = fs::exists(x), has_y = fs::exists(y);
    if (!has_x && !has_y && name != "train") continue;
    if (!has_x || !has_y) {
      throw InputError(fmt::format("npy:{}: {} is missing ({} needs both x_{}.npy and y_{}.npy)", dir,
                                   has_x ? y : x, name == "train" ? "the training split" : "the " + name + " split",
                                   name, name));
    }
    bool tabular = false;
    Raw r{name, read_examples(x, tabular), {}};
    if (raws.empty()) {
      out.tabular = tabular;
    } else if (tabular != out.tabular ||
               std::vector<std::int64_t>(r.split.shape.begin() + 1, r.split.shape.end()) !=
                   std::vector<std::int64_t>(raws[0].split.shape.begin() + 1, raws[0].split.shape.end())) {
      throw InputError(fmt::format("{}: examples of shape {} but x_train.npy's are {} (every split needs the same)", x,
                                   shape_text({r.split.shape.begin() + 1, r.split.shape.end()}),
                                   shape_text({raws[0].split.shape.begin() + 1, raws[0].split.shape.end()})));
    }
    r.labels = read_labels(y, r.split.size(), x);
    raws.push_back(std::move(r));
  }
  // Classes are the training labels' distinct values, in increasing order: class k is the k-th smallest label.
  std::map<double, std::int64_t> index;
  for (double v : raws[0].labels) index.emplace(v, 0);
  if (index.size() < 2) {
    throw InputError(fmt::format("npy:{}: y_train.npy holds {} distinct label(s); classification needs at least two",
                                 dir, index.size()));
  }
  for (auto& [value, k] : index) {
    k = static_cast<std::int64_t>(out.classes.size());
    out.classes.push_back(fmt::format("{}", static_cast<std::int64_t>(value)));
  }
  for (auto& r : raws) {
    r.split.labels.reserve(r.labels.size());
    for (std::size_t i = 0; i < r.labels.size(); ++i) {
      const auto it = index.find(r.labels[i]);
      if (it == index.end()) {
        throw InputError(fmt::format("{}: label {} (example {}) never occurs in y_train.npy: a class the network "
                                     "cannot learn",
                                     (fs::path(dir) / ("y_" + r.name + ".npy")).string(),
                                     static_cast<std::int64_t>(r.labels[i]), i));
      }
      r.split.labels.push_back(it->second);
    }
    if (r.name == "train") out.train = std::move(r.split);
    if (r.name == "val") out.val = std::move(r.split);
    if (r.name == "test") out.test = std::move(r.split);
  }
  return out;
}

}  // namespace fhist::input
