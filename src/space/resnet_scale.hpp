#pragma once
// The resnet-scale space's arithmetic (paper A.6 / REFERENCE §5): ResNet-18 with stages C2..C5 scaled in depth and
// width. The network itself is models::make_scaled_resnet; the MAC formula lives here, without Torch, because the
// space's FLOPs cap is a constraint every sampled configuration is checked against.
#include <cstdint>
#include <string>
#include <vector>

namespace fhist::space {

// Channel count after a width multiplier: rounded, at least 1.
std::int64_t scaled_channels(std::int64_t channels, double width_mult);
// Basic blocks of a stage whose depth multiplier is `depth_mult`: round(2 d), at least 1.
int scaled_blocks(double depth_mult);

// Multiply-accumulates of models::make_scaled_resnet's network (conv + linear, one image of in_channels x height x
// width), computed from the architecture without building it: cheap enough for a search-space constraint. Empty
// multiplier vectors mean all 1 (ResNet-18 exactly).
std::int64_t scaled_resnet_macs(const std::vector<double>& depth_mults, const std::vector<double>& width_mults,
                                std::int64_t in_channels, std::int64_t height, std::int64_t width,
                                std::int64_t num_classes, double width_mult = 1.0);

// The configuration parameters of the four stages: d2..d5 (depth) and w2..w5 (width) multipliers.
const std::vector<std::string>& resnet_scale_depth_params();
const std::vector<std::string>& resnet_scale_width_params();

}  // namespace fhist::space
