// Image folders in torchvision's ImageFolder layout (DIR/CLASS/IMAGE, or DIR/train|val|test/CLASS/IMAGE), decoded
// once into a memory-mapped cache: every trial of a search after the first maps the pixels instead of decoding them.
// Scanning, decoding and resizing are here; the cache itself is in folder_cache.cpp.
#include <fmt/format.h>
#include <stb/stb_image.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/errors.hpp"
#include "input/folder_cache.hpp"
#include "input/input.hpp"

namespace fhist::input {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using detail::align_up;
using detail::Block;
using detail::cache_folders;
using detail::cache_key;
using detail::File;
using detail::from_meta;
using detail::read_cache;
using detail::split_named;
using detail::SplitFiles;
using detail::write_cache;

// Decoding or resizing changes must bump kCacheVersion in folder_cache.cpp, so that older caches miss.
constexpr std::size_t kMaxSkipNotes = 20;

struct Entry {
  std::string name;
  bool dir = false;
};

// Visible entries, sorted byte-wise; names starting with '.' (.DS_Store, .fhist-cache) do not exist for us.
std::vector<Entry> list_visible(const fs::path& folder) {
  std::vector<Entry> out;
  std::error_code ec;
  for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    std::error_code ec_dir;
    out.push_back({std::move(name), it->is_directory(ec_dir)});
  }
  if (ec) throw InputError(fmt::format("{}: cannot read folder ({})", folder.string(), ec.message()));
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) { return a.name < b.name; });
  return out;
}

// Every visible non-folder below a class folder, relative to it; subfolders count, as in torchvision.
std::vector<std::string> files_below(const fs::path& folder) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::error_code ec_dir;
    const bool dir = it->is_directory(ec_dir);
    if (!name.empty() && name[0] == '.') {
      if (dir) it.disable_recursion_pending();
      continue;
    }
    if (!dir) out.push_back(it->path().lexically_relative(folder).generic_string());
  }
  if (ec) throw InputError(fmt::format("{}: cannot read folder ({})", folder.string(), ec.message()));
  std::sort(out.begin(), out.end());
  return out;
}

bool is_image_name(const std::string& rel) {
  std::string ext = fs::path(rel).extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp" || ext == ".gif";
}

std::vector<SplitFiles> discover(const fs::path& root, std::vector<std::string>& classes,
                                 std::vector<std::string>& notes) {
  std::error_code ec;
  if (!fs::exists(root, ec)) throw InputError(fmt::format("{}: no such folder", root.string()));
  if (!fs::is_directory(root, ec)) {
    throw InputError(
        fmt::format("{}: not a folder; folder: expects a folder with one subfolder per class", root.string()));
  }
  std::vector<SplitFiles> splits{{"train", "", {}, {}}};
  if (fs::is_directory(root / "train", ec)) {
    splits.clear();
    for (const Entry& e : list_visible(root)) {
      if (!e.dir || (e.name != "train" && e.name != "val" && e.name != "test")) {
        notes.push_back(fmt::format("ignored {} (only train, val and test are read next to train/)", e.name));
      }
    }
    for (const std::string name : {"train", "val", "test"}) {
      if (fs::is_directory(root / name, ec)) splits.push_back({name, name + "/", {}, {}});
    }
  }
  for (SplitFiles& s : splits) {
    for (const Entry& e : list_visible(root / s.prefix)) {
      if (e.dir) {
        s.class_dirs.push_back(e.name);
      } else {
        notes.push_back(fmt::format("ignored {}{} (not in a class folder)", s.prefix, e.name));
      }
    }
    const std::string where = (s.prefix.empty() ? root : root / s.name).string();
    if (s.class_dirs.empty()) {
      throw InputError(
          fmt::format("{}: no class folders; expected one subfolder per class (DIR/CLASS/IMAGE.png), "
                      "or DIR/train/CLASS/IMAGE.png with optional DIR/val and DIR/test",
                      where));
    }
    if (s.name == "train") {
      classes = s.class_dirs;
      if (classes.size() < 2) {
        throw InputError(
            fmt::format("{}: found only the class folder '{}'; an image folder needs at least two class "
                        "folders, one per class",
                        where, classes[0]));
      }
    }
    for (const std::string& c : s.class_dirs) {
      const auto at = std::lower_bound(classes.begin(), classes.end(), c);
      if (at == classes.end() || *at != c) {
        throw InputError(fmt::format("{}: class '{}' has no folder in {}; rename or remove it",
                                     (root / s.prefix / c).string(), c, (root / "train").string()));
      }
      for (std::string& f : files_below(root / s.prefix / c)) {
        s.files.push_back({s.prefix + c + "/" + f, at - classes.begin()});
      }
    }
  }
  return splits;
}

