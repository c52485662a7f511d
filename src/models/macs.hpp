#pragma once
#include "models/model.hpp"

namespace fhist::models {

// Multiply-accumulates of one image through `model` (input_shape = C,H,W): the conv2d and linear / matrix-product
// calls of one eval-mode forward pass on zeros, observed with LibTorch's RecordFunction, so any Classifier is covered
// without a per-model formula. Batch norm, activations, pooling and additions are not counted. A conv costs
// output elements x (C_in / groups) x kh x kw; a linear layer output elements x in_features (biases are free).
// Throws InputError for a shape that is not three positive sizes.
std::int64_t count_macs(Classifier& model, c10::IntArrayRef input_shape);

}  // namespace fhist::models
