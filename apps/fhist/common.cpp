#include <fmt/format.h>
#include <torch/torch.h>

#include <thread>

#include "commands.hpp"
#include "core/errors.hpp"

namespace fhist::cli {

void add_runtime_flags(CLI::App& app, RuntimeOptions& o) {
  app.add_option("--threads", o.threads, "intra-op CPU threads (0 = all cores)")->check(CLI::NonNegativeNumber);
  app.add_option("--device", o.device, "auto | cpu | cuda | cuda:N")->capture_default_str();
}

void add_speed_flags(CLI::App& app, RuntimeOptions& o) {
  app.add_option("--precision", o.precision, "fp32 | bf16 (bfloat16 autocast for forward and loss)")
      ->check(CLI::IsMember({"fp32", "bf16"}))
      ->capture_default_str();
  app.add_flag("--channels-last", o.channels_last, "NHWC memory format (faster convolutions on GPUs)");
}

std::string apply_runtime(const RuntimeOptions& o) {
  const int threads = o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);
  std::string device = o.device;
  if (device == "auto") device = torch::cuda::is_available() ? "cuda" : "cpu";
  if (device != "cpu" && device.rfind("cuda", 0) != 0) {
    throw InputError(fmt::format("--device '{}': expected auto, cpu, cuda or cuda:N", o.device));
  }
  if (device.rfind("cuda", 0) == 0 && !torch::cuda::is_available()) {
    throw InputError(fmt::format("--device {}: this LibTorch build sees no CUDA device (use --device cpu)", device));
  }
  try {
    (void)torch::Device(device);
  } catch (const c10::Error&) {
    throw InputError(fmt::format("--device '{}': expected auto, cpu, cuda or cuda:N", o.device));
  }
  return device;
}

}  // namespace fhist::cli