using Pixels = std::unique_ptr<unsigned char, void (*)(void*)>;

Pixels load_pixels(const std::string& path, int& w, int& h, int& n, int want) {
  return Pixels(stbi_load(path.c_str(), &w, &h, &n, want), stbi_image_free);
}

std::string stb_reason() {
  const char* why = stbi_failure_reason();
  return why != nullptr ? why : "unknown error";
}

// stbi_info reports 3 or 4 channels for every BMP and GIF and for palette PNGs, gray or not, so a count of 3 or 4
// is settled by the pixels (any R != G or G != B). Empty optional: the file does not decode.
std::optional<bool> has_colour(const std::string& path) {
  int w = 0, h = 0, n = 0;
  const Pixels px = load_pixels(path, w, h, n, 3);
  if (!px) return std::nullopt;
  const unsigned char* p = px.get();
  for (std::size_t i = 0, end = std::size_t(w) * std::size_t(h) * 3; i < end; i += 3) {
    if (p[i] != p[i + 1] || p[i + 1] != p[i + 2]) return true;
  }
  return false;
}

// C planes of h*w bytes. Alpha is dropped; luminance is 0.299R + 0.587G + 0.114B rounded, in exact integers.
void to_planes(const unsigned char* px, int w, int h, int n, int c, unsigned char* out) {
  const std::size_t area = std::size_t(w) * std::size_t(h);
  for (std::size_t i = 0; i < area; ++i) {
    const unsigned char* p = px + i * std::size_t(n);
    if (n < 3) {
      for (int ch = 0; ch < c; ++ch) out[std::size_t(ch) * area + i] = p[0];
    } else if (c == 3) {
      out[i] = p[0], out[area + i] = p[1], out[2 * area + i] = p[2];
    } else {
      out[i] = static_cast<unsigned char>((299u * p[0] + 587u * p[1] + 114u * p[2] + 500u) / 1000u);
    }
  }
}

// Bilinear with half-pixel centres (OpenCV INTER_LINEAR, PyTorch align_corners=False): destination pixel x samples
// the source at (x + 0.5) * src / dst - 0.5, clamped to the edges.
void resize_plane(const unsigned char* src, int sw, int sh, unsigned char* dst, int dw, int dh) {
  struct Tap {
    std::size_t i0, i1;
    double t;
  };
  auto taps = [](int s, int d) {
    std::vector<Tap> v(static_cast<std::size_t>(d));
    for (int x = 0; x < d; ++x) {
      const double p = std::max(0.0, (x + 0.5) * s / d - 0.5);
      const int i0 = std::min(static_cast<int>(p), s - 1);
      v[std::size_t(x)] = {std::size_t(i0), std::size_t(std::min(i0 + 1, s - 1)), p - i0};
    }
    return v;
  };
  const auto xs = taps(sw, dw), ys = taps(sh, dh);
  for (const Tap& y : ys) {
    const unsigned char* r0 = src + y.i0 * std::size_t(sw);
    const unsigned char* r1 = src + y.i1 * std::size_t(sw);
    for (const Tap& x : xs) {
      const double top = r0[x.i0] + (r0[x.i1] - r0[x.i0]) * x.t;
      const double bottom = r1[x.i0] + (r1[x.i1] - r1[x.i0]) * x.t;
      *dst++ = static_cast<unsigned char>(std::lround(top + (bottom - top) * y.t));
    }
  }
}

// Every class folder present in a split needs a usable image: a class without examples can be neither learned nor
// scored, and skip_bad_images must not hide that.
void require_images(const fs::path& root, const std::vector<SplitFiles>& splits,
                    const std::vector<std::string>& classes) {
  for (const SplitFiles& s : splits) {
    std::vector<std::int64_t> usable(classes.size()), seen(classes.size());
    for (const File& f : s.files) ++seen[std::size_t(f.label)], usable[std::size_t(f.label)] += f.usable;
    for (const std::string& c : s.class_dirs) {
      const auto label = std::size_t(std::lower_bound(classes.begin(), classes.end(), c) - classes.begin());
      if (usable[label] > 0) continue;
      throw InputError(fmt::format("{}: class folder has no images{}; add images or remove the folder",
                                   (root / s.prefix / c).string(),
                                   seen[label] > 0 ? fmt::format(" ({} files, none usable)", seen[label]) : ""));
    }
  }
}

