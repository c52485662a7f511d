#pragma once
// One fuzz target per parser: LLVMFuzzerTestOneInput feeds it arbitrary bytes. A parser may refuse its input only
// with an fhist::Error (a message for the user); any other exception, a crash, or a sanitizer report is a finding.
// Built two ways: with libFuzzer under clang (make fuzz), and with replay_main.cpp under any compiler, which runs
// the seed corpus and seeded mutations of it (the fuzz smoke in make test).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include "core/errors.hpp"

namespace fhist::fuzz {

// The input as a file, for parsers that read paths (IDX, CIFAR, NPY). One file per process, rewritten each time.
inline std::string as_file(const std::uint8_t* data, std::size_t size, const char* suffix = "") {
  static const std::string path =
      (std::filesystem::temp_directory_path() / ("fhist-fuzz-" + std::to_string(::getpid()) + suffix)).string();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  return path;
}

// Runs `f`; an fhist::Error is the parser refusing bad input (fine), anything else propagates and aborts.
template <class F>
void expect_only_fhist_errors(F&& f) {
  try {
    f();
  } catch (const fhist::Error&) {
  }
}

}  // namespace fhist::fuzz
