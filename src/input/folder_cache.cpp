// The decode cache of an image folder (see folder_cache.hpp): its key, its file format (a fixed header, the JSON
// that describes the splits, then each split's pixels at a 64-byte boundary), atomic writing, mapping and checking.
#include "input/folder_cache.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <limits>
#include <memory>
#include <stdexcept>

#include "core/errors.hpp"
#include "core/fs.hpp"

namespace fhist::input::detail {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Bump when decoding, resizing or the file layout changes, so that older caches miss instead of being misread.
constexpr std::uint32_t kCacheVersion = 1;
constexpr char kMagic[8] = {'F', 'H', 'I', 'S', 'T', 'I', 'M', 'G'};
// The cache file's first bytes, in this machine's byte order (a cache is not meant to travel); then the JSON text.
struct Header {
  char magic[8];
  std::uint32_t version, json_len;
  std::uint64_t key;
};
constexpr std::size_t kHeaderSize = sizeof(Header);
static_assert(kHeaderSize == 24, "no padding in the header");

// FNV-1a: the key only has to change when the data or the options do, not resist anyone.
struct Fnv {
  std::uint64_t h = 14695981039346656037ull;
  void bytes(const void* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) h = (h ^ static_cast<const unsigned char*>(p)[i]) * 1099511628211ull;
  }
  void text(const std::string& s) { bytes(s.c_str(), s.size() + 1); }
  void number(std::int64_t v) { bytes(&v, sizeof v); }
};

}  // namespace

std::uint64_t cache_key(const fs::path& root, const std::vector<SplitFiles>& splits, const DataOptions& o) {
  Fnv f;
  f.number(kCacheVersion);
  for (int v : {o.image_height, o.image_width, o.image_channels, o.skip_bad_images ? 1 : 0}) f.number(v);
  for (const SplitFiles& s : splits) {
    for (const std::string& c : s.class_dirs) f.text(s.prefix + c);  // a new empty class folder must be refused
    for (const File& file : s.files) {
      std::error_code ec;
      const fs::path p = root / file.rel;
      const auto size = fs::file_size(p, ec);
      const auto mtime = fs::last_write_time(p, ec);
      f.text(file.rel);
      f.number(ec ? -1 : static_cast<std::int64_t>(size));
      f.number(std::chrono::duration_cast<std::chrono::nanoseconds>(mtime.time_since_epoch()).count());
    }
  }
  return f.h;
}

Split& split_named(Loaded& out, const std::string& name) {
  if (name == "val") return out.val ? *out.val : out.val.emplace();
  if (name == "test") return out.test ? *out.test : out.test.emplace();
  return out.train;
}

// The Loaded that `meta` describes, without pixels; throws on anything inconsistent (a damaged cache).
Loaded from_meta(const json& meta, std::vector<Block>& blocks) {
  Loaded out;
  out.classes = meta.at("classes").get<std::vector<std::string>>();
  out.skipped = meta.at("skipped").get<std::int64_t>();
  out.notes = meta.at("notes").get<std::vector<std::string>>();
  for (const json& js : meta.at("splits")) {
    Block b{js.at("name").get<std::string>(), js.at("offset").get<std::size_t>(), 1};
    Split& s = split_named(out, b.split);
    s.shape = js.at("shape").get<std::vector<std::int64_t>>();
    const auto counts = js.at("counts").get<std::vector<std::int64_t>>();
    if (s.shape.size() != 4 || counts.size() != out.classes.size() || !s.labels.empty()) {
      throw std::runtime_error("inconsistent split");
    }
    for (std::int64_t d : s.shape) {
      if (d <= 0 || b.bytes > std::numeric_limits<std::size_t>::max() / std::size_t(d))
        throw std::runtime_error("shape");
      b.bytes *= std::size_t(d);
    }
    for (std::size_t c = 0; c < counts.size(); ++c) {
      if (counts[c] < 0 || counts[c] > s.shape[0] - std::int64_t(s.labels.size())) throw std::runtime_error("counts");
      s.labels.insert(s.labels.end(), std::size_t(counts[c]), std::int64_t(c));
    }
    if (std::int64_t(s.labels.size()) != s.shape[0]) throw std::runtime_error("counts");
    blocks.push_back(std::move(b));
  }
  if (out.train.shape.empty()) throw std::runtime_error("no train split");
  return out;
}

