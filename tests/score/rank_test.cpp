// Rank statistics against hand-computed values (and scipy.stats' for the same inputs).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "score/rank.hpp"

using namespace fhist::score;

TEST(Rank, KendallTauBWithTies) {
  // Pairs: 4 concordant, 0 discordant, one tied in x ((1,2)), one tied in y ((2,3)), 6 in all:
  // tau-b = 4 / sqrt((6 - 1)(6 - 1)) = 0.8 (scipy.stats.kendalltau gives 0.8).
  EXPECT_NEAR(kendall_tau_b({1, 2, 2, 3}, {1, 2, 3, 3}), 0.8, 1e-12);
  // No ties: 4 concordant, 2 discordant of 6 pairs.
  EXPECT_NEAR(kendall_tau_b({1, 2, 3, 4}, {2, 1, 4, 3}), 2.0 / 6.0, 1e-12);
  EXPECT_NEAR(kendall_tau_b({1, 2, 3}, {3, 2, 1}), -1.0, 1e-12);
  EXPECT_TRUE(std::isnan(kendall_tau_b({1, 1, 1}, {1, 2, 3})));  // constant score: undefined
  EXPECT_TRUE(std::isnan(kendall_tau_b({1}, {1})));
  // A pair tied in both (1, 2) counts as tied in x and in y: 7 concordant, 2 discordant, n1 = n2 = 1 of 10 pairs,
  // tau-b = 5 / sqrt(9 * 9) (scipy: 0.5556). Leaving that pair out of n1 and n2 gives 5 / 10.
  EXPECT_NEAR(kendall_tau_b({1, 2, 2, 3, 4}, {1, 3, 3, 2, 4}), 5.0 / 9.0, 1e-12);
}

TEST(Rank, SpearmanAveragesTiedRanks) {
  // Ranks x = (1, 2.5, 2.5, 4), y = (1, 2, 3.5, 3.5): rho = 3.75 / 4.5.
  EXPECT_NEAR(spearman({1, 2, 2, 3}, {1, 2, 3, 3}), 3.75 / 4.5, 1e-12);
  EXPECT_NEAR(spearman({10, 20, 30}, {0.1, 0.5, 0.9}), 1.0, 1e-12);
  EXPECT_NEAR(spearman({3, 2, 1}, {0.1, 0.5, 0.9}), -1.0, 1e-12);
  // Tied in both variables at once: ranks x = (1, 2.5, 2.5, 4, 5), y = (1, 3.5, 3.5, 2, 5); scipy: 0.68421 = 13/19.
  EXPECT_NEAR(spearman({1, 2, 2, 3, 4}, {1, 3, 3, 2, 4}), 13.0 / 19.0, 1e-12);
}

TEST(Rank, NaNScoresRankLast) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  // A failed trial (NaN score) with the worst accuracy is a correct ranking.
  EXPECT_NEAR(spearman({nan, 0.2, 0.3}, {0.1, 0.5, 0.9}), 1.0, 1e-12);
  EXPECT_NEAR(kendall_tau_b({nan, 0.2, 0.3}, {0.1, 0.5, 0.9}), 1.0, 1e-12);
  EXPECT_NEAR(top1_regret({nan, 0.2, 0.3}, {0.95, 0.5, 0.9}), 0.05, 1e-12);
}

TEST(Rank, Top1RegretAveragesTiesAtTheTop) {
  EXPECT_NEAR(top1_regret({0.1, 0.5, 0.5, 0.2}, {0.9, 0.6, 0.8, 0.7}), 0.2, 1e-12);
  EXPECT_NEAR(top1_regret({0.1, 0.5, 0.4}, {0.6, 0.9, 0.8}), 0.0, 1e-12);
}
