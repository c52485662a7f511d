#include "models/macs.hpp"

#include <ATen/ExpandUtils.h>
#include <ATen/record_function.h>
#include <fmt/format.h>

#include <cstring>
#include <string>

#include "core/errors.hpp"

namespace fhist::models {
namespace {

// RecordFunction callbacks are plain function pointers without a user-data slot, so the running state reaches them
// through this thread-local pointer. It is non-null only inside count_macs on the counting thread.
struct Counter {
  std::int64_t macs = 0;
  int depth = 0;  // counted ops now open: anything they call internally is part of their cost already
};
thread_local Counter* tl_counter = nullptr;

std::int64_t product(c10::IntArrayRef s, std::size_t from, std::size_t to) {
  std::int64_t p = 1;
  for (std::size_t i = from; i < to; ++i) p *= s[i];
  return p;
}

std::int64_t conv2d_macs(c10::ArrayRef<const c10::IValue> in) {
  const auto x = in[0].toTensor().sizes();  // [N,] C, H, W (unbatched input is allowed)
  const auto w = in[1].toTensor().sizes();  // O, C/groups, kh, kw
  const std::size_t h_dim = x.size() - 2;
  const auto stride = in[3].toIntVector();
  const auto dilation = in[5].toIntVector();
  std::int64_t out_spatial = 1;
  for (std::size_t i = 0; i < 2; ++i) {
    const std::int64_t extent = x[h_dim + i];
    const std::int64_t k = dilation[i] * (w[2 + i] - 1) + 1;
    std::int64_t pad = 0;
    if (in[4].isString()) {  // conv2d.padding overload: "same" requires stride 1 and keeps the size
      if (in[4].toStringRef() == "same") {
        out_spatial *= extent;
        continue;
      }
    } else {
      pad = in[4].toIntVector()[i];
    }
    out_spatial *= (extent + 2 * pad - k) / stride[i] + 1;
  }
  return product(x, 0, h_dim - 1) * w[0] * out_spatial * w[1] * w[2] * w[3];
}

// a @ b with NumPy broadcasting: every output element costs k MACs.
std::int64_t matmul_macs(c10::IntArrayRef a, c10::IntArrayRef b) {
  const std::int64_t k = a.back();
  if (b.size() == 1) return product(a, 0, a.size() - 1) * k;
  if (a.size() == 1) return product(b, 0, b.size() - 2) * b.back() * k;
  const auto batch = at::infer_size(a.slice(0, a.size() - 2), b.slice(0, b.size() - 2));
  return product(batch, 0, batch.size()) * a[a.size() - 2] * k * b.back();
}

// MACs of one call to a counted op, or -1 for any other op. aten::linear is what the Python frontend calls, but
// the C++ frontend's torch::nn::Linear calls aten::addmm (2-d input with bias) or aten::matmul directly (LibTorch
// 1.13 and 2.x alike), so the matrix products count too; nesting keeps linear -> addmm from counting twice.
std::int64_t op_macs(const at::RecordFunction& fn) {
  const char* name = fn.name();
  if (std::strncmp(name, "aten::", 6) != 0) return -1;
  const std::string op = name + 6;
  const auto in = fn.inputs();
  const auto shape = [&](std::size_t i) { return in[i].toTensor().sizes(); };
  if (op == "conv2d") return conv2d_macs(in);
  if (op == "linear") return product(shape(0), 0, shape(0).size() - 1) * shape(1)[0] * shape(1)[1];
  if (op == "addmm") return matmul_macs(shape(1), shape(2));
  if (op == "matmul" || op == "mm" || op == "bmm") return matmul_macs(shape(0), shape(1));
  return -1;
}

// The context only marks "a counted op opened here" for the end callback.
struct Opened : at::ObserverContext {};

std::unique_ptr<at::ObserverContext> on_op_start(const at::RecordFunction& fn) {
  if (tl_counter == nullptr) return nullptr;
  const std::int64_t macs = op_macs(fn);
  if (macs < 0) return nullptr;
  if (tl_counter->depth++ == 0) tl_counter->macs += macs;
  return std::make_unique<Opened>();
}

void on_op_end(const at::RecordFunction& /*fn*/, at::ObserverContext* ctx) {
  if (tl_counter != nullptr && ctx != nullptr) --tl_counter->depth;
}

// Registers the callback on this thread for its lifetime; also restores the model's training mode.
class CountingScope {
 public:
  CountingScope(Counter* sink, Classifier& model) : model_(model), was_training_(model.is_training()) {
    at::RecordFunctionCallback cb(&on_op_start, &on_op_end);
    cb.needsInputs(true);
    cb.scopes({at::RecordScope::FUNCTION});
    handle_ = at::addThreadLocalCallback(cb);
    tl_counter = sink;
    model_.eval();
  }
  ~CountingScope() {
    tl_counter = nullptr;
    at::removeCallback(handle_);
    model_.train(was_training_);
  }
  CountingScope(const CountingScope&) = delete;
  CountingScope& operator=(const CountingScope&) = delete;

 private:
  Classifier& model_;
  bool was_training_;
  at::CallbackHandle handle_ = at::INVALID_CALLBACK_HANDLE;
  at::RecordFunctionGuard enabled_{true};
};

}  // namespace

std::int64_t count_macs(Classifier& model, c10::IntArrayRef input_shape) {
  if (input_shape.size() != 3 || input_shape[0] < 1 || input_shape[1] < 1 || input_shape[2] < 1) {
    std::string got;
    for (auto v : input_shape) got += (got.empty() ? "" : "x") + std::to_string(v);
    throw InputError(fmt::format("input shape must be CxHxW with positive sizes (got '{}')", got));
  }
  auto options = torch::TensorOptions().dtype(torch::kFloat32);
  const auto params = model.parameters();
  if (!params.empty()) options = options.device(params.front().device());
  const auto x = torch::zeros({1, input_shape[0], input_shape[1], input_shape[2]}, options);
  Counter counter;
  {
    torch::NoGradGuard no_grad;
    CountingScope scope(&counter, model);
    model.forward(x);
  }
  const std::int64_t macs = counter.macs;
  // Every Classifier ends in a Linear head, so a zero count means RecordFunction is compiled out of this LibTorch.
  TORCH_CHECK(macs > 0,
              "count_macs: RecordFunction observed no conv2d/linear/matmul call (profiling disabled in LibTorch?)");
  return macs;
}

}  // namespace fhist::models
