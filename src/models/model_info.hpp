#pragma once
// What `fhist model-info` reports, and the parsing of its flags, kept here so tests reach them without the CLI.
#include <string>

#include "models/model.hpp"

namespace fhist::models {

struct ModelInfo {
  std::int64_t parameters = 0;
  std::int64_t macs = 0;  // one image, conv + linear (see count_macs)
  std::int64_t feature_dim = 0;
};

// Parameters, MACs for one image of `input_shape` (C, H, W) and feature size of a built model.
ModelInfo describe_model(Classifier& model, const std::vector<std::int64_t>& input_shape);

// "3x32x32" -> {3, 32, 32}. Anything else (missing sizes, zero, junk) throws InputError naming `flag`.
std::vector<std::int64_t> parse_input_shape(const std::string& text, const std::string& flag);
// "1,1.5,2,1" -> four positive numbers; throws InputError naming `flag` otherwise.
std::vector<double> parse_stage_mults(const std::string& text, const std::string& flag);
// 11220132 -> "11,220,132".
std::string with_thousands(std::int64_t n);

}  // namespace fhist::models
