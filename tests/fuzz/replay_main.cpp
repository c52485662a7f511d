// A fuzz driver for any compiler (the fuzz smoke in make test): runs LLVMFuzzerTestOneInput on every file of the
// corpus folders, then on --mutations seeded mutants of each (bit flips, interesting bytes, truncation, insertion,
// duplicated chunks). libFuzzer explores far more (make fuzz); this catches regressions in seconds without clang.
// A crash or an exception that is not an fhist::Error aborts the process; the input that did it is saved first.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

std::vector<std::uint8_t> g_current;  // the input being run, saved by the crash handlers
const char* kFindingPath = "fuzz-finding.bin";

void save_current() {
  const int fd = ::open(kFindingPath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return;
  std::size_t done = 0;
  while (done < g_current.size()) {
    const auto n = ::write(fd, g_current.data() + done, g_current.size() - done);
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  const char msg[] = "fuzz: finding saved to fuzz-finding.bin (replay: the target binary with that file)\n";
  (void)!::write(2, msg, sizeof msg - 1);
}

extern "C" void on_signal(int sig) {
  save_current();
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

void run(const std::vector<std::uint8_t>& input) {
  g_current = input;
  LLVMFuzzerTestOneInput(input.data(), input.size());
}

std::vector<std::uint8_t> mutate(std::vector<std::uint8_t> x, std::mt19937_64& rng) {
  static const std::uint8_t interesting[] = {0x00, 0x01, 0x7f, 0x80, 0xff, '0', '9', '-', '.', ',', '|', '"', '[', ']',
                                              '{', '}', 'e'};
  const int edits = 1 + static_cast<int>(rng() % 4);
  for (int e = 0; e < edits; ++e) {
    const auto pos = [&] { return x.empty() ? std::size_t{0} : static_cast<std::size_t>(rng() % x.size()); };
    switch (rng() % 6) {
      case 0:
        if (!x.empty()) x[pos()] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
        break;
      case 1:
        if (!x.empty()) x[pos()] = interesting[rng() % sizeof interesting];
        break;
      case 2:
        x.resize(x.empty() ? 0 : static_cast<std::size_t>(rng() % x.size()));
        break;
      case 3:
        x.insert(x.begin() + static_cast<std::ptrdiff_t>(pos()), static_cast<std::uint8_t>(rng()));
        break;
      case 4:
        if (x.size() >= 2) {
          const auto a = pos(), len = 1 + rng() % std::min<std::size_t>(16, x.size() - a);
          const std::vector<std::uint8_t> chunk(x.begin() + static_cast<std::ptrdiff_t>(a),
                                                x.begin() + static_cast<std::ptrdiff_t>(a + len));
          x.insert(x.begin() + static_cast<std::ptrdiff_t>(pos()), chunk.begin(), chunk.end());
        }
        break;
      default:
        if (x.size() >= 4) {  // a big-endian or little-endian count field set to an extreme
          const auto a = static_cast<std::size_t>(rng() % (x.size() - 3));
          const std::uint8_t v = rng() % 2 ? 0xff : 0x7f;
          for (int k = 0; k < 4; ++k) x[a + static_cast<std::size_t>(k)] = k == 0 ? v : 0xff;
        }
    }
  }
  return x;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGSEGV, on_signal);
  std::signal(SIGABRT, on_signal);
  std::signal(SIGFPE, on_signal);
  std::signal(SIGBUS, on_signal);
  int mutations = 200;
  std::uint64_t seed = 1;
  std::vector<std::filesystem::path> files;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--mutations" && i + 1 < argc) {
      mutations = std::atoi(argv[++i]);
    } else if (a == "--seed" && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (std::filesystem::is_directory(a)) {
      for (const auto& e : std::filesystem::directory_iterator(a))
        if (e.is_regular_file()) files.push_back(e.path());
    } else if (std::filesystem::is_regular_file(a)) {
      files.push_back(a);
    } else {
      std::fprintf(stderr, "usage: %s [--mutations N] [--seed S] CORPUS_DIR_OR_FILE...\n", argv[0]);
      return 2;
    }
  }
  if (files.empty()) {
    std::fprintf(stderr, "%s: no corpus files given\n", argv[0]);
    return 2;
  }
  std::sort(files.begin(), files.end());  // the same inputs in the same order on every machine
  const auto t0 = std::chrono::steady_clock::now();
  std::mt19937_64 rng(seed);
  std::size_t inputs = 0;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    const std::vector<std::uint8_t> base((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    run(base);
    ++inputs;
    for (int m = 0; m < mutations; ++m, ++inputs) run(mutate(base, rng));
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%s: %zu seeds, %zu inputs, no finding, %.1f s\n", argv[0], files.size(), inputs, s);
  return 0;
}