// The most common (H, W) among the usable images; a tie goes to the smaller area, then to the smaller height (the
// map's order). Refused when it covers less than half of them: resizing most images to a rare size is a guess.
std::pair<int, int> common_size(const fs::path& root, const std::vector<SplitFiles>& splits) {
  std::map<std::pair<int, int>, std::int64_t> count;
  std::int64_t total = 0;
  for (const SplitFiles& s : splits) {
    for (const File& f : s.files) {
      if (f.usable) ++count[{f.h, f.w}], ++total;
    }
  }
  auto area = [](const std::pair<int, int>& hw) { return std::int64_t(hw.first) * hw.second; };
  auto best = count.begin();
  for (auto it = count.begin(); it != count.end(); ++it) {
    if (it->second > best->second || (it->second == best->second && area(it->first) < area(best->first))) best = it;
  }
  if (best->second * 2 >= total) return best->first;
  const File *a = nullptr, *b = nullptr;  // the first of the common size and the first of another
  for (const SplitFiles& s : splits) {
    for (const File& f : s.files) {
      const File*& slot = std::make_pair(f.h, f.w) == best->first ? a : b;
      if (f.usable && slot == nullptr) slot = &f;
    }
  }
  throw InputError(
      fmt::format("{}: the images differ in size and no size is shared by half of them ({} is {}x{}, {} is "
                  "{}x{}); pass --image-size HxW to resize all of them to one size",
                  root.string(), (root / a->rel).string(), a->h, a->w, (root / b->rel).string(), b->h, b->w));
}

// Decodes every usable file into one [N, C, H, W] block per split; `meta` describes them as the cache header does.
void decode(const fs::path& root, std::vector<SplitFiles>& splits, const std::vector<std::string>& classes,
            const DataOptions& o, const ProgressFn& progress, json& meta,
            std::vector<std::vector<unsigned char>>& pixels) {
  std::vector<std::string> skips;
  auto reject = [&](File& f, const std::string& why, const char* fix) {
    if (!o.skip_bad_images) {
      throw InputError(fmt::format("{}: {}; {}, or pass --skip-bad-images", (root / f.rel).string(), why, fix));
    }
    f.usable = false;
    skips.push_back(fmt::format("skipped {}: {}", f.rel, why));
  };
  // After a header that reads, the data is cut short or damaged; stb's reason may then name another format (it
  // keeps the last error of the loaders it tried), so it comes second.
  auto bad_pixels = [] {
    return fmt::format("cannot decode image (truncated or corrupt data; stb_image: {})", stb_reason());
  };

  // Pass 1, headers only: the common size, the channel count, and most unreadable files before any decoding.
  bool colour = false;
  for (SplitFiles& s : splits) {
    for (File& f : s.files) {
      const std::string path = (root / f.rel).string();
      int comp = 0;
      if (!is_image_name(f.rel)) {
        reject(f, "not an image (expected .png, .jpg, .jpeg, .bmp or .gif)", "move or remove it");
      } else if (stbi_info(path.c_str(), &f.w, &f.h, &comp) == 0) {
        reject(f, fmt::format("cannot decode image ({})", stb_reason()), "fix or remove it");
      } else if (o.image_channels == 0 && !colour && comp >= 3) {
        const std::optional<bool> c = has_colour(path);
        if (!c) reject(f, bad_pixels(), "fix or remove it");
        colour = c.value_or(false);
      }
    }
  }
  require_images(root, splits, classes);
  const int C = o.image_channels != 0 ? o.image_channels : colour ? 3 : 1;
  const auto [H, W] = o.image_height > 0 ? std::make_pair(o.image_height, o.image_width) : common_size(root, splits);

  // Pass 2: decode, convert and resize straight into the split's block.
  std::int64_t total = 0, done = 0, resized = 0;
  for (const SplitFiles& s : splits) {
    for (const File& f : s.files) total += f.usable;
  }
  const std::int64_t step = std::max<std::int64_t>(1, total / 100);
  const std::size_t plane = std::size_t(H) * std::size_t(W), image = plane * std::size_t(C);
  std::vector<unsigned char> native;
  json splits_meta = json::array();
  std::size_t offset = 0;
  for (SplitFiles& s : splits) {
    std::vector<unsigned char> block(
        std::size_t(std::count_if(s.files.begin(), s.files.end(), [](const File& f) { return f.usable; })) * image);
    std::size_t n = 0;
    for (File& f : s.files) {
      if (!f.usable) continue;
      int w = 0, h = 0, ch = 0;
      const Pixels px = load_pixels((root / f.rel).string(), w, h, ch, 0);
      if (!px) {
        reject(f, bad_pixels(), "fix or remove it");
      } else if (w == W && h == H) {
        to_planes(px.get(), w, h, ch, C, block.data() + n++ * image);
      } else {
        const std::size_t area = std::size_t(w) * std::size_t(h);
        native.resize(area * std::size_t(C));
        to_planes(px.get(), w, h, ch, C, native.data());
        for (std::size_t c = 0; c < std::size_t(C); ++c) {
          resize_plane(native.data() + c * area, w, h, block.data() + n * image + c * plane, W, H);
        }
        ++n, ++resized;
      }
      ++done;
      if (progress && (done % step == 0 || done == total)) progress(done, total);
    }
    block.resize(n * image);
    std::vector<std::int64_t> counts(classes.size());
    for (const File& f : s.files) counts[std::size_t(f.label)] += f.usable;
    splits_meta.push_back({{"name", s.name}, {"shape", {n, C, H, W}}, {"offset", offset}, {"counts", counts}});
    offset = align_up(offset + block.size());
    pixels.push_back(std::move(block));
  }
  require_images(root, splits, classes);

  std::vector<std::string> notes(skips.begin(), skips.begin() + std::ptrdiff_t(std::min(skips.size(), kMaxSkipNotes)));
  if (skips.size() > kMaxSkipNotes)
    notes.push_back(fmt::format("... and {} more skipped files", skips.size() - kMaxSkipNotes));
  if (resized > 0) notes.push_back(fmt::format("resized {} images to {}x{}", resized, H, W));
  meta = {{"classes", classes}, {"skipped", skips.size()}, {"notes", notes}, {"splits", splits_meta}};
}

}  // namespace

