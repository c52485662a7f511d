// csv:FILE — a table of numbers with one class column (--target), parsed with libcsv (RFC 4180 quoting), read
// through zlib so FILE.csv.gz works as is.
#include <csv.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>

#include "core/errors.hpp"
#include "core/text.hpp"
#include "input/input.hpp"

namespace fhist::input {

namespace {

struct Rows {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> current;
  static void field(void* s, std::size_t len, void* self) {
    auto* r = static_cast<Rows*>(self);
    r->current.emplace_back(s == nullptr ? std::string() : std::string(static_cast<const char*>(s), len));
  }
  static void end(int /*c*/, void* self) {
    auto* r = static_cast<Rows*>(self);
    r->rows.push_back(std::move(r->current));
    r->current.clear();
  }
};

std::vector<std::vector<std::string>> read_records(const std::string& file) {
  std::unique_ptr<gzFile_s, decltype(&gzclose)> in(gzopen(file.c_str(), "rb"), &gzclose);
  if (!in) throw InputError(fmt::format("csv:{}: cannot open the file ({})", file, std::strerror(errno)));
  csv_parser parser;
  if (csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI | CSV_EMPTY_IS_NULL) != 0) throw Error("csv_init failed");
  std::unique_ptr<csv_parser, decltype(&csv_free)> guard(&parser, &csv_free);
  Rows rows;
  std::vector<char> buf(1 << 16);
  while (true) {
    const int n = gzread(in.get(), buf.data(), static_cast<unsigned>(buf.size()));
    if (n < 0) {
      int code = 0;
      throw InputError(fmt::format("csv:{}: read error ({})", file, gzerror(in.get(), &code)));
    }
    if (n == 0) break;
    if (csv_parse(&parser, buf.data(), static_cast<std::size_t>(n), Rows::field, Rows::end, &rows) !=
        static_cast<std::size_t>(n)) {
      throw InputError(fmt::format("csv:{}: not valid CSV after row {} ({}; a quote inside a field must be doubled)",
                                   file, rows.rows.size(), csv_strerror(csv_error(&parser))));
    }
  }
  if (csv_fini(&parser, Rows::field, Rows::end, &rows) != 0) {
    throw InputError(fmt::format("csv:{}: not valid CSV at the end of the file ({}: an unclosed quote?)", file,
                                 csv_strerror(csv_error(&parser))));
  }
  return std::move(rows.rows);
}

bool parse_number(const std::string& text, double& out) {
  if (text.empty()) return false;
  const char* begin = text.c_str();
  char* end = nullptr;
  errno = 0;
  out = std::strtod(begin, &end);
  while (*end == ' ' || *end == '\t') ++end;
  return end != begin && *end == '\0' && errno != ERANGE;
}

bool is_missing(const std::string& v) {
  std::string t = v;
  t.erase(std::remove_if(t.begin(), t.end(), [](char c) { return c == ' ' || c == '\t'; }), t.end());
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return t.empty() || t == "na" || t == "nan" || t == "null" || t == "none" || t == "?";
}

}  // namespace

