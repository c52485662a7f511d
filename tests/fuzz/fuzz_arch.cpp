// NAS-Bench-201 cell strings and DARTS genotypes: a parsed one prints back to text that parses to the same cell.
#include <string>

#include "fuzz_target.hpp"
#include "nas/darts.hpp"
#include "nas/nb201.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  fhist::fuzz::expect_only_fhist_errors([&] {
    const auto a = fhist::nas::parse_nb201_arch(text);
    if (!(fhist::nas::parse_nb201_arch(fhist::nas::to_string(a)) == a)) std::abort();
  });
  fhist::fuzz::expect_only_fhist_errors([&] {
    const auto g = fhist::nas::parse_genotype(text);
    if (!(fhist::nas::parse_genotype(fhist::nas::to_string(g)) == g)) std::abort();
  });
  return 0;
}
