#include "study/devices.hpp"

#include <fmt/format.h>

#include <array>
#include <cctype>
#include <string_view>

#include "core/errors.hpp"
#include "study/study.hpp"

namespace fhist::study {

void check_device_indices(const std::string& devices, int cuda_devices, bool resuming, const std::string& journal) {
  for (const auto& d : device_list(devices)) {
    if (d.rfind("cuda:", 0) != 0) continue;
    const std::string index = d.substr(5);
    if (index.empty() || index.size() > 6 ||
        index.find_first_not_of("0123456789") != std::string::npos) {
      throw InputError(fmt::format("--device {}: '{}' is not a device (expected cpu, cuda, cuda:N or a list)",
                                   devices, d));
    }
    const int n = std::stoi(index);
    if (n < cuda_devices) continue;
    const std::string have = cuda_devices == 0 ? "no CUDA device"
                             : cuda_devices == 1
                                 ? "1 CUDA device (cuda:0)"
                                 : fmt::format("{} CUDA devices (cuda:0..cuda:{})", cuda_devices, cuda_devices - 1);
    const std::string instead = cuda_devices == 0 ? "cpu" : "cuda:0";
    if (resuming) {
      throw InputError(fmt::format("{} ran on --device {}, and this host has {}: resume with --device {} (or a list of "
                                   "this host's devices); the jobs still to run then train there, nothing was changed",
                                   journal, devices, have, instead));
    }
    throw InputError(fmt::format("--device {}: this host has {} (use --device {})", devices, have, instead));
  }
}

bool is_device_fault(const std::string& message) {
  std::string m;
  m.reserve(message.size());
  for (const unsigned char c : message) m.push_back(static_cast<char>(std::tolower(c)));
  if (m.find("out of memory") != std::string::npos || m.find("alloc_failed") != std::string::npos) return false;
  // The runtime's own words (C10_CUDA_CHECK, CUDNN_CHECK, TORCH_CUDABLAS_CHECK, NCCL_CHECK, the driver API).
  static constexpr std::array<std::string_view, 10> kFaults = {
      "cuda error",                    "cuda driver error",              "cudnn_status_internal_error",
      "cudnn_status_execution_failed", "cublas_status_execution_failed", "cublas_status_internal_error",
      "cublas_status_not_initialized", "ncclinternalerror",              "nccl error",
      "cuda kernel errors"};
  for (const auto f : kFaults) {
    if (m.find(f) != std::string::npos) return true;
  }
  return false;
}

}  // namespace fhist::study
