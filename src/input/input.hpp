#pragma once
// The user's own data read from disk into plain arrays: image folders, NumPy arrays and CSV tables. No Torch:
// data/ wraps these arrays in tensors, and `fhist data` describes them without training anything.
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace fhist::input {

// How the user's data is read; stored with a study so a resume reads it exactly the same way.
struct DataOptions {
  std::string target;            // csv: the column that holds the classes (a name, a 1-based number, or "last")
  int csv_skip_rows = 0;         // csv: lines before the header (or the data), e.g. a title line
  bool csv_header = true;        // csv: the first row names the columns; false: columns are named 1, 2, ...
  int image_height = 0;          // folder: 0 = the most common size among the images
  int image_width = 0;
  int image_channels = 0;        // folder: 1 or 3; 0 = 3 if any image has colour, else 1
  bool skip_bad_images = false;  // folder: skip (and count) unreadable and stray files instead of refusing
  std::string cache_dir;         // folder: where the decoded cache lives ("" = DIR/.fhist-cache, else ~/.cache/fhist)
  // Data without a test split: this fraction of the training examples (a fixed draw, the same for every seed) is set
  // aside as the test split, for fhist evaluate and tables. 0 = none.
  double holdout = 0.0;

  nlohmann::json to_json() const;
  // Missing keys keep their defaults (journals written before user data existed).
  static DataOptions from_json(const nlohmann::json& j);
  bool operator==(const DataOptions& o) const;
};

// "HxW" (e.g. "28x28") for --image-size; throws InputError naming the flag.
std::pair<int, int> parse_image_size(const std::string& text);

enum class SourceKind { kBuiltin, kFolder, kNpy, kCsv };
struct Source {
  SourceKind kind = SourceKind::kBuiltin;
  std::string path;  // DIR or FILE after the prefix; empty for kBuiltin
};
// "folder:DIR", "npy:DIR", "csv:FILE"; anything else is kBuiltin (data/ parses those). Throws InputError for a user
// kind with an empty path.
Source parse_source(const std::string& spec);
bool is_user_data(const std::string& spec);

// Bytes that are either owned or memory-mapped; shared, so a tensor made over them keeps them alive.
struct Bytes {
  std::shared_ptr<const void> owner;
  const unsigned char* data = nullptr;
  std::size_t size = 0;
};
Bytes own_bytes(std::vector<unsigned char> v);

// One split of labelled examples.
struct Split {
  // Images: [N, C, H, W]; tables: [N, F]. C order.
  std::vector<std::int64_t> shape;
  bool float32 = false;  // false: uint8 values (images on the 0..255 scale); true: float32
  Bytes values;          // prod(shape) * (float32 ? 4 : 1) bytes
  std::vector<std::int64_t> labels;  // N entries in [0, classes)
  std::int64_t size() const { return shape.empty() ? 0 : shape[0]; }
};

struct Loaded {
  std::string spec;                      // as given, e.g. "folder:/data/cats"
  bool tabular = false;                  // [N, F] feature rows (csv, 2-D npy): the mlp model's input
  std::vector<std::string> classes;      // class index -> name (folder name, CSV value, original label as text)
  std::vector<std::string> features;     // csv: the feature columns' names
  Split train;
  std::optional<Split> val, test;        // given by the data (DIR/val, x_val.npy, ...); absent = none given
  std::int64_t skipped = 0;              // files skipped with skip_bad_images
  std::vector<std::string> notes;        // what was found on the way (skipped files, the cache used), one line each
};

// Called with (files done, files in all) while decoding an image folder.
using ProgressFn = std::function<void(std::int64_t, std::int64_t)>;

// Reads the user's data. Throws InputError naming the file (and row/column or field) for anything a user must fix.
Loaded load(const std::string& spec, const DataOptions& options, const ProgressFn& progress = {});

// The three readers behind load(). A csv FILE may be gzip-compressed (detected by content).
Loaded load_image_folder(const std::string& dir, const DataOptions& options, const ProgressFn& progress);
Loaded load_npy_dir(const std::string& dir, const DataOptions& options);
Loaded load_csv(const std::string& file, const DataOptions& options);

// Class counts, shapes and problems found (tiny classes, imbalance), for `fhist data` and its --json.
nlohmann::json describe(const Loaded& data);

}  // namespace fhist::input
