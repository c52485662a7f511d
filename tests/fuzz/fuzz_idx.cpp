// IDX image and label files (MNIST / Fashion-MNIST), raw; gzip is zlib's to parse.
#include "data/loaders.hpp"
#include "fuzz_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = fhist::fuzz::as_file(data, size);
  fhist::fuzz::expect_only_fhist_errors([&] { fhist::data::read_idx_images(path); });
  fhist::fuzz::expect_only_fhist_errors([&] { fhist::data::read_idx_labels(path); });
  return 0;
}
