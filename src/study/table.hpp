#pragma once
// A tabular benchmark built by `fhist table`: N configurations of a space trained to the full budget with every
// epoch's measurements and the final test accuracy. Searches run against it instead of training (the table
// objective): candidates are restricted to its configurations, as on tabular NAS benchmarks. No Torch.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "score/rank.hpp"
#include "score/scores.hpp"
#include "space/space.hpp"
#include "study/study.hpp"

namespace fhist::study {

struct TableRow {
  std::int64_t trial = 0;             // the trial id in the table's journal (its training seed derives from it)
  space::Config config;
  std::string state;                  // complete | failed | diverged
  std::string message;
  std::vector<nlohmann::json> epochs; // epoch records 1..n (n = the full budget unless the trial failed)
  double test_acc = 0.0;              // at the full budget (NaN if it never got there)
};

class BenchmarkTable {
 public:
  // Reads a table journal (read-only: works while `fhist table` builds it; only finished trials are used). Throws
  // InputError if the file is missing or is not a table, or has no finished configuration.
  static BenchmarkTable load(const std::string& journal);

  const StudyOptions& options() const { return options_; }   // what the table was built with
  const space::SearchSpace& space() const { return space_; }
  const std::vector<TableRow>& rows() const { return rows_; }
  std::int64_t epochs() const { return options_.sched.max_budget; }
  const std::string& path() const { return path_; }
  // The row whose configuration is nearest to `c` (parameters on the unit scale of SearchSpace::encode, log where
  // the parameter is; a categorical mismatch counts 1); the lowest index among equals. Rows marked in `used` are
  // skipped while any is left, so a search draws the table's configurations without replacement, as tabular NAS
  // benchmarks are sampled (a search with more trials than rows reuses them).
  std::size_t nearest(const space::Config& c, const std::vector<bool>* used = nullptr) const;
  // The best test accuracy among the rows: the reference of every regret.
  double best_test() const;
  // Row `row`'s measurements through epoch `epochs` (fewer if the row has fewer), as estimators read them.
  score::TrialHistory history(std::size_t row, std::int64_t epochs) const;
  // Whether `estimator` has a finite score on some row (a table built before fhist recorded, e.g., validation
  // losses has none for val-loss and fh-loss).
  bool supports(const std::string& estimator) const;

 private:
  std::string path_;
  StudyOptions options_;
  space::SearchSpace space_;
  std::vector<TableRow> rows_;
  std::vector<std::vector<double>> encoded_;
};

}  // namespace fhist::study

namespace fhist::study {

// The table objective (StudyOptions::objective "table"): each job's epochs and score come from the row of its
// configuration in ctx.table (the loop restricts the trials to the table's rows), not from training. InputError
// without a table.
std::unique_ptr<exec::Objective> make_table_objective(const ObjectiveContext& ctx);

// One replayed search over a table.
struct ReplayRun {
  std::string algo, estimator;
  std::uint64_t seed = 0;
  std::int64_t trial = -1;        // the incumbent's trial id in the replay, -1 if none finished
  std::int64_t table_trial = -1;  // its row's trial id in the table
  std::int64_t budget_epochs = 0; // the budget the incumbent reached
  double test_acc = 0.0;          // the incumbent's final test accuracy (from the table)
  double regret = 0.0;            // the table's best test accuracy minus test_acc
  std::int64_t epochs = 0;        // epochs the search spent
  double seconds = 0.0;           // training seconds those epochs took when the table was built
};

// Every (algo, estimator, seed) search over the table, in that nesting order, each with `base`'s budgets (eta,
// min/max budget, n_configs, iterations). Deterministic: a run depends only on its (algo, estimator, seed).
std::vector<ReplayRun> replay_table(const BenchmarkTable& table, const StudyOptions& base,
                                    const std::vector<std::string>& algos, const std::vector<std::string>& estimators,
                                    const std::vector<std::uint64_t>& seeds);

}  // namespace fhist::study

namespace fhist::study {

// How well each estimator ranks the table's configurations by their final test accuracy (score::rank_by_epoch).
using RankRow = score::RankRow;

// Every estimator at every epoch 1..table.epochs(), scores recomputed from the stored measurements.
std::vector<RankRow> rank_table(const BenchmarkTable& table, const std::vector<std::string>& estimators);

}  // namespace fhist::study
