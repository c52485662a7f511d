#include <fmt/format.h>

#include <cmath>

#include "core/errors.hpp"
#include "models/model.hpp"
#include "models/resnet.hpp"
#include "models/simple_cnn.hpp"

namespace fhist::models {

std::vector<std::string> model_names() { return {"resnet18", "resnet34", "cnn"}; }

std::int64_t scaled_channels(std::int64_t channels, double width_mult) {
  return std::max<std::int64_t>(1, std::llround(static_cast<double>(channels) * width_mult));
}

ClassifierPtr make_model(const ModelSpec& spec) {
  if (!(spec.width_mult > 0.0) || spec.width_mult > 16.0) {
    throw InputError(fmt::format("--width-mult must be in (0, 16] (got {})", spec.width_mult));
  }
  if (spec.num_classes < 2) throw InputError(fmt::format("a classifier needs >= 2 classes (got {})", spec.num_classes));
  if (spec.in_channels < 1) throw InputError(fmt::format("input channels must be >= 1 (got {})", spec.in_channels));
  if (spec.name == "resnet18") {
    return std::make_shared<ResNet>(std::vector<int>{2, 2, 2, 2}, spec.width_mult, spec.in_channels, spec.num_classes);
  }
  if (spec.name == "resnet34") {
    return std::make_shared<ResNet>(std::vector<int>{3, 4, 6, 3}, spec.width_mult, spec.in_channels, spec.num_classes);
  }
  if (spec.name == "cnn") return std::make_shared<SimpleCnn>(spec.width_mult, spec.in_channels, spec.num_classes);
  throw InputError(fmt::format("--model '{}': unknown model (expected one of resnet18, resnet34, cnn)", spec.name));
}

std::int64_t count_parameters(const torch::nn::Module& m) {
  std::int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

}  // namespace fhist::models
