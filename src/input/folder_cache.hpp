#pragma once
// Internal to folder.cpp and folder_cache.cpp: the files an image folder was found to hold, and the memory-mapped
// cache of their decoded pixels (key, file format, reading, writing, where it lives). No Torch.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "input/input.hpp"

namespace fhist::input::detail {

// One file found below a class folder.
struct File {
  std::string rel;  // relative to DIR with '/': stable if DIR moves, so it goes into notes and the cache key
  std::int64_t label = 0;
  int w = 0, h = 0;
  bool usable = true;
};

// One split's class folders and files, as found on disk.
struct SplitFiles {
  std::string name;    // train, val or test ("train" also when DIR itself holds the class folders)
  std::string prefix;  // "" or "train/", "val/", "test/"
  std::vector<std::string> class_dirs;
  std::vector<File> files;  // by class index, then by path
};

// The alignment of every split's pixel block in the cache file (and of its offset in the JSON header).
constexpr std::size_t kAlign = 64;

// `n` rounded up to a multiple of kAlign.
inline std::size_t align_up(std::size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

// Where one split's pixels lie in the cache file.
struct Block {
  std::string split;
  std::size_t offset = 0, bytes = 0;  // offset from the first 64-byte boundary after the JSON header
};

// The split of `out` called train, val or test, created if absent (val and test).
Split& split_named(Loaded& out, const std::string& name);

// The Loaded that `meta` describes, without pixels; throws on anything inconsistent (a damaged cache).
Loaded from_meta(const nlohmann::json& meta, std::vector<Block>& blocks);

// The cache key: changes with the cache version, the options, the class folders, and each file's path, size, mtime.
std::uint64_t cache_key(const std::filesystem::path& root, const std::vector<SplitFiles>& splits,
                        const DataOptions& o);

// Maps a cache file read-only; empty when it is missing or fails any check (then it is decoded and written again).
std::optional<Loaded> read_cache(const std::string& path, std::uint64_t key);

// Writes header, JSON and 64-byte-aligned pixel blocks atomically; throws when the file cannot be written.
void write_cache(const std::string& path, std::uint64_t key, const nlohmann::json& meta,
                 const std::vector<std::vector<unsigned char>>& pixels);

// The folders to try for the cache, in order: --cache-dir alone, else DIR/.fhist-cache then ~/.cache/fhist.
std::vector<std::filesystem::path> cache_folders(const std::filesystem::path& root, const DataOptions& o);

}  // namespace fhist::input::detail
