// fhist: hyperparameter and architecture search with feature-history performance estimation. The launcher: it runs
// the commands that need no LibTorch itself (plan, search, table, replay, rank, report, export: a search loads
// LibTorch when its first job trains) and hands every other command line to LibTorch's part (torch_runtime.hpp).
#include <fmt/format.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <algorithm>
#include <string>

#include "commands.hpp"
#include "core/errors.hpp"
#include "exec/mpi.hpp"
#include "torch_runtime.hpp"

namespace {

// glibc's defaults hand LibTorch's large activation buffers back to the kernel after each use (mmap above a moving
// threshold, and trimming the heap's top), so every batch page-faults its memory in again: on 2 CPU cores that was
// 40-60% of the time of a small network's training (ResNet-18 x0.25, 1000 images, 3 epochs: 10.5 s -> 5.7 s; the
// 4-epoch CNN of e2e.table: 5.0 s -> 1.6 s; peak memory unchanged: 764 -> 758-766 MB, 351 -> 350 MB). Keep freed memory in the process instead.
void keep_freed_memory() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 32 << 20);   // glibc's largest: buffers below it come from the heap
  mallopt(M_TRIM_THRESHOLD, 1 << 30);    // give the heap's free top back only past 1 GiB
  mallopt(M_TOP_PAD, 256 << 20);         // and grow it in large steps
#endif
}

// The command is the first argument (fhist's own flags, --help and --version, take no value).
bool runs_here(int argc, char** argv) {
  if (argc < 2) return false;
  const auto& names = fhist::cli::launcher_commands();
  return std::find(names.begin(), names.end(), std::string(argv[1])) != names.end();
}

}  // namespace

int main(int argc, char** argv) {
  keep_freed_memory();
  if (runs_here(argc, argv)) {
    // A LibTorch error that escaped a job: what() carries a C++ backtrace after the message (c10::Error's layout;
    // LibTorch's part names the type itself).
    return fhist::cli::run_program(argc, argv, {fhist::cli::register_launcher_commands}, [](const std::exception& e) {
      const std::string what = e.what();
      const auto at = what.find("\nException raised from ");
      return at == std::string::npos ? what : "internal error in LibTorch: " + what.substr(0, at);
    });
  }
  try {
    return fhist::cli::torch_runtime().main(argc, argv);
  } catch (const fhist::Error& e) {  // LibTorch's part could not be loaded
    fmt::print(stderr, "fhist: error: {}\n", e.what());
    fhist::exec::abort_mpi_job(fhist::cli::kExitFailure);
    return fhist::cli::kExitFailure;
  }
}
