#pragma once
// The command objective's protocol: one JSON object per epoch on the script's standard output. No Torch.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace fhist::command {

// One epoch as the script reported it. Measurements it did not report are NaN.
struct MetricsLine {
  std::int64_t epoch = 0;
  double train_loss = 0.0;
  double val_acc = 0.0;              // a fraction in [0, 1]
  double val_loss = 0.0;
  double params = 0.0;
  std::optional<double> seconds;     // the script's own timing of the epoch, if it gave one
  std::vector<std::string> given;    // the keys the line had (train_loss, val_acc, ...)
  nlohmann::json metrics = nlohmann::json::object();  // every other key, as given: the user's own metrics
  bool has(const std::string& key) const;
};

// A line of the script's standard output: a metrics line (a JSON object), or nullopt for a line of its own log.
// Python's json.dumps writes a non-finite float as NaN / Infinity / -Infinity, which JSON lacks: they are read as
// not finite (a diverged run). Throws InputError for a line that is meant as metrics and is not valid: an object
// without an integer "epoch" >= 1, a known key of the wrong type, a val_acc outside [0, 1], a line that starts with
// '{' and names "epoch" but is not JSON.
std::optional<MetricsLine> parse_metrics_line(const std::string& line);

// The keys the protocol gives a meaning to (the rest are user metrics).
const std::vector<std::string>& known_keys();

}  // namespace fhist::command
