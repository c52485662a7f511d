#pragma once
// Reading a journal for people and plots: flat tables (CSV / JSON) of its epochs, results and trials, and a ranking
// of the trials. Read-only, so it works while a search is running on the journal. No Torch in this header.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "score/rank.hpp"

namespace fhist::report {

// A flat table: one column per field, configuration parameters flattened to one column each (named after the
// parameter). Cells are JSON scalars; null where there is no value (NaN, a failed trial's score).
struct Table {
  std::vector<std::string> columns;
  std::vector<std::vector<nlohmann::json>> rows;
};

// "epochs": a row per trained epoch (trial, epoch, bracket, train_loss, original_val_acc, refit_val_acc, fh_val_acc,
//           fh_paper_val_acc, original_nll (score::measure_keys), test_acc (tables, at the full budget), parameters,
//           lr, seconds,
//           estimate_seconds, metric_value (a study with its own --metric), user_<key> for a user loop's own
//           metrics, window_acc_1..K, score_<name> for every registry estimator, the configuration);
// "results": a row per finished job in journal order (seq, trial, bracket, rung, budget_epochs, score, state,
//           seconds, message, the configuration);
// "ranks": how well each registry estimator ranks the trials that reached the largest budget, epoch by epoch
//           (estimator, is_accuracy, epoch, configs, kendall, spearman, top1_regret, mean_abs_error, vs_current,
//           target): journal_ranks, the numbers the HTML report plots;
// "trials": a row per trial (trial, bracket, state, message, budget_epochs reached, score and original_val_acc at
//           that budget, metric_value there (a study with its own --metric), test_acc there (tables), the
//           configuration).
// `estimator` (a registry name, optional): also a column with its score recomputed from the stored measurements
// ("score" in epochs, "score_<name>" in trials), e.g. tse-e:3, which is not stored per epoch.
// Throws InputError for another name, store::StoreError for a journal that cannot be read.
Table journal_table(const std::string& journal, const std::string& name, const std::string& estimator = "");
std::vector<std::string> journal_table_names();

// Rank statistics of a journal, epoch by epoch: the trials whose last result is a finished job at the search's
// largest budget, ranked by each estimator's score after epoch e against their final accuracy there: the test
// accuracy where the journal has one at that epoch for every such trial (tables), else the network's own validation
// accuracy at the largest budget. Scores are recomputed from the stored measurements, as fhist table rank does, so
// on a table journal the rows equal rank_table's.
struct JournalRanks {
  std::vector<score::RankRow> rows;      // estimator-major, epochs 1..max_budget
  std::string target;                    // "test_acc" | "original_val_acc" | "metric_value" (a study's --metric)
  std::vector<std::int64_t> trials;      // the trials ranked
  std::int64_t max_budget = 0;
};
// `estimators` empty: every registry estimator. Throws InputError / store::StoreError as journal_table.
JournalRanks journal_ranks(const std::string& journal, const std::vector<std::string>& estimators = {});

// One trial's last finished job, as the list of best configurations reads it.
struct LastResult {
  std::int64_t trial = 0;
  std::int64_t budget_epochs = 0;
  double score = 0.0;
  double val_acc = 0.0;   // the network's own validation accuracy at that budget (NaN if not recorded)
  bool complete = false;  // the job finished (not failed or diverged)
};
// The best configurations, ranked as the search picks its incumbent (study::improves): the trials whose last result
// is complete at the largest budget any such result reached; by validation accuracy when that budget is the full
// one (`max_budget`), else by score. At most `n`, best first; equals keep the order of `last`. The report's text,
// its --json and the HTML page all list these.
struct TopConfigurations {
  std::int64_t budget_epochs = 0;
  bool by_val_acc = false;
  std::vector<LastResult> rows;
};
TopConfigurations top_configurations(const std::vector<LastResult>& last, std::int64_t max_budget, int n);

// RFC 4180 CSV: a header line, then the rows; fields with a comma, quote or line break are quoted.
std::string to_csv(const Table& table);
// An array of objects, one per row.
nlohmann::json to_json(const Table& table);

}  // namespace fhist::report
