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

bool MetricsLine::has(const std::string& key) const { return std::find(given.begin(), given.end(), key) != given.end(); }

const std::vector<std::string>& known_keys() {
  static const std::vector<std::string> keys = {"epoch", "train_loss", "val_acc", "val_loss", "params", "seconds"};
  return keys;
}

std::optional<MetricsLine> parse_metrics_line(const std::string& line) {
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
  MetricsLine m;
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
  auto number = [&](const char* key, double& out) {
    out = kNaN;
    const auto it = j.find(key);
    if (it == j.end()) return;
    m.given.emplace_back(key);
    if (it->is_null()) return;  // NaN / Infinity from Python: not finite
    if (!it->is_number()) {
      throw InputError(fmt::format("epoch {}: \"{}\" must be a number (got {})", m.epoch, key, it->dump()));
    }
    out = it->get<double>();
  };
  number("train_loss", m.train_loss);
  number("val_acc", m.val_acc);
  number("val_loss", m.val_loss);
  number("params", m.params);
  if (m.has("val_acc") && std::isfinite(m.val_acc) && (m.val_acc < 0.0 || m.val_acc > 1.0)) {
    throw InputError(fmt::format("epoch {}: \"val_acc\" must be a fraction in [0, 1] (got {}; a percentage? divide "
                                 "by 100)",
                                 m.epoch, m.val_acc));
  }
  double seconds = kNaN;
  number("seconds", seconds);
  if (m.has("seconds")) {
    if (!(seconds >= 0.0)) {
      throw InputError(fmt::format("epoch {}: \"seconds\" must be a number >= 0 (got {})", m.epoch, j["seconds"].dump()));
    }
    m.seconds = seconds;
  }
  for (const auto& [key, value] : j.items()) {
    const auto& known = known_keys();
    if (std::find(known.begin(), known.end(), key) == known.end()) m.metrics[key] = value;
  }
  return m;
}

}  // namespace fhist::command
