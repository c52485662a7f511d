#include "space/resnet_scale.hpp"

#include <algorithm>
#include <cmath>

namespace fhist::space {

std::int64_t scaled_channels(std::int64_t channels, double width_mult) {
  return std::max<std::int64_t>(1, std::llround(static_cast<double>(channels) * width_mult));
}

int scaled_blocks(double depth_mult) { return static_cast<int>(std::max<long long>(1, std::llround(2.0 * depth_mult))); }

std::int64_t scaled_resnet_macs(const std::vector<double>& depth_mults, const std::vector<double>& width_mults,
                                std::int64_t in_channels, std::int64_t height, std::int64_t width,
                                std::int64_t num_classes, double width_mult) {
  auto conv_out = [](std::int64_t n, std::int64_t stride) { return (n - 1) / stride + 1; };  // 3x3 pad 1 or 1x1 pad 0
  std::int64_t h = height, w = width, c = scaled_channels(64, width_mult);
  std::int64_t macs = in_channels * c * 9 * h * w;  // stem
  for (std::size_t s = 0; s < 4; ++s) {
    const double d = depth_mults.empty() ? 1.0 : depth_mults.at(s);
    const double m = width_mults.empty() ? 1.0 : width_mults.at(s);
    const std::int64_t blocks = scaled_blocks(d);
    const auto out = scaled_channels(64 << s, m * width_mult);
    const std::int64_t stride = s == 0 ? 1 : 2;
    h = conv_out(h, stride);
    w = conv_out(w, stride);
    macs += c * out * 9 * h * w + out * out * 9 * h * w;   // first block's two convs
    if (stride != 1 || c != out) macs += c * out * h * w;  // its 1x1 shortcut
    macs += (blocks - 1) * 2 * out * out * 9 * h * w;
    c = out;
  }
  return macs + c * num_classes;
}

const std::vector<std::string>& resnet_scale_depth_params() {
  static const std::vector<std::string> names = {"d2", "d3", "d4", "d5"};
  return names;
}

const std::vector<std::string>& resnet_scale_width_params() {
  static const std::vector<std::string> names = {"w2", "w3", "w4", "w5"};
  return names;
}

}  // namespace fhist::space
