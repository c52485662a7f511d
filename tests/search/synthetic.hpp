#pragma once
// A synthetic multi-fidelity problem whose true optimum is known (BOHB's and DEHB's tests): a bowl at 0.7 in five
// coordinates plus a bonus for one category, seen through noise that shrinks with the budget.
#include <cmath>
#include <string>
#include <vector>

#include "core/rng.hpp"
#include "space/space.hpp"

namespace fhist::search::synthetic {

inline space::SearchSpace space() {
  std::vector<space::Param> params;
  for (int i = 0; i < 5; ++i) params.push_back(space::Param::real("x" + std::to_string(i), 0.0, 1.0));
  params.push_back(space::Param::categorical("kind", {"a", "b", "c", "d"}));
  return space::SearchSpace("synthetic", std::move(params));
}

// True quality; the maximum is 0.3.
inline double true_quality(const space::Config& c) {
  double q = 0.0;
  for (int i = 0; i < 5; ++i) q -= std::pow(c.get_double("x" + std::to_string(i)) - 0.7, 2);
  const auto kind = c.get_string("kind");
  return q + (kind == "c" ? 0.3 : kind == "b" ? 0.1 : 0.0);
}

// What a short run sees: the true quality blurred by budget-dependent noise (less noise at larger budgets).
inline double observed(double q, std::int64_t trial, std::int64_t budget, std::uint64_t seed) {
  const auto h = derive_seed(seed, Stream::kTrial, static_cast<std::uint64_t>(trial * 1000 + budget));
  const double u = static_cast<double>(h >> 11) / static_cast<double>(1ULL << 53) - 0.5;  // [-0.5, 0.5)
  return q + 0.2 * u / std::sqrt(static_cast<double>(budget));
}

}  // namespace fhist::search::synthetic
