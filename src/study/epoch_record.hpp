#pragma once
// One epoch as a user's loop reports it (the command objective's JSON line, ask-and-tell's report), and its row in
// the journal: one codec for both. No Torch.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "exec/executor.hpp"
#include "score/scores.hpp"

namespace fhist::study {

struct EpochRecord {
  std::int64_t epoch = 0;                 // 1-based
  // Not reported: nullopt. Reported but not finite (a diverged run): NaN.
  std::optional<double> train_loss;       // mean training loss of the epoch
  std::optional<double> val_acc;          // validation accuracy, a fraction in [0, 1]
  std::optional<double> val_loss;         // validation loss
  std::optional<double> params;           // parameter count of the network
  std::optional<std::int64_t> num_classes;  // classes of the task: acc-tse compares the loss with ln(C)
  std::optional<double> seconds;          // seconds the epoch took (else the time since the previous one)
  nlohmann::json metrics = nlohmann::json::object();  // the user's own metrics, stored as given

  // Throws InputError: an epoch < 1, a val_acc outside [0, 1], negative seconds, metrics that are not an object.
  void validate() const;
  // What the search needs of every record: val_acc (the incumbent is the best validation accuracy at the full
  // budget, the report reads it) and what `estimator` ranks by (train_loss for the TSE family, val_loss for
  // val-loss). Throws InputError naming the missing key and why.
  void check_has(const std::vector<std::string>& keys, const std::string& estimator) const;
  // The value of a --metric: val_acc, val_loss, train_loss, or a number among the user's metrics (null = NaN, a
  // diverged run); nullopt where the record has none. Throws InputError where the user's key is not a number.
  std::optional<double> value_of(const std::string& metric) const;
};

// The keys of EpochRecord an estimator ranks by, with the search's metric first. Throws InputError for an estimator
// that needs the network's features (fh, refit, ...), which a user's loop does not report.
std::vector<std::string> keys_needed(const std::string& estimator, const std::string& metric = "val_acc");

// The journal's row for `r`: the measurements under the journal's names (original_val_acc, original_nll, ...), the
// user's metrics, and every registry score after it. Appends `r` to `history` (the trial's epochs before it). With a
// metric other than val_acc the row also holds "metric_value" (the metric as reported) and "minimize" (true for
// --direction minimize): score::measures_from_json ranks by them, so every reader of the row agrees.
nlohmann::json epoch_row(const EpochRecord& r, score::TrialHistory& history, double seconds,
                         const std::string& metric = "val_acc", bool minimize = false);

// A job that trained its whole budget: `r` gets the network's accuracy at its last epoch and `estimator`'s score
// (named `name` in messages), state complete, or diverged (score -inf, with the reason) where the score is not
// finite. `history` holds epochs 1..r.budget_epochs.
void score_outcome(exec::Outcome& r, const score::TrialHistory& history, const score::Estimator& estimator,
                   const std::string& name);

}  // namespace fhist::study
