#include "nas/network.hpp"

#include "core/errors.hpp"
#include "nas/darts.hpp"
#include "nas/nb201.hpp"

namespace fhist::nas {

models::ClassifierPtr make_network(const models::ModelSpec& spec) {
  if (spec.name == "nb201") {
    if (spec.arch.empty()) throw InputError("--model nb201 needs --arch '|op~0|+|op~0|op~1|+|op~0|op~1|op~2|'");
    return std::make_shared<TinyNetwork>(spec.channels > 0 ? spec.channels : 16, spec.cells > 0 ? spec.cells : 5,
                                         space::parse_nb201_arch(spec.arch), spec.num_classes, spec.in_channels);
  }
  if (spec.name == "darts") {
    const Genotype genotype = spec.arch.empty() ? space::darts_v2() : space::parse_genotype(spec.arch);
    return std::make_shared<NetworkCIFAR>(spec.channels > 0 ? spec.channels : 36, spec.num_classes,
                                          spec.cells > 0 ? spec.cells : 20, spec.auxiliary, genotype,
                                          spec.in_channels);
  }
  return models::make_model(spec);
}

}  // namespace fhist::nas
