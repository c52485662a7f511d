#pragma once
// LibTorch's part of the program. fhist starts without LibTorch, whose start-up alone is 0.6 s of CPU on 2 cores (most
// of what a report, an export, a plan or a refused command line cost), and loads it the first time a command needs
// it: libfhist-torch.so, beside the program in the build tree, in ../lib/fhist once installed. That library holds the
// whole program as well, so the commands whose flags are LibTorch's types (train, estimate, evaluate, model-info,
// data) run there unchanged. No Torch header here.
#include <string>

#include "study/study.hpp"

namespace fhist::cli {

class TorchRuntime {
 public:
  virtual ~TorchRuntime() = default;
  // The whole program with every command, as main() would run it: what main() hands a command it does not run
  // itself (train, estimate, evaluate, model-info, data; --help, --version, and what it does not know).
  virtual int main(int argc, char** argv) = 0;
  // Intra-op threads of this process (LibTorch's default here is 1).
  virtual void set_threads(int threads) = 0;
  virtual int cuda_device_count() = 0;  // 0 where this LibTorch has no CUDA or sees no device
  // The objective that trains fhist's networks. Sets the process's intra-op threads to `threads` first (> 0).
  virtual study::MakeObjective training_objective(int threads) = 0;
};

// The process's LibTorch part, loaded on the first call. EnvironmentError naming the file when it cannot be loaded.
TorchRuntime& torch_runtime();

}  // namespace fhist::cli
