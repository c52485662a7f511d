#include "core/cpus.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <thread>

#include "core/errors.hpp"

#if defined(__linux__)
#include <sched.h>
#endif

namespace fhist {

int usable_cores() {
#if defined(__linux__)
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
#endif
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

int default_threads() {
  const char* env = std::getenv("OMP_NUM_THREADS");
  if (env == nullptr || *env == '\0') return usable_cores();
  const std::string text(env);
  const std::string first = text.substr(0, text.find(','));
  const bool digits = !first.empty() && first.size() <= 6 &&
                      std::all_of(first.begin(), first.end(), [](char c) { return c >= '0' && c <= '9'; });
  const int n = digits ? std::stoi(first) : 0;
  if (n < 1) {
    throw InputError(fmt::format("OMP_NUM_THREADS='{}': expected a whole number >= 1 (the default of --threads); "
                                 "unset it or pass --threads N",
                                 text));
  }
  return n;
}

}  // namespace fhist
