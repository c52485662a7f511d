// Training-step time of fhist's C++ ResNet-18 (forward, backward, SGD step), to compare with bench/step_bench.py
// (the same CIFAR ResNet-18 in PyTorch-Python) on the same device and batch.
#include <fmt/format.h>
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <fstream>
#include <thread>
#include <nlohmann/json.hpp>

#include "models/model.hpp"
#include "train/autocast.hpp"

int main(int argc, char** argv) {
  CLI::App app{"fhist step benchmark: seconds per training step of ResNet-18"};
  std::string device = "cpu", json_path, precision = "fp32";
  int batch = 256, steps = 20, warmup = 5, size = 32, classes = 10;
  double width = 1.0;
  bool channels_last = false;
  int threads = 0;
  app.add_option("--device", device)->capture_default_str();
  app.add_option("--threads", threads, "intra-op threads; 0 = all cores (as step_bench.py)")->capture_default_str();
  app.add_option("--batch-size", batch)->capture_default_str();
  app.add_option("--steps", steps)->capture_default_str();
  app.add_option("--warmup", warmup)->capture_default_str();
  app.add_option("--size", size, "input HxW (3 channels)")->capture_default_str();
  app.add_option("--width-mult", width)->capture_default_str();
  app.add_option("--precision", precision)->check(CLI::IsMember({"fp32", "bf16"}))->capture_default_str();
  app.add_flag("--channels-last", channels_last);
  app.add_option("--json", json_path);
  std::string profile_path;
  app.add_option("--profile", profile_path,
                 "also trace 5 more steps with the autograd profiler (chrome-trace JSON; compare with step_bench.py "
                 "--profile)");
  CLI11_PARSE(app, argc, argv);

  // LibTorch starts with one intra-op thread here, Python with one per core: set it, or the comparison is unequal.
  at::set_num_threads(threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  const torch::Device dev(device);
  torch::manual_seed(0);
  auto model = fhist::models::make_model({"resnet18", width, 3, classes});
  model->to(dev);
  if (channels_last) {
    torch::NoGradGuard ng;
    for (auto& p : model->parameters())
      if (p.dim() == 4) p.set_data(p.data().contiguous(at::MemoryFormat::ChannelsLast));
  }
  torch::optim::SGD opt(model->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9).weight_decay(5e-4));
  auto x = torch::randn({batch, 3, size, size}, torch::TensorOptions().device(dev));
  if (channels_last) x = x.contiguous(at::MemoryFormat::ChannelsLast);
  auto y = torch::randint(0, classes, {batch}, torch::TensorOptions().dtype(torch::kInt64).device(dev));
  auto sync = [&] {
    if (dev.is_cuda()) torch::cuda::synchronize();
  };
  auto step = [&] {
    opt.zero_grad();
    torch::Tensor loss;
    {
      fhist::train::AutocastScope autocast(precision == "bf16", dev);  // the trainer's own autocast scope
      loss = torch::nn::functional::cross_entropy(model->forward(x).logits, y);
    }
    loss.backward();
    opt.step();
  };
  for (int i = 0; i < warmup; ++i) step();
  sync();
  std::vector<double> t;
  for (int i = 0; i < steps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    step();
    sync();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  if (!profile_path.empty()) {
    torch::autograd::profiler::RecordProfile guard(profile_path);
    for (int i = 0; i < 5; ++i) step();
  }
  std::sort(t.begin(), t.end());
  const double median = t[t.size() / 2];
  fmt::print("C++ ResNet-18 x{} step: batch {} at {}x{}, {} {}{}, {} threads: median {:.4f} s over {} steps\n", width,
             batch, size, size, device, precision, channels_last ? " channels-last" : "", at::get_num_threads(), median,
             steps);
  if (!json_path.empty()) {
    std::ofstream(json_path) << nlohmann::json{{"impl", "c++"},       {"device", device},   {"batch", batch},
                                               {"size", size},        {"width_mult", width}, {"precision", precision},
                                               {"channels_last", channels_last}, {"threads", at::get_num_threads()},
                                               {"median_step_seconds", median}}
                                    .dump(2)
                             << "\n";
  }
  return 0;
}