Loaded load_csv(const std::string& file, const DataOptions& o) {
  const std::string who = "csv:" + file;
  if (o.target.empty()) {
    throw InputError(fmt::format("{}: --target COLUMN is required: the column that holds the classes", who));
  }
  if (o.csv_skip_rows < 0) throw InputError(fmt::format("--skip-rows must be >= 0 (got {})", o.csv_skip_rows));
  auto records = read_records(file);
  const std::size_t first = static_cast<std::size_t>(o.csv_skip_rows) + (o.csv_header ? 1 : 0);
  if (records.size() <= first) {
    throw InputError(fmt::format("{}: {} rows in all, none of them data (header row{})", who, records.size(),
                                 o.csv_skip_rows > 0 ? fmt::format(", {} skipped", o.csv_skip_rows) : ""));
  }
  // Rows are numbered as a spreadsheet shows them: the file's first row is row 1.
  std::vector<std::string> names;
  const std::size_t width = records[first].size();
  if (o.csv_header) {
    names = records[first - 1];
    for (auto& n : names) n.erase(0, n.find_first_not_of(" \t"));
  } else {
    for (std::size_t c = 0; c < width; ++c) names.push_back(std::to_string(c + 1));
  }
  std::size_t target = names.size();
  for (std::size_t c = 0; c < names.size(); ++c) {
    if (names[c] == o.target) target = c;
  }
  if (target == names.size() && o.target == "last") target = names.size() - 1;
  if (target == names.size() && !o.csv_header) {
    double k = 0;
    if (parse_number(o.target, k) && k >= 1 && k <= static_cast<double>(names.size()) && k == std::floor(k)) {
      target = static_cast<std::size_t>(k) - 1;
    }
  }
  if (target == names.size()) {
    throw InputError(fmt::format("{}: --target '{}' is not a column{}; the columns are: {}", who, o.target,
                                 did_you_mean(o.target, names), fmt::join(names, ", ")));
  }
  if (names.size() < 2) throw InputError(fmt::format("{}: needs at least one feature column beside the target", who));

  const std::size_t n = records.size() - first;
  const std::size_t f = names.size() - 1;
  std::vector<unsigned char> bytes(n * f * sizeof(float));
  std::vector<std::string> target_values(n);
  for (std::size_t r = 0; r < n; ++r) {
    const auto& rec = records[first + r];
    const std::size_t row = first + r + 1;
    if (rec.size() != names.size()) {
      throw InputError(fmt::format("{}: row {} has {} fields, the {} has {}", who, row, rec.size(),
                                   o.csv_header ? "header" : "first data row", names.size()));
    }
    std::size_t k = 0;
    for (std::size_t c = 0; c < rec.size(); ++c) {
      if (c == target) {
        if (is_missing(rec[c])) {
          throw InputError(fmt::format("{}: row {}, column '{}': the class is missing", who, row, names[c]));
        }
        target_values[r] = rec[c];
        continue;
      }
      double v = 0;
      if (is_missing(rec[c])) {
        throw InputError(fmt::format("{}: row {}, column '{}': missing value ('{}'); fill it in or drop the row", who,
                                     row, names[c], rec[c]));
      }
      if (!parse_number(rec[c], v) || !std::isfinite(v)) {
        throw InputError(fmt::format("{}: row {}, column '{}': '{}' is not a number (every column but the target "
                                     "must be numeric)",
                                     who, row, names[c], rec[c]));
      }
      const float x = static_cast<float>(v);
      std::memcpy(bytes.data() + (r * f + k) * sizeof(float), &x, sizeof(float));
      ++k;
    }
  }
  // Classes in numeric order when every value is a number, else in text order.
  bool numeric = true;
  for (const auto& v : target_values) {
    double d = 0;
    numeric = numeric && parse_number(v, d);
  }
  auto less = [numeric](const std::string& a, const std::string& b) {
    if (!numeric) return a < b;
    return std::strtod(a.c_str(), nullptr) < std::strtod(b.c_str(), nullptr);
  };
  std::map<std::string, std::int64_t, decltype(less)> index(less);
  for (const auto& v : target_values) index.emplace(v, 0);
  if (index.size() < 2) {
    throw InputError(fmt::format("{}: column '{}' holds {} distinct value(s); classification needs at least two", who,
                                 names[target], index.size()));
  }
  Loaded out;
  out.tabular = true;
  for (auto& [value, k] : index) {
    k = static_cast<std::int64_t>(out.classes.size());
    out.classes.push_back(value);
  }
  for (std::size_t c = 0; c < names.size(); ++c) {
    if (c != target) out.features.push_back(names[c]);
  }
  out.train.shape = {static_cast<std::int64_t>(n), static_cast<std::int64_t>(f)};
  out.train.float32 = true;
  out.train.values = own_bytes(std::move(bytes));
  out.train.labels.reserve(n);
  for (const auto& v : target_values) out.train.labels.push_back(index.at(v));
  out.notes.push_back(fmt::format("{} rows, {} feature columns, class column '{}'", n, f, names[target]));
  return out;
}

}  // namespace fhist::input
