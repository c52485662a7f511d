// top-k-auto: the one-epoch top-K where the low fidelity has shown it can be trusted, and where it has not, rounds
// that spend the same epochs on fewer first-budget trials and more finalists (issue 26 part 4, decision records 0018
// and 0023). The first kGateSample trials train for min_budget; Kendall's tau between their ranking scores and their
// validation accuracies there decides the plan. Deterministic: the same results give the same decision, so a resumed
// search replays to it.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "core/errors.hpp"
#include "sched/plan_detail.hpp"
#include "sched/scheduler.hpp"
#include "score/rank.hpp"

namespace fhist::sched {
namespace {

class GatedTopK final : public Scheduler {
 public:
  GatedTopK(const SchedulerOptions& options, NewTrial new_trial)
      : options_(options), new_trial_(std::move(new_trial)), gate_(gate_sample(options)) {
    bracket_ = gated_plan(options, true, gate_).front().bracket;
  }

  std::optional<Job> next_job() override {
    if (rest_) return rest_->next_job();
    if (static_cast<std::int64_t>(sample_.size()) >= gate_) return std::nullopt;  // waiting for the gate's results
    const Job job{new_trial_(bracket_), bracket_, 0, options_.min_budget};
    sample_.push_back(job.trial);
    return job;
  }

  void on_result(const JobResult& result) override {
    if (rest_) return rest_->on_result(result);
    if (std::find(sample_.begin(), sample_.end(), result.trial) == sample_.end() ||
        result.budget_epochs != options_.min_budget || results_.count(result.trial)) {
      throw Error(fmt::format("top-k-auto: result for trial {} at {} epochs that has no job outstanding",
                              result.trial, result.budget_epochs));
    }
    results_[result.trial] = result;
    if (static_cast<std::int64_t>(results_.size()) == gate_) decide();
  }

  bool done() const override { return rest_ && rest_->done(); }
  bool next_is_new_trial() const override {
    return rest_ ? rest_->next_is_new_trial() : static_cast<std::int64_t>(sample_.size()) < gate_;
  }
  std::vector<TrialId> take_retired() override { return rest_ ? rest_->take_retired() : std::vector<TrialId>{}; }
  std::string name() const override { return "top-k-auto"; }
  const ScoreEvidence* evidence() const override { return rest_ ? rest_->evidence() : nullptr; }
  std::string decision() const override { return decision_; }
  std::string chosen_plan_name() const override { return plan_name_; }
  std::vector<BracketPlan> chosen_plan() const override { return plan_; }
  std::optional<HedgeState> hedge() const override { return rest_ ? rest_->hedge() : std::nullopt; }

 private:
  // The sample's ranking scores against its validation accuracies (failed or diverged trials and NaN left out):
  // agreement = the low fidelity ranks as the network will be judged; then the rest of the plan, whose first
  // bracket starts from the sample (its first gate_ trials are the sample's, already reported).
  void decide() {
    std::vector<double> scores, accuracies;
    for (const auto& [trial, r] : results_) {
      if (r.state != TrialState::kComplete || !std::isfinite(r.score) || !std::isfinite(r.accuracy)) continue;
      scores.push_back(r.score);
      accuracies.push_back(r.accuracy);
    }
    const double tau = score::kendall_tau_b(scores, accuracies);
    const bool reliable = tau >= kGateTau;
    plan_name_ = reliable ? "the one-epoch top-K's rounds"
                          : fmt::format("rounds of {} trials whose best {} train on to {} epochs", gate_,
                                        gate_fallback_top_k(options_, gate_), options_.max_budget);
    decision_ = fmt::format(
        "the ranking score and the validation accuracy of the first {} trials at {} epoch(s) agree with Kendall tau "
        "{} ({} {}): {}",
        gate_, options_.min_budget, gate_tau_text(tau), reliable ? ">=" : "<", kGateTau, plan_name_);
    std::deque<TrialId> sampled(sample_.begin(), sample_.end());
    auto from_sample = [this, sampled](int bracket) mutable {
      if (sampled.empty()) return new_trial_(bracket);
      const TrialId t = sampled.front();
      sampled.pop_front();
      return t;
    };
    // A hedged ranking picks the finalists of the reliable branch only: where the first budget's ranking has not held
    // up, the first score's ranking alone did better on the design tables (decision records 0019, 0023).
    auto options = options_;
    options.hedge = options_.hedge && reliable;
    plan_ = gated_plan(options, reliable, gate_);
    rest_ = make_bracket_sequence("top-k-auto", plan_, from_sample, options);
    for (TrialId t : sample_) {
      const auto job = rest_->next_job();
      if (!job || job->trial != t || job->budget_epochs != options_.min_budget)
        throw Error("internal: top-k-auto's plan does not start from its sample");
    }
    for (TrialId t : sample_) rest_->on_result(results_.at(t));
  }

  SchedulerOptions options_;
  NewTrial new_trial_;
  std::int64_t gate_;
  int bracket_ = 0;
  std::vector<TrialId> sample_;           // the gate's trials, in the order they were created
  std::map<TrialId, JobResult> results_;  // their results at min_budget
  std::unique_ptr<Scheduler> rest_;       // the plan chosen, once every sampled trial has reported
  std::string decision_;
  std::string plan_name_;
  std::vector<BracketPlan> plan_;  // empty until decide()
};

}  // namespace

std::int64_t gate_sample(const SchedulerOptions& options) {
  const auto first = hyperband_plan(options.min_budget, options.max_budget, options.eta).front().rungs.front();
  return std::min(top_k_plan(options).rungs.front().configs, std::max(kGateSample, first.configs));
}

std::int64_t gate_fallback_top_k(const SchedulerOptions& options, std::int64_t gate) {
  const std::int64_t k = options.top_k;
  if (options.max_budget == options.min_budget) return k;
  const std::int64_t round = total_epochs({top_k_plan(options)});
  return std::min(gate, std::max(k, (round - gate * options.min_budget) / (options.max_budget - options.min_budget)));
}

std::string gate_tau_text(double tau) {
  const bool passes = tau >= kGateTau;
  std::string text;
  for (int digits = 2; digits <= 6; ++digits) {
    text = fmt::format("{:.{}f}", tau, digits);
    if ((std::stod(text) >= kGateTau) == passes) break;
  }
  return text;
}

std::vector<BracketPlan> gated_plan(const SchedulerOptions& options, bool reliable, std::int64_t gate) {
  auto round = options;
  if (!reliable) {
    // Fewer trials at the first budget and more of them trained on, for the same epochs a round: where the first
    // budget's ranking has not held up, its top few are a weak bet (decision record 0023).
    round.n_configs = gate;
    round.top_k = static_cast<int>(gate_fallback_top_k(options, gate));
  }
  return std::vector<BracketPlan>(static_cast<std::size_t>(options.iterations),
                                  as_first_bracket(top_k_plan(round), options));
}

std::vector<BracketPlan> gate_fallback_plan(const SchedulerOptions& options) {
  return gated_plan(options, false, gate_sample(options));
}

std::unique_ptr<Scheduler> make_gated_top_k(const SchedulerOptions& options, NewTrial new_trial) {
  return std::make_unique<GatedTopK>(options, std::move(new_trial));
}

}  // namespace fhist::sched
