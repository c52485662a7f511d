#include "sched/evidence.hpp"

#include <cmath>
#include <limits>

#include "core/errors.hpp"

namespace fhist::sched {

namespace {
int sign(double v) { return (v > 0) - (v < 0); }
}  // namespace

double CandidateTally::tau(std::size_t c) const {
  if (c >= pairs.size() || pairs[c] == 0) return std::numeric_limits<double>::quiet_NaN();
  return concordance[c] / static_cast<double>(pairs[c]);
}

ScoreEvidence::ScoreEvidence(std::size_t candidates, std::int64_t min_pairs, double margin)
    : n_(candidates), min_pairs_(min_pairs), margin_(margin) {
  if (candidates == 0) throw Error("ScoreEvidence: no candidate scores");
}

void ScoreEvidence::add(std::int64_t group, int rung, std::int64_t budget_epochs, std::int64_t trial,
                        const std::vector<double>& candidates, double accuracy) {
  if (candidates.size() != n_)
    throw Error("ScoreEvidence: a result carries " + std::to_string(candidates.size()) + " candidate scores, not " +
                std::to_string(n_));
  results_[{group, rung}][trial] = {candidates, accuracy, budget_epochs};
  if (rung == 0) return;
  const auto lower = results_.find({group, rung - 1});
  if (lower == results_.end()) return;
  const auto me = lower->second.find(trial);
  if (me == lower->second.end() || !std::isfinite(accuracy)) return;
  // Pair this trial with every other trial of the same rung that also has its lower-rung result.
  auto& tally = by_budget_[me->second.budget];
  tally.concordance.resize(n_, 0.0);
  tally.pairs.resize(n_, 0);
  for (const auto& [other, upper] : results_[{group, rung}]) {
    if (other == trial || !std::isfinite(upper.accuracy)) continue;
    const auto them = lower->second.find(other);
    if (them == lower->second.end()) continue;
    const int da = sign(accuracy - upper.accuracy);
    for (std::size_t c = 0; c < n_; ++c) {
      const double mine = me->second.candidates[c], theirs = them->second.candidates[c];
      if (!std::isfinite(mine) || !std::isfinite(theirs)) continue;
      tally.concordance[c] += sign(mine - theirs) * da;
      ++tally.pairs[c];
    }
  }
}

CandidateTally ScoreEvidence::pooled() const {
  CandidateTally all;
  all.concordance.assign(n_, 0.0);
  all.pairs.assign(n_, 0);
  for (const auto& [budget, t] : by_budget_) {
    for (std::size_t c = 0; c < n_; ++c) {
      all.concordance[c] += t.concordance[c];
      all.pairs[c] += t.pairs[c];
    }
  }
  return all;
}

// The candidate `t` says to rank by: the fallback (0) unless another has enough pairs, a positive tau and a tau at
// least `margin` above the fallback's (a fallback without enough pairs counts as tau 0); then the best such. n_ when
// no candidate, the fallback included, has enough pairs.
std::size_t ScoreEvidence::best_of(const CandidateTally& t) const {
  auto enough = [&](std::size_t c) { return c < t.pairs.size() && t.pairs[c] >= min_pairs_; };
  const double base = enough(0) ? t.tau(0) : 0.0;
  std::size_t best = enough(0) ? 0 : n_;
  for (std::size_t c = 1; c < n_; ++c) {
    if (!enough(c) || !(t.tau(c) > 0.0) || t.tau(c) < base + margin_) continue;
    if (best == n_ || best == 0 || t.tau(c) > t.tau(best)) best = c;
  }
  return best;
}

std::size_t ScoreEvidence::choice(std::int64_t budget_epochs) const {
  auto it = by_budget_.find(budget_epochs);
  if (it != by_budget_.end()) {
    const auto c = best_of(it->second);
    if (c < n_) return c;
  }
  const auto c = best_of(pooled());
  return c < n_ ? c : 0;
}

}  // namespace fhist::sched
