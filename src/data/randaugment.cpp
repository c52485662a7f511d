#include "data/randaugment.hpp"

#include <fmt/format.h>

#include <array>
#include <cmath>

#include "core/errors.hpp"

namespace fhist::data {
namespace {

constexpr double kPi = 3.14159265358979323846;
double radians(double deg) { return deg * kPi / 180.0; }
double degrees(double rad) { return rad * 180.0 / kPi; }

void check_image(const torch::Tensor& image) {
  if (!image.defined() || image.dim() != 3 || image.scalar_type() != torch::kUInt8 ||
      (image.size(0) != 1 && image.size(0) != 3) || image.size(1) < 1 || image.size(2) < 1) {
    throw InputError(fmt::format("RandAugment needs a uint8 image [C, H, W] with C = 1 or 3, got {} {}",
                                 image.defined() ? c10::str(image.scalar_type()) : "undefined",
                                 image.defined() ? c10::str(image.sizes()) : ""));
  }
}

// torchvision's _get_inverse_affine_matrix (scale 1): maps output to input positions, both in pixel coordinates
// relative to the image centre; (cx, cy) is the transform's centre in the same coordinates.
std::array<double, 6> inverse_affine(double cx, double cy, double angle_deg, double tx, double ty, double shear_x_deg,
                                     double shear_y_deg) {
  const double rot = radians(angle_deg), sx = radians(shear_x_deg), sy = radians(shear_y_deg);
  const double a = std::cos(rot - sy) / std::cos(sy);
  const double b = -std::cos(rot - sy) * std::tan(sx) / std::cos(sy) - std::sin(rot);
  const double c = std::sin(rot - sy) / std::cos(sy);
  const double d = -std::sin(rot - sy) * std::tan(sx) / std::cos(sy) + std::cos(rot);
  std::array<double, 6> m{d, -b, 0.0, -c, a, 0.0};  // inverse of [[a, b], [c, d]], whose determinant is 1
  m[2] = m[0] * (-cx - tx) + m[1] * (-cy - ty) + cx;
  m[5] = m[3] * (-cx - tx) + m[4] * (-cy - ty) + cy;
  return m;
}

// Output pixel (i, j) takes the input pixel nearest to m applied to its centre, 0 where that falls outside: what
// grid_sample(nearest, zeros) does on torchvision's affine grid, but as an integer index map (exact, no float image).
torch::Tensor affine_nearest(const torch::Tensor& image, const std::array<double, 6>& m) {
  const auto c = image.size(0), h = image.size(1), w = image.size(2);
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  const auto xs = (torch::arange(w, f64) + (0.5 - 0.5 * w)).view({1, w});
  const auto ys = (torch::arange(h, f64) + (0.5 - 0.5 * h)).view({h, 1});
  // Round half to even, like grid_sample's nearbyint.
  const auto sx = torch::round(xs * m[0] + ys * m[1] + (m[2] + 0.5 * w - 0.5));
  const auto sy = torch::round(xs * m[3] + ys * m[4] + (m[5] + 0.5 * h - 0.5));
  const auto inside = (sx >= 0) & (sx <= w - 1) & (sy >= 0) & (sy <= h - 1);
  const auto idx = (sy.clamp(0, h - 1) * w + sx.clamp(0, w - 1)).to(torch::kInt64).view({-1});
  return image.reshape({c, h * w}).index_select(1, idx).view({c, h, w}).masked_fill_(inside.logical_not(), 0);
}

// ratio * a + (1 - ratio) * b in float, clamped, truncated back to uint8 (torchvision's _blend).
torch::Tensor blend(const torch::Tensor& a, const torch::Tensor& b, double ratio) {
  return (a.to(torch::kFloat32) * ratio + b.to(torch::kFloat32) * (1.0 - ratio)).clamp(0, 255).to(torch::kUInt8);
}

// ITU-R 601-2 luma, [1, H, W] uint8 (truncated, as torchvision's rgb_to_grayscale).
torch::Tensor grayscale(const torch::Tensor& rgb) {
  return (rgb[0] * 0.2989 + rgb[1] * 0.587 + rgb[2] * 0.114).to(torch::kUInt8).unsqueeze(0);
}

torch::Tensor adjust_contrast(const torch::Tensor& img, double factor) {
  const auto mean = (img.size(0) == 3 ? grayscale(img) : img).to(torch::kFloat32).mean();
  return blend(img, mean, factor);
}

torch::Tensor adjust_sharpness(const torch::Tensor& img, double factor) {
  const auto c = img.size(0), h = img.size(1), w = img.size(2);
  if (h <= 2 || w <= 2) return img;
  // PIL's SMOOTH kernel on the interior; the border keeps the original pixels.
  auto kernel = torch::ones({3, 3}, torch::kFloat32);
  kernel[1][1] = 5.0;
  kernel = (kernel / kernel.sum()).expand({c, 1, 3, 3});
  const std::vector<std::int64_t> ones{1, 1}, zeros{0, 0};  // spelled out: a literal 0 could mean padding "same"
  const auto smooth = torch::conv2d(img.to(torch::kFloat32).unsqueeze(0), kernel, {}, ones, zeros, ones, c).round();
  auto degenerate = img.clone();
  degenerate.slice(1, 1, h - 1).slice(2, 1, w - 1).copy_(smooth[0].to(torch::kUInt8));
  return blend(img, degenerate, factor);
}

torch::Tensor autocontrast(const torch::Tensor& img) {
  const auto f = img.to(torch::kFloat32);
  auto lo = f.amin({1, 2}, true);
  auto scale = 255.0 / (f.amax({1, 2}, true) - lo);
  const auto flat = torch::isfinite(scale).logical_not();  // constant channel: left as is
  lo = lo.masked_fill(flat, 0.0);
  scale = scale.masked_fill(flat, 1.0);
  return ((f - lo) * scale).clamp(0, 255).to(torch::kUInt8);
}

// PIL's ImageOps.equalize on one channel [H, W], as torchvision's _scale_channel.
torch::Tensor equalize_channel(const torch::Tensor& ch) {
  const auto values = ch.reshape({-1}).to(torch::kInt64);
  const auto hist = torch::bincount(values, {}, 256);
  const auto used = hist.masked_select(hist != 0);
  // The highest used level's count is left out of the step, as in PIL.
  const std::int64_t step = used.slice(0, 0, used.size(0) - 1).sum().item<std::int64_t>() / 255;
  if (step == 0) return ch;
  const auto lut = torch::div(hist.cumsum(0) + step / 2, step, "floor");
  const auto shifted = torch::cat({torch::zeros({1}, lut.options()), lut.slice(0, 0, 255)}).clamp(0, 255);
  return shifted.index_select(0, values).view_as(ch).to(torch::kUInt8);
}

torch::Tensor equalize(const torch::Tensor& img) {
  std::vector<torch::Tensor> channels;
  for (std::int64_t c = 0; c < img.size(0); ++c) channels.push_back(equalize_channel(img[c]));
  return torch::stack(channels);
}

// Applies `op` with its signed magnitude `v` (the unit randaugment_magnitude documents).
torch::Tensor apply_value(const torch::Tensor& img, RandAugmentOp op, double v) {
  const double h = static_cast<double>(img.size(1)), w = static_cast<double>(img.size(2));
  switch (op) {
    case RandAugmentOp::kIdentity:
      return img;
    // Shears are about the top-left corner (torchvision's center=[0, 0], matching the original TF implementation).
    case RandAugmentOp::kShearX:
      return affine_nearest(img, inverse_affine(-0.5 * w, -0.5 * h, 0.0, 0.0, 0.0, degrees(std::atan(v)), 0.0));
    case RandAugmentOp::kShearY:
      return affine_nearest(img, inverse_affine(-0.5 * w, -0.5 * h, 0.0, 0.0, 0.0, 0.0, degrees(std::atan(v))));
    // Whole pixels, truncated toward zero like Python's int().
    case RandAugmentOp::kTranslateX:
      return affine_nearest(img, inverse_affine(0.0, 0.0, 0.0, std::trunc(v), 0.0, 0.0, 0.0));
    case RandAugmentOp::kTranslateY:
      return affine_nearest(img, inverse_affine(0.0, 0.0, 0.0, 0.0, std::trunc(v), 0.0, 0.0));
    case RandAugmentOp::kRotate:
      return rotate_nearest(img, v);
    case RandAugmentOp::kBrightness:
      return blend(img, torch::zeros_like(img), 1.0 + v);
    case RandAugmentOp::kColor:  // saturation: blend with the luma image; a grey image has nothing to desaturate
      return img.size(0) == 1 ? img : blend(img, grayscale(img), 1.0 + v);
    case RandAugmentOp::kContrast:
      return adjust_contrast(img, 1.0 + v);
    case RandAugmentOp::kSharpness:
      return adjust_sharpness(img, 1.0 + v);
    case RandAugmentOp::kPosterize: {
      const int bits = static_cast<int>(v);
      return img.bitwise_and(static_cast<std::int64_t>((0xFF << (8 - bits)) & 0xFF));
    }
    case RandAugmentOp::kSolarize:  // pixels at or above the threshold are inverted
      return torch::where(img >= v, img.bitwise_not(), img);
    case RandAugmentOp::kAutoContrast:
      return autocontrast(img);
    case RandAugmentOp::kEqualize:
      return equalize(img);
  }
  throw InputError(fmt::format("unknown RandAugment op {}", static_cast<int>(op)));
}

}  // namespace

std::vector<std::string> randaugment_op_names() {
  return {"Identity",   "ShearX",    "ShearY",    "TranslateX", "TranslateY", "Rotate",       "Brightness",
          "Color",      "Contrast",  "Sharpness", "Posterize",  "Solarize",   "AutoContrast", "Equalize"};
}

bool randaugment_op_signed(RandAugmentOp op) {
  return op != RandAugmentOp::kIdentity && op != RandAugmentOp::kPosterize && op != RandAugmentOp::kSolarize &&
         op != RandAugmentOp::kAutoContrast && op != RandAugmentOp::kEqualize;
}

double randaugment_magnitude(RandAugmentOp op, int bin, int num_bins, std::int64_t height, std::int64_t width) {
  if (num_bins < 2) throw InputError(fmt::format("RandAugment needs at least 2 magnitude bins, got {}", num_bins));
  if (bin < 0 || bin >= num_bins) {
    throw InputError(fmt::format("RandAugment M (magnitude bin) must be in [0, {}], got {}", num_bins - 1, bin));
  }
  // torch::linspace in float32, so bin values (and truncated translations) match torchvision's exactly.
  const auto lin = [&](double a, double b) { return torch::linspace(a, b, num_bins)[bin].item<double>(); };
  switch (op) {
    case RandAugmentOp::kShearX:
    case RandAugmentOp::kShearY:
      return lin(0.0, 0.3);
    case RandAugmentOp::kTranslateX:
      return lin(0.0, 150.0 / 331.0 * static_cast<double>(width));
    case RandAugmentOp::kTranslateY:
      return lin(0.0, 150.0 / 331.0 * static_cast<double>(height));
    case RandAugmentOp::kRotate:
      return lin(0.0, 30.0);
    case RandAugmentOp::kBrightness:
    case RandAugmentOp::kColor:
    case RandAugmentOp::kContrast:
    case RandAugmentOp::kSharpness:
      return lin(0.0, 0.9);
    case RandAugmentOp::kPosterize:  // 8 bits at bin 0 down to 4 at the last bin, rounded half to even
      return 8.0 - std::nearbyint(static_cast<float>(bin) / (static_cast<float>(num_bins - 1) / 4.0f));
    case RandAugmentOp::kSolarize:
      return lin(255.0, 0.0);
    default:
      return 0.0;
  }
}

torch::Tensor apply_op(const torch::Tensor& image, RandAugmentOp op, int magnitude, bool negate, int num_bins) {
  check_image(image);
  double v = randaugment_magnitude(op, magnitude, num_bins, image.size(1), image.size(2));
  if (negate && randaugment_op_signed(op)) v = -v;
  return apply_value(image, op, v);
}

torch::Tensor rotate_nearest(const torch::Tensor& image, double degrees) {
  check_image(image);
  // torchvision's affine angle is clockwise; rotate passes -angle for a counter-clockwise turn.
  return affine_nearest(image, inverse_affine(0.0, 0.0, -degrees, 0.0, 0.0, 0.0, 0.0));
}

torch::Tensor rand_augment(const torch::Tensor& image, const RandAugmentOptions& o, std::mt19937_64& rng) {
  o.validate();
  check_image(image);
  std::uniform_int_distribution<int> pick(0, kNumRandAugmentOps - 1);
  std::bernoulli_distribution coin(0.5);
  auto out = image;
  for (int i = 0; i < o.num_ops; ++i) {
    const auto op = static_cast<RandAugmentOp>(pick(rng));
    const bool negate = randaugment_op_signed(op) && coin(rng);  // sign drawn only for signed ops, as torchvision
    out = apply_op(out, op, o.magnitude, negate, o.num_bins);
  }
  return out;
}

}  // namespace fhist::data
