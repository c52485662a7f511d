#pragma once
// What a search learns about its own scores as it runs (issue 26 part 4): every trial promoted from one rung to the
// next gives a pair (each candidate score at the lower budget, the validation accuracy reached at the higher one).
// Pooled over the pairs of trials that share a rung, Kendall's tau says how well each candidate predicted what came
// next, per source budget. The adaptive ranking (`--estimator auto`) ranks each rung by the candidate with the best
// tau at that rung's budget. No Torch, no random numbers: a resumed search rebuilds the same evidence.
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

namespace fhist::sched {

struct CandidateTally {
  std::vector<double> concordance;  // per candidate: sum over pairs of sign(d score) * sign(d accuracy)
  std::vector<std::int64_t> pairs;  // per candidate: pairs where both scores and both accuracies were finite
  // tau of candidate c (NaN without pairs).
  double tau(std::size_t c) const;
};

class ScoreEvidence {
 public:
  // `candidates`: how many scores each result carries (index 0 = the fallback); `min_pairs`: pairs a candidate needs
  // at a budget (or pooled) before its tau counts; `margin`: how much higher than the fallback's a candidate's tau
  // must be to replace it (the next rung's accuracy is a noisy target: switching on noise costs more than it wins).
  ScoreEvidence(std::size_t candidates, std::int64_t min_pairs, double margin = 0.1);

  // A trial's result at `rung` of the bracket `group` (any id unique to one bracket instance): its candidate scores
  // and its validation accuracy at `budget_epochs`. A result at rung r + 1 pairs with the trial's result at rung r.
  void add(std::int64_t group, int rung, std::int64_t budget_epochs, std::int64_t trial,
           const std::vector<double>& candidates, double accuracy);

  // The candidate to rank a rung at `budget_epochs` by. At that budget, if the fallback (0) or another candidate has
  // min_pairs pairs: the best candidate with min_pairs pairs, a positive tau and a tau at least `margin` above the
  // fallback's, else the fallback. Without such pairs at that budget, the same rule over every budget's pairs pooled;
  // else the fallback. Ties go to the lower index.
  std::size_t choice(std::int64_t budget_epochs) const;
  // The tallies by source budget (for reports and tests).
  const std::map<std::int64_t, CandidateTally>& tallies() const { return by_budget_; }
  CandidateTally pooled() const;
  std::size_t candidates() const { return n_; }

 private:
  struct Result {
    std::vector<double> candidates;
    double accuracy;
    std::int64_t budget;
  };
  std::size_t best_of(const CandidateTally& t) const;

  std::size_t n_;
  std::int64_t min_pairs_;
  double margin_;
  std::map<std::pair<std::int64_t, int>, std::map<std::int64_t, Result>> results_;  // (group, rung) -> trial -> result
  std::map<std::int64_t, CandidateTally> by_budget_;                                // source budget -> tally
};

}  // namespace fhist::sched
