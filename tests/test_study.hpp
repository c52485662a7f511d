#pragma once
// Search options the study, command and report tests share.
#include <cstdint>
#include <string>

#include "study/study.hpp"

namespace fhist::testing {

// HyperBand over the built-in `hparams` space, budgets min_budget..max_budget with `eta`, ranked by `estimator`.
inline study::StudyOptions hyperband_options(const std::string& estimator, std::int64_t min_budget,
                                             std::int64_t max_budget, int eta, std::uint64_t seed = 0) {
  study::StudyOptions o;
  o.algo = "hyperband";
  o.estimator = estimator;
  o.sched.min_budget = min_budget;
  o.sched.max_budget = max_budget;
  o.sched.eta = eta;
  o.seed = seed;
  return o;
}

}  // namespace fhist::testing