// Maps a cache file read-only; empty when it is missing or fails any check (then it is decoded and written again).
std::optional<Loaded> read_cache(const std::string& path, std::uint64_t key) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct stat st {};
  const bool big_enough = ::fstat(fd, &st) == 0 && st.st_size >= static_cast<off_t>(kHeaderSize);
  const auto size = static_cast<std::size_t>(st.st_size);
  void* addr = big_enough ? ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
  ::close(fd);
  if (addr == MAP_FAILED) return std::nullopt;
  // Every split's Bytes shares this owner, so the mapping lives until the last tensor over it is gone.
  const std::shared_ptr<const void> owner(addr, [size](const void* p) { ::munmap(const_cast<void*>(p), size); });
  const auto* base = static_cast<const unsigned char*>(addr);
  Header h{};
  std::memcpy(&h, base, kHeaderSize);
  const std::size_t json_len = h.json_len;
  if (std::memcmp(h.magic, kMagic, 8) != 0 || h.version != kCacheVersion || h.key != key ||
      json_len > size - kHeaderSize) {
    return std::nullopt;
  }
  try {
    std::vector<Block> blocks;
    Loaded out = from_meta(json::parse(base + kHeaderSize, base + kHeaderSize + json_len), blocks);
    const std::size_t start = align_up(kHeaderSize + json_len);
    std::size_t end = start;
    for (const Block& b : blocks) {
      if (b.offset % kAlign != 0 || b.offset > size || b.bytes > size || start + b.offset + b.bytes > size) {
        return std::nullopt;
      }
      end = std::max(end, start + b.offset + b.bytes);
      split_named(out, b.split).values = Bytes{owner, base + start + b.offset, b.bytes};
    }
    if (end != size) return std::nullopt;
    return out;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// Header, JSON, then each split's pixels at a 64-byte boundary; through a temporary file so that a reader never
// sees half of one. Throws when the file cannot be written.
void write_cache(const std::string& path, std::uint64_t key, const json& meta,
                 const std::vector<std::vector<unsigned char>>& pixels) {
  const std::string text = meta.dump();
  const std::string tmp = temp_path_for(path);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    Header h{{}, kCacheVersion, static_cast<std::uint32_t>(text.size()), key};
    std::memcpy(h.magic, kMagic, 8);
    out.write(reinterpret_cast<const char*>(&h), kHeaderSize);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    std::size_t at = kHeaderSize + text.size();
    const std::string zeros(kAlign, '\0');
    for (const auto& block : pixels) {
      out.write(zeros.data(), static_cast<std::streamsize>(align_up(at) - at));
      out.write(reinterpret_cast<const char*>(block.data()), static_cast<std::streamsize>(block.size()));
      at = align_up(at) + block.size();
    }
    out.flush();
    if (!out) {
      const int why = errno;
      std::error_code ec;
      fs::remove(tmp, ec);
      throw EnvironmentError(fmt::format("cannot write {} ({})", tmp, std::strerror(why)));
    }
  }
  commit_file(tmp, path);
}

std::vector<fs::path> cache_folders(const fs::path& root, const DataOptions& o) {
  if (!o.cache_dir.empty()) return {fs::path(o.cache_dir)};
  std::vector<fs::path> out{root / ".fhist-cache"};
  const char* home = std::getenv("HOME");
  if (home != nullptr && *home != '\0') out.push_back(fs::path(home) / ".cache" / "fhist");
  return out;
}

}  // namespace fhist::input::detail
