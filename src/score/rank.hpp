#pragma once
// Rank statistics for comparing estimators against the final accuracy. No Torch.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "score/scores.hpp"

namespace fhist::score {

// Spearman's rho: Pearson correlation of the ranks, ties given their average rank. NaN for fewer than 2 items or a
// constant input. NaN entries in `x` rank below every number (a failed trial scores worst).
double spearman(const std::vector<double>& x, const std::vector<double>& y);

// Kendall's tau-b: (concordant - discordant) / sqrt((n0 - n1)(n0 - n2)), n1/n2 the pairs tied in x/y. NaN when
// either input is constant or has fewer than 2 items. NaN in `x` ranks below every number.
double kendall_tau_b(const std::vector<double>& x, const std::vector<double>& y);

// Top-1 regret: max(y) - y of the item the score ranks first; with several items tied at the top score, the mean of
// their y (the expected regret of a random pick among them). NaN scores never rank first unless all are NaN.
double top1_regret(const std::vector<double>& score, const std::vector<double>& y);

// How well one estimator's score after `epoch` epochs ranks a set of trials by their final accuracy (the target).
struct RankRow {
  std::string estimator;
  bool is_accuracy = false;
  std::int64_t epoch = 0;
  std::int64_t configs = 0;     // trials with a finite target
  double spearman = 0.0;
  double kendall = 0.0;         // tau-b
  double top1_regret = 0.0;     // best target minus that of the top-scored trial
  // Accuracy estimators only (NaN otherwise): mean |score - target|, and mean (score - the network's own validation
  // accuracy at this epoch): below 0, the estimate lags what the network already shows.
  double mean_abs_error = 0.0;
  double vs_current = 0.0;
};

// Every estimator (registry names) at every epoch 1..epochs over trials 0..targets.size()-1, whose measurements
// through epoch e are history(i, e) (fewer epochs if the trial has fewer; none: a NaN score). Trials whose target is
// not finite are left out. One implementation for fhist table rank, fhist export --table ranks and the HTML report,
// so the three give the same numbers.
std::vector<RankRow> rank_by_epoch(const std::vector<double>& targets, std::int64_t epochs,
                                   const std::function<TrialHistory(std::size_t, std::int64_t)>& history,
                                   const std::vector<std::string>& estimators);

}  // namespace fhist::score
