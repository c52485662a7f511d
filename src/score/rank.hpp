#pragma once
// Rank statistics for comparing estimators against the final accuracy. No Torch.
#include <vector>

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

}  // namespace fhist::score
