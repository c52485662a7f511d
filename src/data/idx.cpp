#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <filesystem>
#include <functional>

#include "core/errors.hpp"
#include "data/loaders.hpp"

namespace fhist::data {
namespace {

namespace fs = std::filesystem;

std::string resolve(const std::string& path) {
  if (fs::exists(path)) return path;
  if (fs::exists(path + ".gz")) return path + ".gz";
  throw DataError(fmt::format("{}: file not found (also looked for {}.gz)", path, path));
}

// Whole-file read through zlib, which passes plain files through unchanged. `header_bytes` and `expected` bound what
// is inflated: once the header is in, reading stops one byte past the size it gives, so a small gzip file that
// inflates to gigabytes (a gzip bomb) is refused instead of exhausting memory. The header's size is reserved at once
// and inflated into in place (growing by doubling copied and page-faulted Fashion-MNIST's 47 MB several times: 0.2 s
// of every process that loads it); the reservation is capped by what the file can inflate to (deflate's ratio is at
// most 1032:1; a plain file holds its size), so a forged header cannot make it allocate more than the file could hold.
using ExpectedSize = std::function<unsigned __int128(const std::vector<unsigned char>&)>;
std::vector<unsigned char> read_maybe_gzip(const std::string& path, std::size_t header_bytes,
                                           const ExpectedSize& expected) {
  std::error_code ec;
  const auto file_bytes = static_cast<unsigned __int128>(fs::file_size(path, ec));
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) throw DataError(fmt::format("{}: cannot open", path));
  std::vector<unsigned char> out;
  unsigned __int128 limit = ~static_cast<unsigned __int128>(0);
  bool reserved = false;
  unsigned chunk = 1u << 16;  // doubles per read up to 16 MB: small files stay cheap, large ones take few reads
  while (true) {
    const auto have = static_cast<unsigned __int128>(out.size());
    if (out.size() >= header_bytes) limit = std::min(limit, expected(out) + 1);
    if (have >= limit) break;
    if (out.size() >= header_bytes && !reserved && !ec) {
      reserved = true;
      const auto can_hold = gzdirect(f) == 1 ? file_bytes : file_bytes * 1032 + header_bytes;
      try {
        out.reserve(static_cast<std::size_t>(std::min(limit, can_hold)));
      } catch (const std::exception&) {  // more than this machine has: read on, and let the data say what is wrong
      }
    }
    // The header first, alone, so the limit holds from the first byte after it.
    auto room = limit - have;
    if (out.size() < header_bytes) room = header_bytes - out.size();
    const auto want = static_cast<unsigned>(std::min<unsigned __int128>(chunk, room));
    chunk = std::min(chunk * 2, 1u << 24);
    const std::size_t at = out.size();
    out.resize(at + want);
    const int n = gzread(f, out.data() + at, want);
    if (n < 0) {
      int err = 0;
      const std::string msg = gzerror(f, &err);
      gzclose(f);
      throw DataError(fmt::format("{}: corrupt gzip stream ({})", path, msg));
    }
    out.resize(at + static_cast<std::size_t>(n));
    if (n == 0) break;
  }
  gzclose(f);
  return out;
}

std::uint32_t be32(const std::vector<unsigned char>& b, std::size_t at) {
  return (std::uint32_t{b[at]} << 24) | (std::uint32_t{b[at + 1]} << 16) | (std::uint32_t{b[at + 2]} << 8) |
         std::uint32_t{b[at + 3]};
}

}  // namespace

