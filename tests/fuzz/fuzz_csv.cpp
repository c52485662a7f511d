// CSV tables (--data csv:FILE --target last): libcsv's parse, fhist's numbers, classes and row checks.
#include <cstdlib>
#include <cstring>

#include "fuzz_target.hpp"
#include "input/input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = fhist::fuzz::as_file(data, size, ".csv");
  fhist::fuzz::expect_only_fhist_errors([&] {
    fhist::input::DataOptions o;
    o.target = "last";
    const auto d = fhist::input::load_csv(path, o);
    // What the reader promises: N x F floats, N labels, each a class index.
    const auto n = static_cast<std::size_t>(d.train.shape.at(0)), f = static_cast<std::size_t>(d.train.shape.at(1));
    if (d.train.values.size != n * f * sizeof(float) || d.train.labels.size() != n || d.classes.size() < 2) std::abort();
    for (auto y : d.train.labels) {
      if (y < 0 || static_cast<std::size_t>(y) >= d.classes.size()) std::abort();
    }
  });
  return 0;
}
