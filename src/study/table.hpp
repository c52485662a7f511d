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
  // the parameter is; a categorical mismatch counts 1). Rows marked in `used` are skipped while any is left, so a
  // search draws the table's configurations without replacement, as tabular NAS benchmarks are sampled (a search with
  // more trials than rows reuses them). Among equally near rows: a uniformly random one with `rng`, else the lowest
  // index (lowest-index ties made some rows of a categorical space up to 5x likelier than others).
  std::size_t nearest(const space::Config& c, const std::vector<bool>* used = nullptr,
                      space::Rng* rng = nullptr) const;
  // A row drawn uniformly among those not marked in `used` (among all rows once every one is used): what a uniform
  // draw of the space becomes on a table, so that every row is equally likely, whatever the space's geometry.
  std::size_t draw(space::Rng& rng, const std::vector<bool>& used) const;
  // The row holding exactly `c` (a configuration a search drew from this table); the first of them not marked in
  // `used` where rows repeat a configuration (a bootstrap resample does). Throws Error if no row holds it.
  std::size_t row_of(const space::Config& c, const std::vector<bool>& used) const;
  // The table made of rows `rows` of this one, repeats allowed: a bootstrap resample, to put the table's own noise
  // (which configurations it happened to hold, and their measured accuracies) into a search's confidence interval.
  BenchmarkTable resample(const std::vector<std::size_t>& rows) const;
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
  // The best test accuracy among the rows this search drew, minus test_acc: what its ranking lost, apart from which
  // configurations it happened to draw.
  double drawn_regret = 0.0;
  // Regret of the incumbent when the search had spent k x `anytime_epochs` epochs, k = 1..: the search's result
  // had it been stopped there (NaN before its first result; its final regret once it has finished).
  std::vector<double> anytime;
  std::int64_t epochs = 0;        // epochs the search spent
  double seconds = 0.0;           // training seconds those epochs took when the table was built
};

struct ReplayOptions {
  // Rounds of HyperBand with `base`'s budgets that each search may spend: hyperband and bohb run this many
  // iterations; random and top-k are compute-matched to it (random: enough full-budget trials to spend it; top-k:
  // this many rounds, each with as many first-budget trials as one HyperBand round's epochs allow). sh and asha run
  // their one bracket of base.sched.n_configs.
  int rounds = 1;
  // Anytime regret is recorded at every multiple of this many epochs up to rounds x it (0 = one HyperBand round's).
  std::int64_t anytime_epochs = 0;
};

// Every (algo, estimator, seed) search over the table, in that nesting order, each with `base`'s budgets (eta,
// min/max budget, n_configs, top_k). Deterministic: a run depends only on its (algo, estimator, seed).
std::vector<ReplayRun> replay_table(const BenchmarkTable& table, const StudyOptions& base,
                                    const std::vector<std::string>& algos, const std::vector<std::string>& estimators,
                                    const std::vector<std::uint64_t>& seeds, const ReplayOptions& replay = {});

// The epochs of one HyperBand round with these budgets: what the baselines are matched to.
std::int64_t hyperband_round_epochs(const sched::SchedulerOptions& s);

// `base` as `algo` runs it in a replay compute-matched to `rounds` HyperBand rounds (see ReplayOptions).
StudyOptions matched_options(const StudyOptions& base, const std::string& algo, int rounds);

// Mean regret of each (algo, estimator) with a 95% interval that includes the table's own noise: `replicates`
// bootstrap resamples of the rows (seeded by `seed`), each searched with `seeds`; the interval is the 2.5 and 97.5
// percentiles of the replicates' mean regrets. The means are those of `point`, replay_table's runs of the table
// itself with the same arguments, when the caller has them already (else it runs them).
struct BootstrapCell {
  std::string algo, estimator;
  double mean = 0.0, low = 0.0, high = 0.0;            // regret, fraction of accuracy
  std::vector<double> anytime_mean, anytime_low, anytime_high;
};
std::vector<BootstrapCell> bootstrap_replay(const BenchmarkTable& table, const StudyOptions& base,
                                            const std::vector<std::string>& algos,
                                            const std::vector<std::string>& estimators,
                                            const std::vector<std::uint64_t>& seeds, const ReplayOptions& replay,
                                            int replicates, std::uint64_t seed,
                                            const std::vector<ReplayRun>* point = nullptr);

}  // namespace fhist::study

namespace fhist::study {

// How well each estimator ranks the table's configurations by their final test accuracy (score::rank_by_epoch).
using RankRow = score::RankRow;

// Every estimator at every epoch 1..table.epochs(), scores recomputed from the stored measurements.
std::vector<RankRow> rank_table(const BenchmarkTable& table, const std::vector<std::string>& estimators);

}  // namespace fhist::study
