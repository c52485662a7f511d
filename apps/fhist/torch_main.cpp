// LibTorch's part of the program (libfhist-torch.so): the commands whose flags are LibTorch's types, the whole program
// for what the launcher hands over, and the training objective. The launcher finds it by fhist_torch_runtime.
#include <torch/torch.h>

#include <string>

#include "commands.hpp"
#include "objective/training.hpp"
#include "torch_runtime.hpp"

namespace fhist::cli {

void register_all_commands(CLI::App& app) {
  register_train(app);
  register_estimate(app);
  register_search(app);
  register_evaluate(app);
  register_model_info(app);
  register_report(app);
  register_table(app);
  register_data(app);
  register_space(app);
}

namespace {

class Runtime final : public TorchRuntime {
 public:
  int main(int argc, char** argv) override {
    return run_program(argc, argv, {register_all_commands}, [](const std::exception& e) {
      if (const auto* t = dynamic_cast<const c10::Error*>(&e)) {
        return std::string("internal error in LibTorch: ") + t->what_without_backtrace();
      }
      return std::string(e.what());
    });
  }
  void set_threads(int threads) override {
    if (threads > 0 && at::get_num_threads() != threads) at::set_num_threads(threads);
  }
  int cuda_device_count() override {
    return torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0;
  }
  study::MakeObjective training_objective(int threads) override {
    set_threads(threads);
    return objective::training();
  }
};

}  // namespace

TorchRuntime& torch_runtime() {
  static Runtime runtime;
  return runtime;
}

}  // namespace fhist::cli

extern "C" __attribute__((visibility("default"))) fhist::cli::TorchRuntime* fhist_torch_runtime() {
  return &fhist::cli::torch_runtime();
}
