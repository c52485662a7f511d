#include "data/augment.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <sstream>
#include <vector>

#include "core/errors.hpp"
#include "data/randaugment.hpp"

namespace fhist::data {

void check_augment(const Dataset& ds, const AugmentOptions& aug) {
  const bool any = aug.flip || aug.crop_padding > 0 || aug.cutout > 0 || aug.randaugment_n > 0;
  if (ds.tabular && any) {
    throw InputError(fmt::format("{} is a table of numbers: image augmentation (--augment, ra_n) does not apply; use "
                                 "--augment none",
                                 ds.name));
  }
  if (aug.randaugment_n > 0 && ds.images.dtype() != torch::kUInt8) {
    throw InputError(fmt::format("RandAugment works on 8-bit images, and {} holds float arrays: save x as uint8 "
                                 "(0..255) or leave ra_n out",
                                 ds.name));
  }
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
  // uint8 images are on the 0..255 scale; a user's float arrays are taken as they are (mean / std match either).
  auto x = raw.dtype() == torch::kUInt8 ? raw.to(torch::kFloat32).div_(255.0) : raw.to(torch::kFloat32);
  const auto b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  const auto dev = x.device();
  if (aug != nullptr && rng != nullptr && (aug->crop_padding > 0 || aug->flip || aug->cutout > 0)) {
    // All draws first, in the order of the per-image loops this replaced (crop dy, dx per image; the flip coins;
    // Cutout y, x per image), so a seed gives the same batch as before. They go to the device in one copy, and each
    // op is a few whole-batch kernels rather than one tiny kernel per image.
    // Layout of `draws`: [dy(b), dx(b)] if crop, [y0(b), y1(b), x0(b), x1(b)] if Cutout, then the flipped rows.
    std::vector<std::int64_t> draws;
    std::vector<std::int64_t> flip_rows;
    const int p = aug->crop_padding;
    if (p > 0) {
      draws.resize(static_cast<std::size_t>(2 * b));
      std::uniform_int_distribution<int> off(0, 2 * p);
      for (std::int64_t i = 0; i < b; ++i) {
        draws[static_cast<std::size_t>(i)] = off(*rng);
        draws[static_cast<std::size_t>(b + i)] = off(*rng);
      }
    }
    if (aug->flip) {
      std::bernoulli_distribution coin(0.5);
      for (std::int64_t i = 0; i < b; ++i) {
        if (coin(*rng)) flip_rows.push_back(i);
      }
    }
    const std::int64_t cut_at = static_cast<std::int64_t>(draws.size());
    if (aug->cutout > 0) {
      // Centre anywhere in the image, square clipped at the borders (as in the reference implementation); a square
      // clipped to nothing (y1 <= y0 or x1 <= x0) gives an empty mask.
      draws.resize(draws.size() + static_cast<std::size_t>(4 * b));
      std::uniform_int_distribution<std::int64_t> cy(0, h - 1), cx(0, w - 1);
      const std::int64_t half = aug->cutout / 2;
      for (std::int64_t i = 0; i < b; ++i) {
        const auto y = cy(*rng), xc = cx(*rng);
        auto* cut = draws.data() + cut_at;
        cut[i] = std::clamp<std::int64_t>(y - half, 0, h);
        cut[b + i] = std::clamp<std::int64_t>(y + half, 0, h);
        cut[2 * b + i] = std::clamp<std::int64_t>(xc - half, 0, w);
        cut[3 * b + i] = std::clamp<std::int64_t>(xc + half, 0, w);
      }
    }
    const std::int64_t flip_at = static_cast<std::int64_t>(draws.size());
    draws.insert(draws.end(), flip_rows.begin(), flip_rows.end());
    const auto d = torch::tensor(draws, torch::kInt64).to(dev);  // the one host-to-device copy

    const auto idx_opts = torch::TensorOptions().dtype(torch::kInt64).device(dev);
    if (p > 0) {
      // Pad once, then one gather over the flattened padded plane: out[i, :, r, s] = padded[i, :, dy_i + r, dx_i + s].
      const auto pw = w + 2 * p;
      auto padded = torch::constant_pad_nd(x, {p, p, p, p}, 0.0).reshape({b, c, -1});
      const auto rows = d.narrow(0, 0, b).view({b, 1, 1}) + torch::arange(h, idx_opts).view({1, h, 1});
      const auto cols = d.narrow(0, b, b).view({b, 1, 1}) + torch::arange(w, idx_opts).view({1, 1, w});
      const auto flat = (rows * pw + cols).view({b, 1, h * w}).expand({b, c, h * w});
      x = padded.gather(2, flat).view({b, c, h, w});
    }
    if (!flip_rows.empty()) {
      const auto rows = d.narrow(0, flip_at, static_cast<std::int64_t>(flip_rows.size()));
      x.index_copy_(0, rows, x.index_select(0, rows).flip({3}));
    }
    if (aug->cutout > 0) {
      const auto box = d.narrow(0, cut_at, 4 * b).view({4, b, 1, 1, 1});
      const auto ys = torch::arange(h, idx_opts).view({1, 1, h, 1});
      const auto xs = torch::arange(w, idx_opts).view({1, 1, 1, w});
      const auto in_rows = ys.ge(box[0]).logical_and_(ys.lt(box[1]));  // [B, 1, H, 1]
      const auto in_cols = xs.ge(box[2]).logical_and_(xs.lt(box[3]));  // [B, 1, 1, W]
      // The square takes the dataset's mean colour, which normalizes to 0 (DeVries & Taylor cut out of the
      // normalized image), not black, which would be a strong dark feature the network never sees otherwise.
      const auto mean = torch::tensor(ds.mean, torch::kFloat32).to(dev).view({1, -1, 1, 1});
      x = torch::where(in_rows.logical_and(in_cols), mean, x);         // mask [B, 1, H, W], broadcast over channels
    }
  }
  // Mean and std in one tensor, one copy to the data's device.
  std::vector<float> norm(ds.mean);
  norm.insert(norm.end(), ds.std.begin(), ds.std.end());
  const auto ms = torch::tensor(norm, torch::kFloat32).to(dev);
  const auto nm = static_cast<std::int64_t>(ds.mean.size()), ns = static_cast<std::int64_t>(ds.std.size());
  x = (x - ms.narrow(0, 0, nm).view({1, -1, 1, 1})) / ms.narrow(0, nm, ns).view({1, -1, 1, 1});
  return x.to(device);
}

}  // namespace fhist::data