torch::Tensor read_idx_images(const std::string& path_in) {
  const std::string path = resolve(path_in);
  auto bytes = read_maybe_gzip(path, 16, [](const std::vector<unsigned char>& b) {
    return 16 + static_cast<unsigned __int128>(be32(b, 4)) * be32(b, 8) * be32(b, 12);
  });
  const auto magic = bytes.size() >= 4 ? be32(bytes, 0) : 0;
  if (magic != 2051) {
    throw DataError(fmt::format("{}: not an IDX image file (magic {}, expected 2051)", path, magic));
  }
  if (bytes.size() < 16) {
    throw DataError(fmt::format("{}: truncated IDX image file ({} bytes, header needs 16)", path, bytes.size()));
  }
  const std::int64_t n = be32(bytes, 4), rows = be32(bytes, 8), cols = be32(bytes, 12);
  // Three 32-bit counts multiply past 64 bits: compare in 128 so a forged header cannot wrap around to the size.
  const unsigned __int128 expected = 16 + static_cast<unsigned __int128>(n) * static_cast<unsigned __int128>(rows) *
                                              static_cast<unsigned __int128>(cols);
  if (static_cast<unsigned __int128>(bytes.size()) != expected) {
    const bool fits = expected <= static_cast<unsigned __int128>(std::numeric_limits<std::uint64_t>::max());
    throw DataError(fmt::format("{}: IDX image file has {}{} bytes, header ({} images of {}x{}) says {}", path,
                                bytes.size() > expected ? "more than " : "",
                                bytes.size() > expected ? bytes.size() - 1 : bytes.size(), n, rows, cols,
                                fits ? std::to_string(static_cast<std::uint64_t>(expected)) : "more than 2^64"));
  }
  // The tensor takes the bytes as they are (no second 47 MB copy for Fashion-MNIST) and frees them with itself.
  auto* owner = new std::vector<unsigned char>(std::move(bytes));
  return torch::from_blob(owner->data() + 16, {n, 1, rows, cols}, [owner](void*) { delete owner; }, torch::kUInt8);
}

torch::Tensor read_idx_labels(const std::string& path_in) {
  const std::string path = resolve(path_in);
  const auto bytes = read_maybe_gzip(
      path, 8, [](const std::vector<unsigned char>& b) { return 8 + static_cast<unsigned __int128>(be32(b, 4)); });
  const auto magic = bytes.size() >= 4 ? be32(bytes, 0) : 0;
  if (magic != 2049) {
    throw DataError(fmt::format("{}: not an IDX label file (magic {}, expected 2049)", path, magic));
  }
  if (bytes.size() < 8) {
    throw DataError(fmt::format("{}: truncated IDX label file ({} bytes, header needs 8)", path, bytes.size()));
  }
  const std::int64_t n = be32(bytes, 4);
  if (static_cast<std::int64_t>(bytes.size()) != 8 + n) {
    const bool more = static_cast<std::int64_t>(bytes.size()) > 8 + n;
    throw DataError(fmt::format("{}: IDX label file has {}{} bytes, header ({} labels) says {}", path,
                                more ? "more than " : "", more ? bytes.size() - 1 : bytes.size(), n, 8 + n));
  }
  auto t = torch::empty({n}, torch::kUInt8);
  if (n > 0) std::memcpy(t.data_ptr<std::uint8_t>(), bytes.data() + 8, static_cast<std::size_t>(n));
  return t.to(torch::kInt64);
}

TrainTest load_idx_dir(const std::string& dir, const std::string& name) {
  auto load = [&](const char* images, const char* labels) {
    Dataset ds;
    ds.name = name;
    ds.images = read_idx_images((fs::path(dir) / images).string());
    ds.labels = read_idx_labels((fs::path(dir) / labels).string());
    if (ds.images.size(0) != ds.labels.size(0)) {
      throw DataError(fmt::format("{}: {} has {} images but {} has {} labels", dir, images, ds.images.size(0), labels,
                                  ds.labels.size(0)));
    }
    const auto max_label = ds.labels.numel() > 0 ? ds.labels.max().item<std::int64_t>() : 0;
    if (max_label > 9) {
      throw DataError(fmt::format("{}: label {} out of range (expected 0..9)", (fs::path(dir) / labels).string(),
                                  max_label));
    }
    ds.num_classes = 10;
    if (name == "mnist") {
      ds.mean = {0.1307f};
      ds.std = {0.3081f};
    } else {
      ds.mean = {0.2860f};
      ds.std = {0.3530f};
    }
    return ds;
  };
  TrainTest tt{load("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
               load("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")};
  // A network trained on one image size cannot be tested on another.
  if (tt.train.height() != tt.test.height() || tt.train.width() != tt.test.width()) {
    throw DataError(fmt::format("{}: t10k-images-idx3-ubyte holds {}x{} images, train-images-idx3-ubyte {}x{}; "
                                "expected the same size",
                                dir, tt.test.height(), tt.test.width(), tt.train.height(), tt.train.width()));
  }
  return tt;
}

}  // namespace fhist::data
