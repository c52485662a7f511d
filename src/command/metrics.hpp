#pragma once
// The command objective's protocol: one JSON object per epoch on the script's standard output. No Torch.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "study/epoch_record.hpp"

namespace fhist::command {

// A line of the script's standard output: a metrics line (a JSON object), or nullopt for a line of its own log.
// Python's json.dumps writes a non-finite float as NaN / Infinity / -Infinity, which JSON lacks: they are read as
// not finite (a diverged run). Throws InputError for a line that is meant as metrics and is not valid: an object
// without an integer "epoch" >= 1, a known key of the wrong type, a val_acc outside [0, 1], a line that starts with
// '{' and names "epoch" but is not JSON.
std::optional<study::EpochRecord> parse_metrics_line(const std::string& line);

// The keys the protocol gives a meaning to (the rest are user metrics).
const std::vector<std::string>& known_keys();

}  // namespace fhist::command
