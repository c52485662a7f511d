// Reads a PNG with stb_image and prints what tells a rendered page from a blank one, as JSON:
// {"width", "height", "colors" (distinct, capped at 4096), "non_background" (fraction of pixels unlike the top-left
// pixel)}. Used by the HTML report's end-to-end test on Chromium's screenshot.
#include <stb/stb_image.h>

#include <cstdio>
#include <cstdlib>
#include <set>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s FILE.png\n", argv[0]);
    return 2;
  }
  int w = 0, h = 0, n = 0;
  unsigned char* px = stbi_load(argv[1], &w, &h, &n, 3);
  if (px == nullptr) {
    std::fprintf(stderr, "%s: not a readable image (%s)\n", argv[1], stbi_failure_reason());
    return 1;
  }
  std::set<unsigned> colors;
  long long differing = 0;
  const unsigned bg = (px[0] << 16) | (px[1] << 8) | px[2];
  for (long long i = 0; i < static_cast<long long>(w) * h; ++i) {
    const unsigned c = (px[3 * i] << 16) | (px[3 * i + 1] << 8) | px[3 * i + 2];
    if (colors.size() < 4096) colors.insert(c);
    differing += c != bg;
  }
  std::printf("{\"width\": %d, \"height\": %d, \"colors\": %zu, \"non_background\": %.6f}\n", w, h, colors.size(),
              static_cast<double>(differing) / (static_cast<double>(w) * h));
  stbi_image_free(px);
  return 0;
}
