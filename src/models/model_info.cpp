#include "models/model_info.hpp"

#include <fmt/format.h>

#include <cmath>
#include <sstream>

#include "core/errors.hpp"
#include "models/macs.hpp"

namespace fhist::models {
namespace {

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, sep)) parts.push_back(part);
  if (!text.empty() && text.back() == sep) parts.emplace_back();  // "3x32x" has an empty last size
  return parts;
}

}  // namespace

ModelInfo describe_model(Classifier& model, const std::vector<std::int64_t>& input_shape) {
  return {count_parameters(model), count_macs(model, input_shape), model.feature_dim()};
}

std::vector<std::int64_t> parse_input_shape(const std::string& text, const std::string& flag) {
  const auto parts = split(text, 'x');
  std::vector<std::int64_t> shape;
  for (const auto& p : parts) {
    const bool digits = !p.empty() && p.size() <= 9 && p.find_first_not_of("0123456789") == std::string::npos;
    if (!digits || std::stoll(p) < 1) break;
    shape.push_back(std::stoll(p));
  }
  if (parts.size() != 3 || shape.size() != 3) {
    throw InputError(fmt::format("{} must be CxHxW with positive integer sizes, e.g. 3x32x32 (got '{}')", flag, text));
  }
  return shape;
}

std::vector<double> parse_stage_mults(const std::string& text, const std::string& flag) {
  std::vector<double> mults;
  for (const auto& p : split(text, ',')) {
    std::size_t used = 0;
    double v = 0.0;
    try {
      v = std::stod(p, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != p.size() || !std::isfinite(v) || v <= 0.0) {
      throw InputError(
          fmt::format("{} must be 4 positive numbers separated by commas, one per stage C2..C5 (got '{}')", flag, text));
    }
    mults.push_back(v);
  }
  if (mults.size() != 4) {
    throw InputError(fmt::format("{} must be 4 positive numbers, one per stage C2..C5 (got '{}')", flag, text));
  }
  return mults;
}

std::string with_thousands(std::int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  for (auto i = static_cast<std::ptrdiff_t>(digits.size()) - 3; i > 0; i -= 3) {
    digits.insert(static_cast<std::size_t>(i), ",");
  }
  return n < 0 ? "-" + digits : digits;
}

}  // namespace fhist::models
