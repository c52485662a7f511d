#include "command/metrics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/errors.hpp"

namespace fhist::command {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// NaN, Infinity and -Infinity outside strings become null, so that nlohmann-json reads Python's output.
std::string python_json_to_json(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  bool in_string = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < s.size()) out += s[++i];
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
      out += c;
      continue;
    }
    auto word = [&](const char* w, std::size_t at) { return s.compare(at, std::char_traits<char>::length(w), w) == 0; };
    if (word("NaN", i)) {
      out += "null";
      i += 2;
    } else if (word("Infinity", i)) {
      out += "null";
      i += 7;
    } else if (c == '-' && word("Infinity", i + 1)) {
      out += "null";
      i += 8;
    } else {
      out += c;
    }
  }
  return out;
}

std::string shorten(const std::string& line) { return line.size() > 200 ? line.substr(0, 200) + "..." : line; }

}  // namespace

const std::vector<std::string>& known_keys() {
  static const std::vector<std::string> keys = {"epoch",  "train_loss", "val_acc",    "val_loss",
                                                "params", "seconds",    "num_classes"};
  return keys;
}

std::optional<study::EpochRecord> parse_metrics_line(const std::string& line) {
  const auto first = line.find_first_not_of(" \t\r");
  if (first == std::string::npos || line[first] != '{') return std::nullopt;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(python_json_to_json(line));
  } catch (const nlohmann::json::exception& e) {
    if (line.find("\"epoch\"") == std::string::npos) return std::nullopt;  // a log line that happens to start with {
    throw InputError(fmt::format("a metrics line is not valid JSON ({}): {}", e.what(), shorten(line)));
  }
  if (!j.is_object()) return std::nullopt;
  study::EpochRecord m;
  const auto e = j.find("epoch");
  if (e == j.end()) {
    throw InputError(fmt::format("a metrics line has no \"epoch\" (each line is one epoch: {{\"epoch\": 1, "
                                 "\"train_loss\": 0.5, \"val_acc\": 0.8}}): {}",
                                 shorten(line)));
  }
  if (!e->is_number_integer() || e->get<std::int64_t>() < 1) {
    throw InputError(fmt::format("a metrics line's \"epoch\" must be an integer >= 1 (got {}): {}", e->dump(),
                                 shorten(line)));
  }
  m.epoch = e->get<std::int64_t>();
  auto number = [&](const char* key, std::optional<double>& out) {
    const auto it = j.find(key);
    if (it == j.end()) return;
    if (it->is_null()) {  // NaN / Infinity from Python: not finite
      out = kNaN;
      return;
    }
    if (!it->is_number()) {
      throw InputError(fmt::format("epoch {}: \"{}\" must be a number (got {})", m.epoch, key, it->dump()));
    }
    out = it->get<double>();
  };
  number("train_loss", m.train_loss);
  number("val_acc", m.val_acc);
  number("val_loss", m.val_loss);
  number("params", m.params);
  number("seconds", m.seconds);
  if (const auto c = j.find("num_classes"); c != j.end()) {
    if (!c->is_number_integer()) {
      throw InputError(fmt::format("epoch {}: \"num_classes\" must be a whole number >= 2 (got {})", m.epoch,
                                   c->dump()));
    }
    m.num_classes = c->get<std::int64_t>();
  }
  for (const auto& [key, value] : j.items()) {
    const auto& known = known_keys();
    if (std::find(known.begin(), known.end(), key) == known.end()) m.metrics[key] = value;
  }
  m.validate();
  return m;
}

}  // namespace fhist::command
