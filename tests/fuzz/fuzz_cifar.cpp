// CIFAR-10 and CIFAR-100 binary batch files.
#include "data/loaders.hpp"
#include "fuzz_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = fhist::fuzz::as_file(data, size);
  for (bool cifar100 : {false, true})
    fhist::fuzz::expect_only_fhist_errors([&] { fhist::data::read_cifar_batch(path, cifar100); });
  return 0;
}
