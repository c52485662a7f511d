// The parts of fhist::input every reader shares: the options' JSON form, the spec grammar, the dispatch, and the
// description `fhist data` prints.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <numeric>
#include <random>

#include "core/errors.hpp"
#include "input/input.hpp"

namespace fhist::input {

nlohmann::json DataOptions::to_json() const {
  return {{"target", target},
          {"csv_skip_rows", csv_skip_rows},
          {"csv_header", csv_header},
          {"image_height", image_height},
          {"image_width", image_width},
          {"image_channels", image_channels},
          {"skip_bad_images", skip_bad_images},
          {"cache_dir", cache_dir},
          {"holdout", holdout}};
}

DataOptions DataOptions::from_json(const nlohmann::json& j) {
  DataOptions o;
  if (!j.is_object()) return o;
  o.target = j.value("target", o.target);
  o.csv_skip_rows = j.value("csv_skip_rows", o.csv_skip_rows);
  o.csv_header = j.value("csv_header", o.csv_header);
  o.image_height = j.value("image_height", o.image_height);
  o.image_width = j.value("image_width", o.image_width);
  o.image_channels = j.value("image_channels", o.image_channels);
  o.skip_bad_images = j.value("skip_bad_images", o.skip_bad_images);
  o.cache_dir = j.value("cache_dir", o.cache_dir);
  o.holdout = j.value("holdout", o.holdout);
  return o;
}

bool DataOptions::operator==(const DataOptions& o) const { return to_json() == o.to_json(); }

std::pair<int, int> parse_image_size(const std::string& text) {
  const auto x = text.find_first_of("xX");
  auto number = [&](const std::string& s) {
    std::size_t used = 0;
    int v = 0;
    try {
      v = std::stoi(s, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != s.size() || v < 1 || v > 4096) {
      throw InputError(fmt::format("--image-size '{}': expected HxW with sides 1..4096, e.g. 28x28", text));
    }
    return v;
  };
  if (x == std::string::npos) throw InputError(fmt::format("--image-size '{}': expected HxW, e.g. 28x28", text));
  return {number(text.substr(0, x)), number(text.substr(x + 1))};
}

Source parse_source(const std::string& spec) {
  const auto colon = spec.find(':');
  if (colon == std::string::npos) return {};
  const std::string kind = spec.substr(0, colon);
  Source s;
  if (kind == "folder") {
    s.kind = SourceKind::kFolder;
  } else if (kind == "npy") {
    s.kind = SourceKind::kNpy;
  } else if (kind == "csv") {
    s.kind = SourceKind::kCsv;
  } else {
    return {};
  }
  s.path = spec.substr(colon + 1);
  if (s.path.empty()) {
    throw InputError(fmt::format("--data '{}': {} needs a path, e.g. {}:{}", spec, kind, kind,
                                 kind == "csv" ? "/path/to/table.csv" : "/path/to/folder"));
  }
  return s;
}

bool is_user_data(const std::string& spec) { return parse_source(spec).kind != SourceKind::kBuiltin; }

Bytes own_bytes(std::vector<unsigned char> v) {
  auto owned = std::make_shared<std::vector<unsigned char>>(std::move(v));
  Bytes b;
  b.data = owned->data();
  b.size = owned->size();
  b.owner = std::move(owned);
  return b;
}

namespace {

Split take_rows(const Split& s, const std::vector<std::int64_t>& rows) {
  Split out;
  out.shape = s.shape;
  out.shape[0] = static_cast<std::int64_t>(rows.size());
  out.float32 = s.float32;
  const std::size_t row_bytes = s.values.size / static_cast<std::size_t>(s.size());
  std::vector<unsigned char> bytes(rows.size() * row_bytes);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    std::copy_n(s.values.data + static_cast<std::size_t>(rows[i]) * row_bytes, row_bytes, bytes.data() + i * row_bytes);
    out.labels.push_back(s.labels[static_cast<std::size_t>(rows[i])]);
  }
  out.values = own_bytes(std::move(bytes));
  return out;
}

// A fixed draw (not the study's seed): every search and evaluation of the data sees the same test examples.
void hold_out(Loaded& d, double fraction) {
  const auto n = d.train.size();
  const auto k = static_cast<std::int64_t>(std::llround(fraction * static_cast<double>(n)));
  if (k < 1 || n - k < 2) {
    throw InputError(fmt::format("--holdout {}: {} training examples leave no test or no training set", fraction, n));
  }
  std::vector<std::int64_t> perm(static_cast<std::size_t>(n));
  std::iota(perm.begin(), perm.end(), 0);
  std::mt19937_64 rng(0x686f6c646f7574ULL);  // "holdout"
  std::shuffle(perm.begin(), perm.end(), rng);
  std::vector<std::int64_t> test(perm.begin(), perm.begin() + k), train(perm.begin() + k, perm.end());
  std::sort(test.begin(), test.end());
  std::sort(train.begin(), train.end());
  d.test = take_rows(d.train, test);
  d.train = take_rows(d.train, train);
  d.notes.push_back(fmt::format("--holdout {}: {} of the {} training examples set aside as the test split", fraction,
                                k, n));
}

}  // namespace

Loaded load(const std::string& spec, const DataOptions& options, const ProgressFn& progress) {
  const auto source = parse_source(spec);
  if (!(options.holdout >= 0.0 && options.holdout < 1.0)) {
    throw InputError(fmt::format("--holdout {}: expected a fraction in [0, 1)", options.holdout));
  }
  Loaded out;
  switch (source.kind) {
    case SourceKind::kFolder: out = load_image_folder(source.path, options, progress); break;
    case SourceKind::kNpy: out = load_npy_dir(source.path, options); break;
    case SourceKind::kCsv: out = load_csv(source.path, options); break;
    case SourceKind::kBuiltin:
      throw InputError(fmt::format("--data '{}': not user data (expected folder:DIR, npy:DIR or csv:FILE)", spec));
  }
  if (source.kind != SourceKind::kCsv && !options.target.empty()) {
    throw InputError(fmt::format("--target '{}' is for csv:FILE data; {} has its labels already", options.target, spec));
  }
  if (options.holdout > 0.0) {
    if (out.test) {
      throw InputError(fmt::format("--holdout: {} has a test split of its own already; drop --holdout", spec));
    }
    hold_out(out, options.holdout);
  }
  out.spec = spec;
  return out;
}

namespace {

nlohmann::json split_json(const Split& s, const std::vector<std::string>& classes) {
  std::vector<std::int64_t> counts(classes.size(), 0);
  for (auto y : s.labels) ++counts[static_cast<std::size_t>(y)];
  nlohmann::json per_class = nlohmann::json::object();
  for (std::size_t c = 0; c < classes.size(); ++c) per_class[classes[c]] = counts[c];
  return {{"size", s.size()}, {"shape", s.shape}, {"dtype", s.float32 ? "float32" : "uint8"}, {"classes", per_class}};
}

}  // namespace

nlohmann::json describe(const Loaded& d) {
  nlohmann::json j;
  j["data"] = d.spec;
  j["kind"] = d.tabular ? "table" : "images";
  j["classes"] = d.classes;
  if (d.tabular) {
    j["features"] = d.train.shape.size() > 1 ? d.train.shape[1] : 0;
    if (!d.features.empty()) j["feature_names"] = d.features;
  } else if (d.train.shape.size() == 4) {
    j["channels"] = d.train.shape[1];
    j["height"] = d.train.shape[2];
    j["width"] = d.train.shape[3];
  }
  j["splits"]["train"] = split_json(d.train, d.classes);
  if (d.val) j["splits"]["val"] = split_json(*d.val, d.classes);
  if (d.test) j["splits"]["test"] = split_json(*d.test, d.classes);
  j["validation"] = d.val ? "the data's own validation split"
                          : "a seeded split of train (--val-size; 0 = 20% of the examples)";
  j["test"] = d.test ? "the data's own test split" : "none (fhist evaluate and test accuracies need one)";
  j["skipped"] = d.skipped;
  j["notes"] = d.notes;
  // Problems a user should see before spending hours: tiny classes, strong imbalance, a class missing from a split.
  std::vector<std::string> problems;
  std::vector<std::int64_t> counts(d.classes.size(), 0);
  for (auto y : d.train.labels) ++counts[static_cast<std::size_t>(y)];
  const auto [lo, hi] = std::minmax_element(counts.begin(), counts.end());
  for (std::size_t c = 0; c < counts.size(); ++c) {
    if (counts[c] < 10) {
      problems.push_back(fmt::format("class '{}' has only {} training examples", d.classes[c], counts[c]));
    }
  }
  if (!counts.empty() && *lo > 0 && *hi >= 10 * *lo) {
    problems.push_back(fmt::format("class imbalance: the largest class has {}x the examples of the smallest ({} vs {})",
                                   *hi / *lo, *hi, *lo));
  }
  const std::pair<const char*, const std::optional<Split>*> given[] = {{"val", &d.val}, {"test", &d.test}};
  for (const auto& [name, split] : given) {
    if (!split->has_value()) continue;
    std::vector<std::int64_t> n(d.classes.size(), 0);
    for (auto y : (*split)->labels) ++n[static_cast<std::size_t>(y)];
    for (std::size_t c = 0; c < n.size(); ++c) {
      if (n[c] == 0) problems.push_back(fmt::format("class '{}' has no examples in the {} split", d.classes[c], name));
    }
  }
  if (d.skipped > 0) problems.push_back(fmt::format("{} files skipped (--skip-bad-images)", d.skipped));
  j["problems"] = problems;
  return j;
}

}  // namespace fhist::input
