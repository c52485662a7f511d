#pragma once
// The one place that builds any fhist network by name: the plain zoo (models::make_model) and the cell-based NAS
// networks, which live above fhist::models.
#include <string>
#include <vector>

#include "models/model.hpp"

namespace fhist::nas {

// "nb201" builds TinyNetwork(spec.channels or 16, spec.cells or 5, parse_nb201_arch(spec.arch));
// "darts" builds NetworkCIFAR(spec.channels or 36, spec.cells or 20, spec.auxiliary, parse_genotype(spec.arch)
// or DARTS_V2 when empty); every other name goes to models::make_model. Throws InputError naming the bad field.
models::ClassifierPtr make_network(const models::ModelSpec& spec);

}  // namespace fhist::nas
