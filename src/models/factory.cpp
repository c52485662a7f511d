#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <sstream>

#include "core/errors.hpp"
#include "models/mlp.hpp"
#include "models/mobilenetv2.hpp"
#include "models/model.hpp"
#include "models/resnet.hpp"
#include "models/simple_cnn.hpp"
#include "space/catalog.hpp"
#include "models/vgg.hpp"

namespace fhist::models {
namespace {

void check_stage_mults(const std::vector<double>& mults, const char* flag, double max) {
  if (mults.empty()) return;
  if (mults.size() != 4) {
    throw InputError(fmt::format("{} needs 4 values, one per stage C2..C5 (got {})", flag, mults.size()));
  }
  for (double m : mults) {
    if (!(m > 0.0) || m > max) throw InputError(fmt::format("{} values must be in (0, {}] (got {})", flag, max, m));
  }
}

}  // namespace

std::vector<std::string> model_names() {
  auto names = space::network_names();
  names.erase(std::remove_if(names.begin(), names.end(), [](const auto& n) { return n == "nb201" || n == "darts"; }),
              names.end());
  return names;
}

ClassifierPtr make_model(const ModelSpec& spec) {
  if (!(spec.width_mult > 0.0) || spec.width_mult > 16.0) {
    throw InputError(fmt::format("--width-mult must be in (0, 16] (got {})", spec.width_mult));
  }
  if (spec.num_classes < 2) throw InputError(fmt::format("a classifier needs >= 2 classes (got {})", spec.num_classes));
  if (spec.in_channels < 1) throw InputError(fmt::format("input channels must be >= 1 (got {})", spec.in_channels));
  if (spec.name != "resnet-scale" && (!spec.depth_mults.empty() || !spec.width_mults.empty())) {
    throw InputError(fmt::format("--depth-mult/--stage-width-mult apply to resnet-scale only (model '{}')", spec.name));
  }
  const double w = spec.width_mult;
  if (spec.name == "resnet18") {
    return std::make_shared<ResNet>(std::vector<int>{2, 2, 2, 2}, w, spec.in_channels, spec.num_classes);
  }
  if (spec.name == "resnet34") {
    return std::make_shared<ResNet>(std::vector<int>{3, 4, 6, 3}, w, spec.in_channels, spec.num_classes);
  }
  if (spec.name == "resnet50") {
    std::vector<std::int64_t> widths;
    for (int s = 0; s < 4; ++s) widths.push_back(scaled_channels(64 << s, w));
    return std::make_shared<ResNet>(std::vector<int>{3, 4, 6, 3}, widths, scaled_channels(64, w), true,
                                    spec.in_channels, spec.num_classes);
  }
  if (spec.name == "resnet-scale") {
    check_stage_mults(spec.depth_mults, "--depth-mult", 8.0);
    check_stage_mults(spec.width_mults, "--stage-width-mult", 16.0);
    return make_scaled_resnet(spec.depth_mults, spec.width_mults, w, spec.in_channels, spec.num_classes);
  }
  if (spec.name == "vgg16") return std::make_shared<Vgg16>(w, spec.in_channels, spec.num_classes);
  if (spec.name == "mobilenetv2") return std::make_shared<MobileNetV2>(w, spec.in_channels, spec.num_classes);
  if (spec.name == "cnn") return std::make_shared<SimpleCnn>(w, spec.in_channels, spec.num_classes);
  if (spec.name == "mlp") {
    if (spec.depth < 1 || spec.depth > 64) throw InputError(fmt::format("mlp: depth must be in 1..64 (got {})", spec.depth));
    if (spec.width < 1 || spec.width > 65536) {
      throw InputError(fmt::format("mlp: width must be in 1..65536 (got {})", spec.width));
    }
    if (!(spec.dropout >= 0.0 && spec.dropout < 1.0)) {
      throw InputError(fmt::format("mlp: dropout must be in [0, 1) (got {})", spec.dropout));
    }
    return std::make_shared<Mlp>(spec.in_features > 0 ? spec.in_features : spec.in_channels, spec.depth, spec.width,
                                 spec.dropout, spec.num_classes);
  }
  std::string known;
  for (const auto& n : model_names()) known += (known.empty() ? "" : ", ") + n;
  throw InputError(fmt::format("--model '{}': unknown model (expected one of {})", spec.name, known));
}

std::string Classifier::architecture() const {
  // Names and shapes of every parameter and buffer: fhist's own names, so the same under every LibTorch version
  // (the printed module tree is not).
  std::ostringstream layout;
  for (const auto& p : named_parameters()) layout << p.key() << p.value().sizes() << ';';
  for (const auto& b : named_buffers()) layout << b.key() << b.value().sizes() << ';';
  // 64-bit FNV-1a: a digest to compare, not a hash to trust.
  std::uint64_t h = 14695981039346656037ULL;
  for (const unsigned char c : layout.str()) h = (h ^ c) * 1099511628211ULL;
  return fmt::format("{} parameters and buffers {:016x}", named_parameters().size(), h);
}

std::int64_t count_parameters(const torch::nn::Module& m) {
  std::int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

}  // namespace fhist::models
