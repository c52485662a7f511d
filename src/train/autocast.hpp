#pragma once
// Scoped bfloat16 autocast (--precision bf16), shared by the trainer and the step benchmark.
#include <ATen/autocast_mode.h>
#include <torch/torch.h>
#include <torch/version.h>

namespace fhist::train {

// LibTorch 2.4 brought the device-type autocast API (pytorch/pytorch#124359) and deprecated the per-device functions
// 1.13 has (is_enabled, is_cpu_enabled, set_autocast_gpu_dtype, ...): they still compile there, with a deprecation
// warning at build time and a TORCH_WARN_DEPRECATION at run time, so 2.4+ gets the new API.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define FHIST_AUTOCAST_DEVICE_TYPE_API 1
#else
#define FHIST_AUTOCAST_DEVICE_TYPE_API 0
#endif

// Whether autocast is on for the device's backend (the CPU's or CUDA's), on either API.
inline bool autocast_enabled(const torch::Device& device) {
#if FHIST_AUTOCAST_DEVICE_TYPE_API
  return at::autocast::is_autocast_enabled(device.is_cuda() ? at::kCUDA : at::kCPU);
#else
  return device.is_cuda() ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
#endif
}

// bfloat16 autocast for one scope, on the device's autocast backend.
class AutocastScope {
 public:
  AutocastScope(bool enabled, const torch::Device& device) : enabled_(enabled), cuda_(device.is_cuda()) {
    if (!enabled_) return;
    previous_ = autocast_enabled(device);
#if FHIST_AUTOCAST_DEVICE_TYPE_API
    const auto type = cuda_ ? at::kCUDA : at::kCPU;
    previous_dtype_ = at::autocast::get_autocast_dtype(type);
    at::autocast::set_autocast_dtype(type, at::kBFloat16);
    at::autocast::set_autocast_enabled(type, true);
#else
    previous_dtype_ = cuda_ ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
    if (cuda_) {
      at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
      at::autocast::set_enabled(true);
    } else {
      at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
      at::autocast::set_cpu_enabled(true);
    }
#endif
    at::autocast::increment_nesting();
  }
  ~AutocastScope() {
    if (!enabled_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
#if FHIST_AUTOCAST_DEVICE_TYPE_API
    const auto type = cuda_ ? at::kCUDA : at::kCPU;
    at::autocast::set_autocast_enabled(type, previous_);
    at::autocast::set_autocast_dtype(type, previous_dtype_);
#else
    if (cuda_) {
      at::autocast::set_enabled(previous_);
      at::autocast::set_autocast_gpu_dtype(previous_dtype_);
    } else {
      at::autocast::set_cpu_enabled(previous_);
      at::autocast::set_autocast_cpu_dtype(previous_dtype_);
    }
#endif
  }
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool enabled_;
  bool cuda_;
  bool previous_ = false;
  at::ScalarType previous_dtype_ = at::kBFloat16;
};

}  // namespace fhist::train