Loaded load_image_folder(const std::string& dir, const DataOptions& options, const ProgressFn& progress) {
  const DataOptions& o = options;
  if (o.image_channels != 0 && o.image_channels != 1 && o.image_channels != 3) {
    throw InputError(fmt::format("--image-channels must be 1 or 3 (got {})", o.image_channels));
  }
  if (o.image_height < 0 || o.image_width < 0 || (o.image_height == 0) != (o.image_width == 0)) {
    throw InputError(fmt::format("--image-size must be a positive HxW (got {}x{})", o.image_height, o.image_width));
  }
  const fs::path root(dir);
  std::vector<std::string> classes, notes;  // notes on the layout are made afresh; those of decoding are cached
  std::vector<SplitFiles> splits = discover(root, classes, notes);
  const std::uint64_t key = cache_key(root, splits, o);
  const std::string name = fmt::format("{:016x}.bin", key);
  const std::vector<fs::path> folders = cache_folders(root, o);
  auto finish = [&](Loaded out, const std::string& cache_note) {
    out.spec = "folder:" + dir;
    out.notes.insert(out.notes.begin(), notes.begin(), notes.end());
    out.notes.push_back(cache_note);
    return out;
  };
  for (const fs::path& folder : folders) {
    const std::string path = (folder / name).string();
    if (auto hit = read_cache(path, key)) return finish(std::move(*hit), fmt::format("cache: {} (hit)", path));
  }

  json meta;
  std::vector<std::vector<unsigned char>> pixels;
  decode(root, splits, classes, o, progress, meta, pixels);
  std::vector<std::string> why_not;
  for (const fs::path& folder : folders) {
    const std::string path = (folder / name).string();
    std::error_code ec;
    fs::create_directories(folder, ec);
    if (ec) {
      why_not.push_back(fmt::format("cannot create {}: {}", folder.string(), ec.message()));
      continue;
    }
    try {
      write_cache(path, key, meta, pixels);
    } catch (const std::exception& e) {
      why_not.push_back(e.what());
      continue;
    }
    // Served from the mapping like every later load, so the first trial sees exactly what the others will.
    if (auto mapped = read_cache(path, key))
      return finish(std::move(*mapped), fmt::format("cache: {} (written)", path));
    why_not.push_back(fmt::format("{} did not read back", path));
  }
  std::vector<Block> blocks;
  Loaded out = from_meta(meta, blocks);
  for (std::size_t i = 0; i < blocks.size(); ++i)
    split_named(out, blocks[i].split).values = own_bytes(std::move(pixels[i]));
  return finish(std::move(out),
                fmt::format("cache: nothing cached ({}); the next load decodes again", fmt::join(why_not, "; ")));
}

}  // namespace fhist::input
