#pragma once
// Internal to fhist::sched: shared option checks.
#include <cstdint>
#include <vector>

namespace fhist::sched {

// Throws InputError naming the flag for min < 1, max < min, eta < 2.
void validate_budgets(std::int64_t min_budget, std::int64_t max_budget, int eta);
// min * eta^k for k = 0, 1, ... while below max_budget, then max_budget itself (the last rung is capped).
std::vector<std::int64_t> rung_budgets(std::int64_t min_budget, std::int64_t max_budget, int eta);

}  // namespace fhist::sched
