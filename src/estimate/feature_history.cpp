#include <fmt/format.h>

#include "core/errors.hpp"
#include "estimate/estimator.hpp"

namespace fhist {

namespace {
std::string shape_str(const torch::Tensor& t) {
  if (!t.defined()) return "undefined";
  std::string s = "[";
  for (std::int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + "]";
}

void check(bool ok, const std::string& field, const torch::Tensor& t, const std::string& expected) {
  if (!ok) throw InputError(fmt::format("EpochFeatures.{}: shape {} (expected {})", field, shape_str(t), expected));
}
}  // namespace

FeatureHistory::FeatureHistory(int window, torch::Dtype storage_dtype)
    : window_(window), storage_dtype_(storage_dtype) {
  if (window < 1) throw InputError(fmt::format("--window must be >= 1 (got {})", window));
  if (storage_dtype != torch::kFloat16 && storage_dtype != torch::kFloat32) {
    throw InputError("feature storage dtype must be float16 or float32");
  }
}

void FeatureHistory::add(const EpochFeatures& e) {
  const auto& tf = e.train_features;
  check(tf.defined() && tf.dim() == 2 && tf.size(0) > 0, "train_features", tf, "[N, d] with N > 0");
  const auto n = tf.size(0), d = tf.size(1);
  check(e.train_labels.defined() && e.train_labels.dim() == 1 && e.train_labels.size(0) == n, "train_labels",
        e.train_labels, fmt::format("[{}]", n));
  check(e.val_features.defined() && e.val_features.dim() == 2 && e.val_features.size(1) == d &&
            e.val_features.size(0) > 0,
        "val_features", e.val_features, fmt::format("[M, {}] with M > 0", d));
  const auto m = e.val_features.size(0);
  check(e.val_labels.defined() && e.val_labels.dim() == 1 && e.val_labels.size(0) == m, "val_labels", e.val_labels,
        fmt::format("[{}]", m));
  check(e.head_weight.defined() && e.head_weight.dim() == 2 && e.head_weight.size(1) == d, "head_weight",
        e.head_weight, fmt::format("[c, {}]", d));
  const auto c = e.head_weight.size(0);
  check(e.head_bias.defined() && e.head_bias.dim() == 1 && e.head_bias.size(0) == c, "head_bias", e.head_bias,
        fmt::format("[{}]", c));
  if (!epochs_.empty()) {
    const auto& prev = epochs_.back();
    if (prev.train_features.size(1) != d || prev.head_weight.size(0) != c || prev.val_features.size(0) != m) {
      throw InputError(fmt::format("epoch {}: feature dim {}, classes {}, validation size {} differ from epoch {}'s "
                                   "({}, {}, {}); a history must come from one network and one validation set",
                                   e.epoch, d, c, m, prev.epoch, prev.train_features.size(1), prev.head_weight.size(0),
                                   prev.val_features.size(0)));
    }
    if (prev.train_features.size(0) != n) {
      throw InputError(fmt::format("epoch {}: {} training rows, epoch {} has {}; every epoch must record the features "
                                   "of the same training images (the fh ensemble re-fits on each epoch's rows alike)",
                                   e.epoch, n, prev.epoch, prev.train_features.size(0)));
    }
  }
  if (!epochs_.empty() && !torch::equal(epochs_.back().val_labels, e.val_labels.to(torch::kInt64))) {
    throw InputError(fmt::format("epoch {}: val_labels differ from epoch {}'s; every epoch must be evaluated on the "
                                 "same validation images in the same order",
                                 e.epoch, epochs_.back().epoch));
  }
  EpochFeatures s;
  s.epoch = e.epoch;
  s.train_features = tf.detach().to(storage_dtype_).contiguous();
  s.train_labels = e.train_labels.detach().to(torch::kInt64).contiguous();
  s.val_features = e.val_features.detach().to(storage_dtype_).contiguous();
  s.val_labels = e.val_labels.detach().to(torch::kInt64).contiguous();
  s.head_weight = e.head_weight.detach().to(torch::kFloat32).clone();
  s.head_bias = e.head_bias.detach().to(torch::kFloat32).clone();
  // A non-finite feature or head would be re-fitted into NaN scores; float16 storage also overflows above 65504.
  struct Part {
    const char* name;
    const torch::Tensor& t;
    bool stored_in_dtype;
  };
  for (const Part& p : {Part{"train_features", s.train_features, true}, Part{"val_features", s.val_features, true},
                        Part{"head_weight", s.head_weight, false}, Part{"head_bias", s.head_bias, false}}) {
    if (!torch::isfinite(p.t).all().item<bool>()) {
      const bool half = p.stored_in_dtype && storage_dtype_ == torch::kFloat16;
      throw DivergedError(fmt::format("epoch {}: {} are not finite (NaN or Inf{}); the run diverged", e.epoch, p.name,
                                      half ? ", or beyond float16's range of 65504: --feature-storage float32 keeps them"
                                           : ""));
    }
  }
  epochs_.push_back(std::move(s));
  while (static_cast<int>(epochs_.size()) > window_) epochs_.pop_front();
}

const EpochFeatures& FeatureHistory::latest() const {
  if (epochs_.empty()) throw InputError("the feature history is empty: record at least one epoch first");
  return epochs_.back();
}

void EpochRecorder::add_train_batch(const torch::Tensor& features, const torch::Tensor& labels) {
  TORCH_CHECK(features.dim() == 2 && labels.dim() == 1 && features.size(0) == labels.size(0),
              "EpochRecorder: features [B, d] and labels [B] expected");
  features_.push_back(features.detach().to(dtype_));
  labels_.push_back(labels.detach().to(torch::kInt64));
}

std::int64_t EpochRecorder::size() const {
  std::int64_t n = 0;
  for (const auto& l : labels_) n += l.size(0);
  return n;
}

EpochFeatures EpochRecorder::finish(std::int64_t epoch, const torch::Tensor& val_features,
                                    const torch::Tensor& val_labels, const torch::Tensor& head_weight,
                                    const torch::Tensor& head_bias) {
  if (features_.empty()) throw InputError("EpochRecorder::finish: no train batch was recorded this epoch");
  EpochFeatures e;
  e.epoch = epoch;
  e.train_features = torch::cat(features_);
  e.train_labels = torch::cat(labels_);
  e.val_features = val_features.detach();
  e.val_labels = val_labels.detach();
  e.head_weight = head_weight.detach();
  e.head_bias = head_bias.detach();
  features_.clear();
  labels_.clear();
  return e;
}

}  // namespace fhist
