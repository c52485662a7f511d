// NumPy .npy files (the feature folders of fhist estimate).
#include "core/npy.hpp"
#include "fuzz_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = fhist::fuzz::as_file(data, size, ".npy");
  fhist::fuzz::expect_only_fhist_errors([&] {
    const auto a = fhist::read_npy(path);
    // What the reader promises: the data holds exactly prod(shape) items.
    if (a.data.size() != static_cast<std::size_t>(a.numel()) * fhist::npy_itemsize(a.dtype)) std::abort();
  });
  return 0;
}
