// The launcher's way to LibTorch's part of the program: the library beside the program (the build tree) or in
// FHIST_TORCH_INSTALL_DIR relative to it (an installed fhist), loaded once, on the first call.
#include <dlfcn.h>
#include <fmt/format.h>

#include <filesystem>
#include <string>

#include "core/errors.hpp"
#include "torch_runtime.hpp"

namespace fhist::cli {
namespace {

TorchRuntime& load() {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path dir = fs::read_symlink("/proc/self/exe", ec).parent_path();
  const fs::path places[] = {dir / FHIST_TORCH_LIBRARY, dir / FHIST_TORCH_INSTALL_DIR / FHIST_TORCH_LIBRARY};
  for (const auto& path : places) {
    if (!fs::exists(path, ec)) continue;
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      throw EnvironmentError(fmt::format("cannot load LibTorch's part of fhist, {}: {}", path.string(), dlerror()));
    }
    auto* entry = reinterpret_cast<TorchRuntime* (*)()>(dlsym(handle, "fhist_torch_runtime"));
    if (entry == nullptr) {
      throw EnvironmentError(fmt::format("{} is not LibTorch's part of this fhist (no fhist_torch_runtime): rebuild "
                                         "or reinstall fhist", path.string()));
    }
    return *entry();
  }
  throw EnvironmentError(fmt::format("LibTorch's part of fhist ({}) is neither beside the program nor in {}: rebuild "
                                     "or reinstall fhist",
                                     FHIST_TORCH_LIBRARY, (dir / FHIST_TORCH_INSTALL_DIR).lexically_normal().string()));
}

}  // namespace

TorchRuntime& torch_runtime() {
  static TorchRuntime& runtime = load();
  return runtime;
}

}  // namespace fhist::cli
