#pragma once
// Internal to fhist::sched: shared option checks, and the schedulers one scheduler builds on another.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sched/scheduler.hpp"

namespace fhist::sched {

// Throws InputError naming the flag for min < 1, max < min, eta < 2.
void validate_budgets(std::int64_t min_budget, std::int64_t max_budget, int eta);
// min * eta^k for k = 0, 1, ... while below max_budget, then max_budget itself (the last rung is capped).
std::vector<std::int64_t> rung_budgets(std::int64_t min_budget, std::int64_t max_budget, int eta);

// `b` numbered as HyperBand's bracket that starts at the smallest budget, as a round that replaces HyperBand's first
// bracket is (its new trials are that bracket's).
BracketPlan as_first_bracket(BracketPlan b, const SchedulerOptions& options);
// `first_round`, then HyperBand's brackets for the other --iterations (top-k-hb).
std::vector<BracketPlan> then_hyperband(std::vector<BracketPlan> first_round, const SchedulerOptions& options);
// Synchronous brackets run in order, each promoting its rung's best once the rung is complete ("sh", "hyperband",
// "top-k" and "top-k-hb" are such sequences); `name` is what its errors say.
std::unique_ptr<Scheduler> make_bracket_sequence(const std::string& name, const std::vector<BracketPlan>& plans,
                                                 NewTrial new_trial, const SchedulerOptions& options);
// top-k-auto (gated.cpp): the one-epoch top-K where its first trials' ranking score agrees with their validation
// accuracy; where it does not, rounds of `gate` trials whose best gate_fallback_top_k train on to max_budget.
std::unique_ptr<Scheduler> make_gated_top_k(const SchedulerOptions& options, NewTrial new_trial);
// The brackets top-k-auto runs in either case (`reliable`: the top-K rounds), its gate sample of `gate` trials.
std::vector<BracketPlan> gated_plan(const SchedulerOptions& options, bool reliable, std::int64_t gate);
// The gate's tau as its decision prints it: two decimals, or as many more (up to 6) as it takes to show the side of
// kGateTau it is on ("0.1996 (< 0.2)", never "0.20 (< 0.2)").
std::string gate_tau_text(double tau);

}  // namespace fhist::sched
