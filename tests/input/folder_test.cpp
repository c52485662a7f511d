// input::load_image_folder on image trees written here with stb_image_write (and a hand-made GIF): layout, channels,
// sizes, bad files, and the decoded cache.
#include <gtest/gtest.h>
#include <stb/stb_image_write.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/errors.hpp"
#include "input/input.hpp"
#include "test_util.hpp"

namespace fhist::input {
namespace {

namespace fs = std::filesystem;
using fhist::testing::input_error_message;
using fhist::testing::TempDir;
using Px = std::vector<unsigned char>;

Px pattern(int w, int h, int comp, int seed) {
  Px px(std::size_t(w * h * comp));
  for (std::size_t i = 0; i < px.size(); ++i) px[i] = static_cast<unsigned char>(i * 37 + std::size_t(seed) * 11);
  return px;
}

void write_image(const fs::path& path, int w, int h, int comp, const Px& px) {
  fs::create_directories(path.parent_path());
  const std::string ext = path.extension().string();
  int ok = 0;
  if (ext == ".png") ok = stbi_write_png(path.c_str(), w, h, comp, px.data(), w * comp);
  if (ext == ".bmp") ok = stbi_write_bmp(path.c_str(), w, h, comp, px.data());
  if (ext == ".jpg" || ext == ".JPG") ok = stbi_write_jpg(path.c_str(), w, h, comp, px.data(), 95);
  ASSERT_NE(ok, 0) << path;
}

void gray_png(const fs::path& path, int w = 4, int h = 3, int seed = 0) {
  write_image(path, w, h, 1, pattern(w, h, 1, seed));
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
}

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// A GIF with a 128-entry gray palette (entry i = 2i) whose LZW codes stay 8 bits wide (a clear code every 100
// pixels), so each code is one byte: frames of w*h palette indices.
void write_gif(const fs::path& path, int w, int h, const std::vector<Px>& frames) {
  std::string g = "GIF89a";
  auto u16 = [&](int v) { g += char(v & 255), g += char(v >> 8); };
  u16(w), u16(h);
  g += {char(0xF6), 0, 0};
  for (int i = 0; i < 128; ++i) g += std::string(3, char(2 * i));
  for (const Px& f : frames) {
    g += ',';
    u16(0), u16(0), u16(w), u16(h);
    g += {0, 7};
    std::string codes;
    for (std::size_t i = 0; i < f.size(); ++i) {
      if (i % 100 == 0) codes += char(128);
      codes += char(f[i]);
    }
    codes += char(129);
    for (std::size_t at = 0; at < codes.size(); at += 255) {
      const std::string chunk = codes.substr(at, 255);
      g += char(chunk.size()), g += chunk;
    }
    g += '\0';
  }
  g += ';';
  write_bytes(path, g);
}

bool has_note(const Loaded& d, const std::string& part) {
  return std::any_of(d.notes.begin(), d.notes.end(), [&](const std::string& n) { return n.find(part) != n.npos; });
}

Px bytes_of(const Split& s) { return Px(s.values.data, s.values.data + s.values.size); }
Px image_of(const Split& s, std::size_t i) {
  const std::size_t per = s.values.size / std::size_t(s.size());
  return Px(s.values.data + i * per, s.values.data + (i + 1) * per);
}

TEST(ImageFolder, GrayClassesShapesLabelsAndPixels) {
  TempDir t;
  gray_png(t.path() / "cat/a.png", 4, 3, 1);
  write_image(t.path() / "cat/b.bmp", 4, 3, 1, pattern(4, 3, 1, 2));  // stb writes 24-bit BMP: gray by its pixels
  write_image(t.path() / "dog/c.JPG", 4, 3, 1, Px(12, 100));
  gray_png(t.path() / "dog/d.png", 4, 3, 4);
  write_bytes(t.path() / "cat/.DS_Store", "junk");
  write_bytes(t.path() / "README.txt", "about");
  std::vector<std::pair<std::int64_t, std::int64_t>> calls;
  const Loaded d = load_image_folder(t.str(), {}, [&](std::int64_t a, std::int64_t b) { calls.emplace_back(a, b); });
  EXPECT_EQ(d.classes, (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(d.train.shape, (std::vector<std::int64_t>{4, 1, 3, 4}));
  EXPECT_FALSE(d.train.float32);
  EXPECT_FALSE(d.tabular);
  EXPECT_EQ(d.train.labels, (std::vector<std::int64_t>{0, 0, 1, 1}));
  ASSERT_EQ(d.train.values.size, 48u);
  EXPECT_EQ(image_of(d.train, 0), pattern(4, 3, 1, 1));
  EXPECT_EQ(image_of(d.train, 1), pattern(4, 3, 1, 2));
  for (unsigned char v : image_of(d.train, 2)) EXPECT_NEAR(v, 100, 2);
  EXPECT_EQ(image_of(d.train, 3), pattern(4, 3, 1, 4));
  EXPECT_FALSE(d.val.has_value());
  EXPECT_FALSE(d.test.has_value());
  EXPECT_EQ(d.skipped, 0);
  EXPECT_TRUE(has_note(d, "ignored README.txt (not in a class folder)"));
  ASSERT_FALSE(calls.empty());
  EXPECT_EQ(calls.back(), std::make_pair(std::int64_t(4), std::int64_t(4)));
}

TEST(ImageFolder, ChannelsAutoForcedAndInvalid) {
  TempDir t;
  gray_png(t.path() / "a/gray.png", 2, 1, 0);
  const Px rgba = {255, 0, 0, 10, 0, 255, 0, 20};  // red, green; alpha is dropped
  write_image(t.path() / "b/rgba.png", 2, 1, 4, rgba);
  const Loaded colour = load_image_folder(t.str(), {}, {});
  ASSERT_EQ(colour.train.shape, (std::vector<std::int64_t>{2, 3, 1, 2}));
  const Px g = pattern(2, 1, 1, 0);
  EXPECT_EQ(image_of(colour.train, 0), (Px{g[0], g[1], g[0], g[1], g[0], g[1]}));  // gray replicated, CHW
  EXPECT_EQ(image_of(colour.train, 1), (Px{255, 0, 0, 255, 0, 0}));

  DataOptions one;
  one.image_channels = 1;
  const Loaded gray = load_image_folder(t.str(), one, {});
  ASSERT_EQ(gray.train.shape, (std::vector<std::int64_t>{2, 1, 1, 2}));
  EXPECT_EQ(image_of(gray.train, 1), (Px{76, 150}));  // 0.299 * 255 = 76.2, 0.587 * 255 = 149.7

  // A GIF's first frame with a gray palette is gray, though stb reports 4 channels for every GIF.
  write_gif(t.path() / "b/anim.gif", 2, 1, {{10, 20}, {90, 100}});
  fs::remove(t.path() / "b/rgba.png");
  const Loaded gif = load_image_folder(t.str(), {}, {});
  ASSERT_EQ(gif.train.shape, (std::vector<std::int64_t>{2, 1, 1, 2}));
  EXPECT_EQ(image_of(gif.train, 1), (Px{20, 40}));

  DataOptions two;
  two.image_channels = 2;
  EXPECT_NE(input_error_message([&] { load_image_folder(t.str(), two, {}); }).find("--image-channels must be 1 or 3"),
            std::string::npos);
}

TEST(ImageFolder, TrainValTestLayout) {
  TempDir t;
  for (const char* c : {"a", "b", "c"}) gray_png(t.path() / "train" / c / "x.png");
  gray_png(t.path() / "val/a/x.png");
  gray_png(t.path() / "val/c/x.png", 4, 3, 7);
  gray_png(t.path() / "val/c/y.png");
  gray_png(t.path() / "test/b/x.png");
  const Loaded d = load_image_folder(t.str(), {}, {});
  EXPECT_EQ(d.classes, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(d.train.labels, (std::vector<std::int64_t>{0, 1, 2}));
  ASSERT_TRUE(d.val && d.test);
  EXPECT_EQ(d.val->shape, (std::vector<std::int64_t>{3, 1, 3, 4}));
  EXPECT_EQ(d.val->labels, (std::vector<std::int64_t>{0, 2, 2}));
  EXPECT_EQ(image_of(*d.val, 1), pattern(4, 3, 1, 7));
  EXPECT_EQ(d.test->labels, (std::vector<std::int64_t>{1}));

  gray_png(t.path() / "val/zebra/x.png");
  const std::string msg = input_error_message([&] { load_image_folder(t.str(), {}, {}); });
  EXPECT_NE(msg.find((t.path() / "val/zebra").string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("'zebra'"), std::string::npos) << msg;
}

TEST(ImageFolder, MajoritySizeWinsAndOthersAreResizedBilinear) {
  TempDir t;
  gray_png(t.path() / "a/0.png", 4, 4, 0);
  gray_png(t.path() / "a/1.png", 4, 4, 1);
  gray_png(t.path() / "b/2.png", 4, 4, 2);
  Px big(64);
  for (int y = 0; y < 8; ++y) {
    for (int x = 0; x < 8; ++x) big[std::size_t(y * 8 + x)] = static_cast<unsigned char>(4 * x + 32 * y);
  }
  write_image(t.path() / "b/big.png", 8, 8, 1, big);
  write_image(t.path() / "b/small.png", 2, 2, 1, Px{0, 100, 100, 200});
  const Loaded d = load_image_folder(t.str(), {}, {});
  ASSERT_EQ(d.train.shape, (std::vector<std::int64_t>{5, 1, 4, 4}));
  EXPECT_TRUE(has_note(d, "resized 2 images to 4x4"));
  Px halved(16);  // half-pixel centres: each output pixel is the mean of a 2x2 block
  for (int y = 0; y < 4; ++y) {
    for (int x = 0; x < 4; ++x) halved[std::size_t(y * 4 + x)] = static_cast<unsigned char>(8 * x + 64 * y + 18);
  }
  EXPECT_EQ(image_of(d.train, 3), halved);
  EXPECT_EQ(image_of(d.train, 4), (Px{0, 25, 75, 100, 25, 50, 100, 125, 75, 100, 150, 175, 100, 125, 175, 200}));
  EXPECT_EQ(image_of(d.train, 0), pattern(4, 4, 1, 0));
}

TEST(ImageFolder, MixedSizesWithoutMajorityNeedImageSize) {
  TempDir t;
  gray_png(t.path() / "a/p.png", 4, 4);
  gray_png(t.path() / "a/q.png", 6, 6);
  gray_png(t.path() / "b/r.png", 8, 8);
  gray_png(t.path() / "b/s.png", 4, 4);
  gray_png(t.path() / "b/t.png", 6, 6);
  const std::string msg = input_error_message([&] { load_image_folder(t.str(), {}, {}); });
  EXPECT_NE(msg.find((t.path() / "a/p.png").string() + " is 4x4"), std::string::npos) << msg;
  EXPECT_NE(msg.find((t.path() / "a/q.png").string() + " is 6x6"), std::string::npos) << msg;
  EXPECT_NE(msg.find("--image-size HxW"), std::string::npos) << msg;

  fs::remove(t.path() / "b/r.png");  // 2 of 4x4 and 2 of 6x6: half is enough, and the tie goes to the smaller size
  const Loaded tie = load_image_folder(t.str(), {}, {});
  EXPECT_EQ(tie.train.shape, (std::vector<std::int64_t>{4, 1, 4, 4}));
  EXPECT_TRUE(has_note(tie, "resized 2 images to 4x4"));

  DataOptions sized;
  sized.image_height = 5;
  sized.image_width = 3;
  const Loaded d = load_image_folder(t.str(), sized, {});
  EXPECT_EQ(d.train.shape, (std::vector<std::int64_t>{4, 1, 5, 3}));
  EXPECT_TRUE(has_note(d, "resized 4 images to 5x3"));
}

TEST(ImageFolder, UndecodableFilesRefusedOrSkipped) {
  TempDir t;
  for (const char* f : {"a/x.png", "a/y.png", "b/z.png"}) gray_png(t.path() / f, 16, 16);
  write_bytes(t.path() / "a/bad.png", "\x89PNG garbage");
  write_image(t.path() / "jpg/full.jpg", 16, 16, 1, pattern(16, 16, 1, 3));
  const std::string jpeg = slurp(t.path() / "jpg/full.jpg");
  fs::remove_all(t.path() / "jpg");
  write_bytes(t.path() / "b/trunc.jpg", jpeg.substr(0, jpeg.size() / 2));

  std::string msg = input_error_message([&] { load_image_folder(t.str(), {}, {}); });
  EXPECT_NE(msg.find((t.path() / "a/bad.png").string() + ": cannot decode image ("), std::string::npos) << msg;
  EXPECT_NE(msg.find("--skip-bad-images"), std::string::npos) << msg;
  fs::rename(t.path() / "a/bad.png", t.path() / "a/.bad.png");  // hidden files are not data
  msg = input_error_message([&] { load_image_folder(t.str(), {}, {}); });
  EXPECT_NE(msg.find((t.path() / "b/trunc.jpg").string() + ": cannot decode image (truncated or corrupt"),
            std::string::npos)
      << msg;
  fs::rename(t.path() / "a/.bad.png", t.path() / "a/bad.png");

  DataOptions skip;
  skip.skip_bad_images = true;
  for (const char* cache : {"(written)", "(hit)"}) {
    const Loaded d = load_image_folder(t.str(), skip, {});
    EXPECT_TRUE(has_note(d, cache));
    EXPECT_EQ(d.skipped, 2);
    EXPECT_EQ(d.train.labels, (std::vector<std::int64_t>{0, 0, 1}));
    EXPECT_TRUE(has_note(d, "skipped a/bad.png: cannot decode image"));
    EXPECT_TRUE(has_note(d, "skipped b/trunc.jpg: cannot decode image"));
  }
}

TEST(ImageFolder, StrayFilesRefusedOrSkippedWithCappedNotes) {
  TempDir t;
  gray_png(t.path() / "a/x.png");
  gray_png(t.path() / "b/y.png");
  write_bytes(t.path() / "a/notes.txt", "hello");
  const std::string msg = input_error_message([&] { load_image_folder(t.str(), {}, {}); });
  EXPECT_NE(msg.find((t.path() / "a/notes.txt").string() + ": not an image (expected .png, .jpg, .jpeg, .bmp or .gif)"),
            std::string::npos)
      << msg;
  DataOptions skip;
  skip.skip_bad_images = true;
  Loaded d = load_image_folder(t.str(), skip, {});
  EXPECT_EQ(d.skipped, 1);
  EXPECT_EQ(d.train.size(), 2);
  EXPECT_TRUE(has_note(d, "skipped a/notes.txt: not an image"));

  for (int i = 0; i < 24; ++i) write_bytes(t.path() / "b" / ("junk" + std::to_string(100 + i) + ".txt"), "x");
  d = load_image_folder(t.str(), skip, {});
  EXPECT_EQ(d.skipped, 25);
  EXPECT_EQ(
      std::count_if(d.notes.begin(), d.notes.end(), [](const std::string& n) { return n.rfind("skipped ", 0) == 0; }),
      20);
  EXPECT_TRUE(has_note(d, "... and 5 more skipped files"));
}

TEST(ImageFolder, EmptyClassFolderRefusedEvenWhenSkipping) {
  TempDir t;
  gray_png(t.path() / "a/x.png");
  gray_png(t.path() / "b/x.png");
  EXPECT_TRUE(has_note(load_image_folder(t.str(), {}, {}), "(written)"));
  fs::create_directories(t.path() / "c");  // the class folders are part of the cache key: no hit hides this one
  std::string msg = input_error_message([&] { load_image_folder(t.str(), {}, {}); });
  EXPECT_NE(msg.find((t.path() / "c").string() + ": class folder has no images; add images or remove the folder"),
            std::string::npos)
      << msg;
  fs::remove(t.path() / "c");
  fs::remove(t.path() / "b/x.png");
  write_bytes(t.path() / "b/only.txt", "x");
  DataOptions skip;
  skip.skip_bad_images = true;
  msg = input_error_message([&] { load_image_folder(t.str(), skip, {}); });
  EXPECT_NE(msg.find((t.path() / "b").string() + ": class folder has no images (1 files, none usable)"),
            std::string::npos)
      << msg;
}

TEST(ImageFolder, FolderProblemsRefused) {
  TempDir t;
  EXPECT_NE(input_error_message([&] { load_image_folder(t.str("nope"), {}, {}); }).find("nope: no such folder"),
            std::string::npos);
  write_bytes(t.path() / "file", "x");
  EXPECT_NE(input_error_message([&] { load_image_folder(t.str("file"), {}, {}); }).find("file: not a folder"),
            std::string::npos);
  fs::create_directories(t.path() / "d");
  write_bytes(t.path() / "d/x.png", "x");
  EXPECT_NE(input_error_message([&] { load_image_folder(t.str("d"), {}, {}); }).find("d: no class folders"),
            std::string::npos);
  gray_png(t.path() / "d/only/x.png");
  const std::string msg = input_error_message([&] { load_image_folder(t.str("d"), {}, {}); });
  EXPECT_NE(msg.find("needs at least two class folders"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'only'"), std::string::npos) << msg;
}

std::string cache_path(const Loaded& d) {
  for (const std::string& n : d.notes) {
    if (n.rfind("cache: ", 0) == 0) return n.substr(7, n.rfind(" (") - 7);
  }
  return "";
}

void two_classes(const TempDir& t) {
  gray_png(t.path() / "cat/a.png", 4, 3, 1);
  gray_png(t.path() / "cat/b.png", 4, 3, 2);
  gray_png(t.path() / "dog/c.png", 4, 3, 3);
}

TEST(ImageFolder, SecondLoadMapsTheCache) {
  TempDir t;
  two_classes(t);
  const Loaded first = load_image_folder(t.str(), {}, {});
  const std::string path = cache_path(first);
  EXPECT_EQ(fs::path(path).parent_path(), t.path() / ".fhist-cache");
  EXPECT_TRUE(has_note(first, "(written)"));
  int calls = 0;
  const Loaded second = load_image_folder(t.str(), {}, [&](std::int64_t, std::int64_t) { ++calls; });
  EXPECT_EQ(second.notes.back(), "cache: " + path + " (hit)");
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(bytes_of(second.train), bytes_of(first.train));
  EXPECT_EQ(second.train.labels, first.train.labels);
  EXPECT_EQ(second.classes, first.classes);
  EXPECT_EQ(second.train.shape, first.train.shape);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(second.train.values.data) % 64, 0u);
  EXPECT_NE(slurp("/proc/self/maps").find(path), std::string::npos);  // mapped, not copied
}

TEST(ImageFolder, ChangedFileInvalidatesTheCache) {
  TempDir t;
  two_classes(t);
  const Loaded first = load_image_folder(t.str(), {}, {});
  const auto when = fs::last_write_time(t.path() / "cat/a.png");
  fs::last_write_time(t.path() / "cat/a.png", when + std::chrono::seconds(5));  // same bytes, later time
  EXPECT_TRUE(has_note(load_image_folder(t.str(), {}, {}), "(written)"));
  gray_png(t.path() / "cat/a.png", 4, 3, 9);
  fs::last_write_time(t.path() / "cat/a.png", when + std::chrono::seconds(10));
  const Loaded second = load_image_folder(t.str(), {}, {});
  EXPECT_TRUE(has_note(second, "(written)"));
  EXPECT_NE(cache_path(second), cache_path(first));
  EXPECT_EQ(image_of(second.train, 0), pattern(4, 3, 1, 9));
  EXPECT_EQ(image_of(first.train, 0), pattern(4, 3, 1, 1));  // the earlier mapping is untouched
}

TEST(ImageFolder, DamagedCacheIsRewritten) {
  TempDir t;
  two_classes(t);
  const Px expected = bytes_of(load_image_folder(t.str(), {}, {}).train);
  const std::string path = cache_path(load_image_folder(t.str(), {}, {}));
  const auto size = fs::file_size(path);
  for (int damage = 0; damage < 2; ++damage) {
    if (damage == 0) fs::resize_file(path, size / 2);
    if (damage == 1) write_bytes(path, "FHISTIMG" + std::string(size - 8, '\xff'));
    const Loaded again = load_image_folder(t.str(), {}, {});
    EXPECT_EQ(again.notes.back(), "cache: " + path + " (written)");
    EXPECT_EQ(bytes_of(again.train), expected);
    EXPECT_EQ(fs::file_size(path), size);
    EXPECT_TRUE(has_note(load_image_folder(t.str(), {}, {}), "(hit)"));
  }
}

TEST(ImageFolder, UnwritableCacheStillLoads) {
  TempDir t;
  two_classes(t);
  write_bytes(t.path() / ".blocker", "a file, so no folder can be made below it");
  DataOptions o;
  o.cache_dir = t.str(".blocker/cache");
  for (int i = 0; i < 2; ++i) {
    const Loaded d = load_image_folder(t.str(), o, {});
    EXPECT_EQ(d.train.shape, (std::vector<std::int64_t>{3, 1, 3, 4}));
    EXPECT_EQ(image_of(d.train, 2), pattern(4, 3, 1, 3));
    EXPECT_NE(d.notes.back().find("cache: nothing cached (cannot create " + o.cache_dir), std::string::npos)
        << d.notes.back();
  }
  EXPECT_FALSE(fs::exists(t.path() / ".fhist-cache"));
}

// Points $HOME elsewhere for one scope.
class HomeIs {
 public:
  explicit HomeIs(const std::string& home) : saved_(std::getenv("HOME") != nullptr ? std::getenv("HOME") : "") {
    ::setenv("HOME", home.c_str(), 1);
  }
  ~HomeIs() { ::setenv("HOME", saved_.c_str(), 1); }

 private:
  std::string saved_;
};

TEST(ImageFolder, FallsBackToHomeCache) {
  TempDir t, home;
  two_classes(t);
  write_bytes(t.path() / ".fhist-cache", "a file where the cache folder would go");
  HomeIs home_is(home.str());
  const Loaded first = load_image_folder(t.str(), {}, {});
  const Loaded second = load_image_folder(t.str(), {}, {});
  EXPECT_EQ(fs::path(cache_path(first)).parent_path(), home.path() / ".cache/fhist");
  EXPECT_TRUE(has_note(first, "(written)"));
  EXPECT_TRUE(has_note(second, "(hit)"));
}

}  // namespace
}  // namespace fhist::input
