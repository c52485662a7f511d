#pragma once
// A search's final evaluation (fhist evaluate): retrain one trial's configuration from scratch on train +
// validation and measure its accuracy on the test set, the paper's protocol. Nothing is selected by it.
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "space/space.hpp"

namespace fhist::train {
struct EpochRecord;
}

namespace fhist::objective {

struct EvaluateOptions {
  std::string journal;
  std::int64_t trial = -1;       // -1: the search's incumbent
  std::int64_t max_budget = 0;   // epochs; 0: the search's --max-budget
  std::string device = "cpu";    // resolved ("cpu", "cuda:0")
  bool bf16 = false;
  bool channels_last = false;
  bool store = true;             // append the result to the journal (study::add_evaluation)
};

struct EvaluateProgress {
  // Before training: the trial, its configuration, the training images and the epochs.
  std::function<void(std::int64_t, const space::Config&, std::int64_t, std::int64_t)> started;
  // After each epoch (original_val_acc is the test accuracy here).
  std::function<void(const train::EpochRecord&)> epoch;
};

// The result as JSON ({"journal", "trial", "config", "max_budget", "test_acc", "seed", "device", "threads",
// "seconds", "finished_at", "fhist_version", "epochs": [...]}); with `store` also appended to the journal, without
// "journal". InputError for a journal with no finished trial, an unknown trial, or (with `store`) a journal that a
// running search holds, before any training.
nlohmann::json evaluate_trial(const EvaluateOptions& options, const EvaluateProgress& progress = {});

}  // namespace fhist::objective
