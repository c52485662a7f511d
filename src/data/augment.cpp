#include "data/augment.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <sstream>

#include "core/errors.hpp"
#include "data/randaugment.hpp"

namespace fhist::data {

AugmentOptions AugmentOptions::parse(const std::string& text) {
  AugmentOptions o;
  o.flip = false;
  o.crop_padding = 0;
  o.cutout = 0;
  if (text == "none" || text.empty()) return o;
  std::stringstream ss(text);
  std::string tok;
  while (std::getline(ss, tok, ',')) {
    if (tok.rfind("randaug", 0) == 0) {
      // randaugN-M
      const std::string spec = tok.substr(7);
      const auto dash = spec.find('-');
      try {
        if (dash == std::string::npos) throw std::invalid_argument("");
        std::size_t used_n = 0, used_m = 0;
        o.randaugment_n = std::stoi(spec.substr(0, dash), &used_n);
        o.randaugment_m = std::stoi(spec.substr(dash + 1), &used_m);
        if (used_n != dash || used_m != spec.size() - dash - 1) throw std::invalid_argument("");
      } catch (const std::exception&) {
        throw InputError(fmt::format("--augment '{}': bad token '{}' (expected randaugN-M, e.g. randaug2-9)", text,
                                     tok));
      }
      RandAugmentOptions ra;
      ra.num_ops = o.randaugment_n;
      ra.magnitude = o.randaugment_m;
      ra.validate();
    } else if (tok == "flip") {
      o.flip = true;
    } else if (tok == "crop") {
      o.crop_padding = 4;
    } else if (tok.rfind("crop", 0) == 0 || tok.rfind("cutout", 0) == 0) {
      const bool crop = tok.rfind("crop", 0) == 0;
      const std::string num = tok.substr(crop ? 4 : 6);
      int v = 0;
      try {
        std::size_t used = 0;
        v = std::stoi(num, &used);
        if (used != num.size() || v <= 0) throw std::invalid_argument("");
      } catch (const std::exception&) {
        throw InputError(fmt::format("--augment '{}': bad token '{}' (expected e.g. crop4 or cutout16)", text, tok));
      }
      (crop ? o.crop_padding : o.cutout) = v;
    } else {
      throw InputError(fmt::format("--augment '{}': unknown token '{}' (expected flip, crop[N], cutout[N] or none)",
                                   text, tok));
    }
  }
  return o;
}

std::string AugmentOptions::to_string() const {
  std::string s;
  auto add = [&](const std::string& t) { s += (s.empty() ? "" : ",") + t; };
  if (crop_padding > 0) add(fmt::format("crop{}", crop_padding));
  if (flip) add("flip");
  if (cutout > 0) add(fmt::format("cutout{}", cutout));
  if (randaugment_n > 0) s = fmt::format("randaug{}-{}", randaugment_n, randaugment_m) + (s.empty() ? "" : "," + s);
  return s.empty() ? "none" : s;
}

torch::Tensor make_batch(const Dataset& ds, const torch::Tensor& indices, const AugmentOptions* aug,
                         std::mt19937_64* rng, const torch::Device& device) {
  // The dataset may live on the GPU (--data-on-device): gather there, augment there.
  auto raw = ds.images.index_select(0, indices.to(ds.images.device()));
  if (aug != nullptr && rng != nullptr && aug->randaugment_n > 0) {
    // RandAugment works on uint8 images, one at a time (on the CPU), before pad-and-crop / flip / Cutout.
    raw = raw.cpu();
    RandAugmentOptions ra;
    ra.num_ops = aug->randaugment_n;
    ra.magnitude = aug->randaugment_m;
    for (std::int64_t i = 0; i < raw.size(0); ++i) raw[i].copy_(rand_augment(raw[i], ra, *rng));
  }
  auto x = raw.to(torch::kFloat32).div_(255.0);
  const auto b = x.size(0), h = x.size(2), w = x.size(3);
  if (aug != nullptr && rng != nullptr) {
    if (aug->crop_padding > 0) {
      const int p = aug->crop_padding;
      auto padded = torch::constant_pad_nd(x, {p, p, p, p}, 0.0);
      auto out = torch::empty_like(x);
      std::uniform_int_distribution<int> off(0, 2 * p);
      for (std::int64_t i = 0; i < b; ++i) {
        const int dy = off(*rng), dx = off(*rng);
        out[i].copy_(padded[i].narrow(1, dy, h).narrow(2, dx, w));
      }
      x = out;
    }
    if (aug->flip) {
      std::bernoulli_distribution coin(0.5);
      std::vector<std::int64_t> flip_rows;
      for (std::int64_t i = 0; i < b; ++i) {
        if (coin(*rng)) flip_rows.push_back(i);
      }
      if (!flip_rows.empty()) {
        auto rows = torch::tensor(flip_rows, torch::kInt64).to(x.device());
        x.index_copy_(0, rows, x.index_select(0, rows).flip({3}));
      }
    }
    if (aug->cutout > 0) {
      // Centre anywhere in the image, square clipped at the borders (as in the reference implementation).
      std::uniform_int_distribution<std::int64_t> cy(0, h - 1), cx(0, w - 1);
      const std::int64_t half = aug->cutout / 2;
      for (std::int64_t i = 0; i < b; ++i) {
        const auto y = cy(*rng), xc = cx(*rng);
        const auto y0 = std::clamp<std::int64_t>(y - half, 0, h), y1 = std::clamp<std::int64_t>(y + half, 0, h);
        const auto x0 = std::clamp<std::int64_t>(xc - half, 0, w), x1 = std::clamp<std::int64_t>(xc + half, 0, w);
        if (y1 <= y0 || x1 <= x0) continue;
        x[i].narrow(1, y0, y1 - y0).narrow(2, x0, x1 - x0).zero_();
      }
    }
  }
  auto mean = torch::tensor(ds.mean).view({1, -1, 1, 1}).to(x.device());
  auto stdv = torch::tensor(ds.std).view({1, -1, 1, 1}).to(x.device());
  x = (x - mean) / stdv;
  return x.to(device);
}

}  // namespace fhist::data
