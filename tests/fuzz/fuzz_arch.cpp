// NAS-Bench-201 cell strings and DARTS genotypes: a parsed one prints back to text that parses to the same cell.
#include <string>

#include "fuzz_target.hpp"
#include "space/darts.hpp"
#include "space/nb201.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  fhist::fuzz::expect_only_fhist_errors([&] {
    const auto a = fhist::space::parse_nb201_arch(text);
    if (!(fhist::space::parse_nb201_arch(fhist::space::to_string(a)) == a)) std::abort();
  });
  fhist::fuzz::expect_only_fhist_errors([&] {
    const auto g = fhist::space::parse_genotype(text);
    if (!(fhist::space::parse_genotype(fhist::space::to_string(g)) == g)) std::abort();
  });
  return 0;
}
