// Schedulers: random search, synchronous successive halving, HyperBand, ASHA, the one-epoch top-K baseline; the
// synchronous ones rank a rung by the adaptive ranking's choice where the options ask for it.
// None of them draws random numbers and all containers are ordered, so the same sequence of next_job/on_result
// calls always yields the same jobs: a search resumes by replaying its journal.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "core/errors.hpp"
#include "sched/evidence.hpp"
#include "sched/plan_detail.hpp"
#include "sched/scheduler.hpp"

namespace fhist::sched {

const char* state_name(TrialState s) {
  switch (s) {
    case TrialState::kPending: return "pending";
    case TrialState::kRunning: return "running";
    case TrialState::kPaused: return "paused";
    case TrialState::kComplete: return "complete";
    case TrialState::kFailed: return "failed";
    case TrialState::kDiverged: return "diverged";
  }
  return "failed";
}

TrialState state_from_name(const std::string& name, TrialState fallback) {
  for (auto s : {TrialState::kPending, TrialState::kRunning, TrialState::kPaused, TrialState::kComplete,
                 TrialState::kFailed, TrialState::kDiverged}) {
    if (name == state_name(s)) return s;
  }
  return fallback;
}
namespace {

// Failed/diverged trials rank below every real score, whatever score they carry; NaN counts as failed.
double effective_score(const JobResult& r) {
  if (r.state == TrialState::kFailed || r.state == TrialState::kDiverged || std::isnan(r.score))
    return -HUGE_VAL;
  return r.score;
}
bool is_failed(double score) { return score == -HUGE_VAL; }

// Ranking order: higher score first, ties to the lower trial id (so a promotion never depends on report order).
struct Scored {
  double score;
  TrialId trial;
  bool operator<(const Scored& o) const { return score != o.score ? score > o.score : trial < o.trial; }
};

// Jobs handed out and not yet reported. A trial runs at most one job at a time, so the trial id is the key;
// `owner` says which part of the scheduler (e.g. which HyperBand bracket) handed it out.
class Outstanding {
 public:
  void add(const Job& job, std::size_t owner = 0) {
    if (!jobs_.emplace(job.trial, std::make_pair(job, owner)).second)
      throw Error(fmt::format("scheduler: trial {} already has a job running (NewTrial returned a used id?)",
                              job.trial));
  }
  // Removes and returns the job `result` reports; throws Error if this scheduler has no such job outstanding.
  std::pair<Job, std::size_t> take(const JobResult& result, const std::string& who) {
    auto it = jobs_.find(result.trial);
    if (it == jobs_.end())
      throw Error(fmt::format("{}: result for trial {} that has no job outstanding", who, result.trial));
    if (it->second.first.budget_epochs != result.budget_epochs)
      throw Error(fmt::format("{}: result for trial {} at {} epochs, but its job was {} epochs", who, result.trial,
                              result.budget_epochs, it->second.first.budget_epochs));
    auto taken = it->second;
    jobs_.erase(it);
    return taken;
  }
  bool empty() const { return jobs_.empty(); }

 private:
  std::map<TrialId, std::pair<Job, std::size_t>> jobs_;
};

// Random search: n trials, each trained once at max_budget.
class RandomSearch final : public Scheduler {
 public:
  RandomSearch(std::int64_t n, std::int64_t max_budget, NewTrial new_trial)
      : n_(n), max_budget_(max_budget), new_trial_(std::move(new_trial)) {}
  std::optional<Job> next_job() override {
    if (started_ >= n_) return std::nullopt;
    Job job{new_trial_(0), 0, 0, max_budget_};
    out_.add(job);
    ++started_;
    return job;
  }
  void on_result(const JobResult& result) override {
    out_.take(result, name());
    retired_.push_back(result.trial);
  }
  bool done() const override { return started_ >= n_ && out_.empty(); }
  bool next_is_new_trial() const override { return started_ < n_; }
  std::vector<TrialId> take_retired() override { return std::exchange(retired_, {}); }
  std::string name() const override { return "random"; }

 private:
  std::int64_t n_, max_budget_, started_ = 0;
  NewTrial new_trial_;
  Outstanding out_;
  std::vector<TrialId> retired_;
};

// A hedged ranking's evidence (SchedulerOptions::hedge): which of its two rankings (0: the scores as reported, A's;
// 1: candidate 1, B's) promoted each trial last, and the best validation accuracy the trials each promoted reached at
// their bracket's last rung. The ranking ahead picks first: A's until one of B's trials does better.
class HedgeCredit {
 public:
  std::size_t first() const { return best_[1] > best_[0] ? 1 : 0; }
  HedgeState state() const { return {first(), {best_[0], best_[1]}}; }
  void promoted(TrialId trial, std::size_t ranking) { by_[trial] = ranking; }
  void finished(TrialId trial, double accuracy) {
    const auto it = by_.find(trial);
    if (it != by_.end() && std::isfinite(accuracy)) best_[it->second] = std::max(best_[it->second], accuracy);
  }

 private:
  double best_[2] = {-HUGE_VAL, -HUGE_VAL};
  std::map<TrialId, std::size_t> by_;
};

// One synchronous successive-halving bracket: a rung is promoted only after all of its jobs reported.
// Rung 0's trials are created lazily, when handed out, so a model-based sampler sees every result before then.
class SyncBracket {
 public:
  // `credit`: a hedged ranking's evidence, shared by the sequence's brackets; nullptr without a hedge.
  SyncBracket(BracketPlan plan, HedgeCredit* credit) : plan_(std::move(plan)), credit_(credit) {
    rung_size_ = plan_.rungs.empty() ? 0 : plan_.rungs[0].configs;
  }
  bool done() const { return rung_ >= plan_.rungs.size(); }
  bool has_job() const { return !done() && handed_ < rung_size_; }  // else waiting for the rung to report
  bool at_first_rung() const { return rung_ == 0; }

  std::optional<Job> next_job(const NewTrial& new_trial) {
    if (!has_job()) return std::nullopt;
    const TrialId trial = rung_ == 0 ? new_trial(plan_.bracket) : queue_[handed_];
    ++handed_;
    return Job{trial, plan_.bracket, static_cast<int>(rung_), plan_.rungs[rung_].budget_epochs};
  }

  // `evidence`: with an adaptive ranking, the study's evidence so far (the rung is ranked when it is complete).
  void on_result(const JobResult& result, std::vector<TrialId>& retired, const ScoreEvidence* evidence) {
    results_.push_back({effective_score(result), result.trial});
    if (evidence || credit_) candidates_[result.trial] = result.candidates;
    if (credit_ && rung_ + 1 >= plan_.rungs.size()) credit_->finished(result.trial, result.accuracy);
    if (static_cast<std::int64_t>(results_.size()) < rung_size_) return;
    if (staged_ && fill_staged(retired)) return;  // the last places are handed out now
    if (rung_ + 1 >= plan_.rungs.size()) {
      for (const Scored& s : results_) retired.push_back(s.trial);
      rung_ = plan_.rungs.size();
      candidates_.clear();
      return;
    }
    if (evidence) rank_by(evidence->choice(plan_.rungs[rung_].budget_epochs));
    // Promote the planned floor(n_i/eta) best, but never a failed trial: with many failures the rung shrinks.
    std::sort(results_.begin(), results_.end());
    const auto places = static_cast<std::size_t>(plan_.rungs[rung_ + 1].configs);
    if (!credit_ || !promote_hedged(places)) {
      queue_.clear();
      for (const Scored& s : results_) {
        if (queue_.size() >= places || is_failed(s.score)) break;
        queue_.push_back(s.trial);
      }
    }
    for (const Scored& s : results_) {
      if (std::find(queue_.begin(), queue_.end(), s.trial) == queue_.end() && !held(s.trial))
        retired.push_back(s.trial);
    }
    results_.clear();
    handed_ = 0;
    rung_size_ = static_cast<std::int64_t>(queue_.size());
    rung_ = queue_.empty() ? plan_.rungs.size() : rung_ + 1;
    candidates_.clear();
  }

 private:
  struct Staged {
    std::vector<Scored> ranking[2];  // the rung below's trials by A's ranking and by B's
    std::size_t places;              // the last rung's places in all
  };

  // Re-scores the complete rung by candidate c, unless some finished trial has no finite value of it (then the
  // scores as reported rank, so one ranking covers the whole rung).
  void rank_by(std::size_t c) {
    std::vector<Scored> by_c = results_;
    if (rescore(by_c, c)) results_ = std::move(by_c);
  }
  // `scored` (the rung's results) re-scored by candidate c; false, and `scored` partly changed, where some finished
  // trial has no finite value of it.
  bool rescore(std::vector<Scored>& scored, std::size_t c) {
    for (Scored& s : scored) {
      if (is_failed(s.score)) continue;
      const auto& v = candidates_[s.trial];
      if (c >= v.size() || !std::isfinite(v[c])) return false;
      s.score = v[c];
    }
    return true;
  }
  // A hedged ranking's promotion of the complete, sorted rung into queue_: false, queue_ untouched, where some
  // finished trial has no finite second score (then the scores as reported rank alone). Into the bracket's last rung
  // with three places or more the promotion is staged: one trial from each ranking first, the other places once both
  // have reported there, led by the ranking whose trial did better (top-K's third finalist follows the evidence of
  // its first two rather than a fixed order; decision record 0021).
  bool promote_hedged(std::size_t places) {
    std::vector<Scored> second = results_;
    if (!rescore(second, 1)) return false;
    std::sort(second.begin(), second.end());
    queue_.clear();
    const bool stage = places >= 3 && rung_ + 2 == plan_.rungs.size();
    take_hedged(results_, second, stage ? 2 : places);
    if (stage && queue_.size() >= 2) staged_ = Staged{{results_, std::move(second)}, places};
    return true;
  }
  // Appends up to `places` - queue_.size() trials to queue_, taken in turn from the leading ranking (credit_'s
  // first) and the other; returns how many.
  std::size_t take_hedged(const std::vector<Scored>& a, const std::vector<Scored>& b, std::size_t places) {
    const std::size_t first = credit_->first();
    std::vector<std::size_t> turns;
    const auto taken = first == 0 ? interleave(a, b, places, queue_, turns) : interleave(b, a, places, queue_, turns);
    for (std::size_t i = 0; i < taken.size(); ++i) credit_->promoted(taken[i], turns[i] == 0 ? first : 1 - first);
    queue_.insert(queue_.end(), taken.begin(), taken.end());
    return taken.size();
  }
  // A staged promotion's second step, once its first trials have reported at the last rung: the remaining places
  // join the rung (true), or, with no trial left to take, nothing does (false: the rung is complete). The trials held
  // for it and not taken are retired.
  bool fill_staged(std::vector<TrialId>& retired) {
    const Staged staged = std::move(*staged_);
    staged_.reset();
    const std::size_t added = take_hedged(staged.ranking[0], staged.ranking[1], staged.places);
    for (const Scored& s : staged.ranking[0]) {
      if (!is_failed(s.score) && std::find(queue_.begin(), queue_.end(), s.trial) == queue_.end() &&
          held_by(staged, s.trial))
        retired.push_back(s.trial);
    }
    rung_size_ = static_cast<std::int64_t>(queue_.size());
    return added > 0;
  }
  // Whether a staged promotion may still take `trial`: among the best `places` of either ranking (the places left
  // are taken from those: each pick is its ranking's best not yet taken, and fewer than `places` are taken before it).
  static bool held_by(const Staged& staged, TrialId trial) {
    for (const auto& ranking : staged.ranking) {
      for (std::size_t i = 0; i < std::min(staged.places, ranking.size()); ++i)
        if (ranking[i].trial == trial && !is_failed(ranking[i].score)) return true;
    }
    return false;
  }
  bool held(TrialId trial) const { return staged_ && held_by(*staged_, trial); }
  // The hedged promotion: up to `places` trials in all (`already` counts, and none of it is taken again) taken in
  // turn from `first`'s ranking and `second`'s (both sorted, of the same trials), each its best not yet taken, never a
  // failed trial; `turns`: 0 where `first` gave the trial, else 1.
  static std::vector<TrialId> interleave(const std::vector<Scored>& first, const std::vector<Scored>& second,
                                         std::size_t places, const std::vector<TrialId>& already,
                                         std::vector<std::size_t>& turns) {
    std::vector<TrialId> taken;
    turns.clear();
    std::set<TrialId> in(already.begin(), already.end());
    const std::vector<Scored>* rankings[2] = {&first, &second};
    std::size_t next[2] = {0, 0};
    for (int turn = 0; already.size() + taken.size() < places; turn ^= 1) {
      const auto& r = *rankings[turn];
      auto& i = next[turn];
      while (i < r.size() && !is_failed(r[i].score) && in.count(r[i].trial)) ++i;
      // One ranking out of trials means the other is too: they rank the same trials, failed ones last.
      if (i >= r.size() || is_failed(r[i].score)) break;
      taken.push_back(r[i].trial);
      turns.push_back(static_cast<std::size_t>(turn));
      in.insert(r[i].trial);
    }
    return taken;
  }

  BracketPlan plan_;
  HedgeCredit* credit_ = nullptr;  // a hedged ranking's evidence (promotions alternate between two rankings)
  std::size_t rung_ = 0;
  std::int64_t rung_size_ = 0;     // jobs in the current rung
  std::int64_t handed_ = 0;        // of those, handed out so far
  std::vector<TrialId> queue_;     // trials of the current rung (rung > 0), best first
  std::vector<Scored> results_;    // reports received for the current rung
  std::map<TrialId, std::vector<double>> candidates_;  // adaptive ranking: the current rung's candidate scores
  std::optional<Staged> staged_;  // a staged hedged promotion waiting for its first trials' results
};

// A sequence of synchronous brackets (one for "sh", HyperBand's brackets x iterations for "hyperband"). The first
// bracket with a job ready hands it out, so when one waits for its rung the next may start (as HpBandSter does).
class BracketSequence final : public Scheduler {
 public:
  BracketSequence(std::string name, const std::vector<BracketPlan>& plans, NewTrial new_trial,
                  const SchedulerOptions& options)
      : name_(std::move(name)), new_trial_(std::move(new_trial)) {
    if (options.hedge) credit_ = std::make_unique<HedgeCredit>();
    for (const BracketPlan& p : plans) brackets_.emplace_back(p, credit_.get());
    if (options.adaptive > 0)
      evidence_ = std::make_unique<ScoreEvidence>(static_cast<std::size_t>(options.adaptive),
                                                  options.adaptive_min_pairs);
  }
  std::optional<Job> next_job() override {
    for (std::size_t b = first_open_; b < brackets_.size(); ++b) {
      if (auto job = brackets_[b].next_job(new_trial_)) {
        out_.add(*job, b);
        return job;
      }
    }
    return std::nullopt;
  }
  void on_result(const JobResult& result) override {
    const auto [job, b] = out_.take(result, name_);
    if (evidence_) {
      // A failed job carries no scores: it pairs with nothing, and ranks last whatever the candidate.
      const auto n = static_cast<std::size_t>(evidence_->candidates());
      JobResult r = result;
      if (r.candidates.size() != n) r.candidates.assign(n, std::numeric_limits<double>::quiet_NaN());
      evidence_->add(static_cast<std::int64_t>(b), job.rung, job.budget_epochs, r.trial, r.candidates, r.accuracy);
      brackets_[b].on_result(r, retired_, evidence_.get());
    } else {
      brackets_[b].on_result(result, retired_, nullptr);
    }
    while (first_open_ < brackets_.size() && brackets_[first_open_].done()) ++first_open_;
  }
  bool done() const override {
    return out_.empty() && std::all_of(brackets_.begin(), brackets_.end(), [](auto& b) { return b.done(); });
  }
  bool next_is_new_trial() const override {
    for (std::size_t b = first_open_; b < brackets_.size(); ++b)
      if (brackets_[b].has_job()) return brackets_[b].at_first_rung();
    return false;
  }
  std::string name() const override { return name_; }
  std::vector<TrialId> take_retired() override { return std::exchange(retired_, {}); }
  const ScoreEvidence* evidence() const override { return evidence_.get(); }
  std::optional<HedgeState> hedge() const override {
    return credit_ ? std::optional<HedgeState>(credit_->state()) : std::nullopt;
  }

 private:
  std::string name_;
  NewTrial new_trial_;
  std::unique_ptr<ScoreEvidence> evidence_;
  std::unique_ptr<HedgeCredit> credit_;
  std::vector<TrialId> retired_;
  std::vector<SyncBracket> brackets_;
  std::size_t first_open_ = 0;  // brackets before it are done (just skips work)
  Outstanding out_;
};

// ASHA (Li et al., asynchronous SH, early-stopping rate 0): promote a trial as soon as it is in the top
// floor(n_k/eta) of the n_k results reported at its rung; otherwise grow the bottom rung.
class Asha final : public Scheduler {
 public:
  Asha(std::int64_t n, std::vector<std::int64_t> budgets, int eta, NewTrial new_trial)
      : n_(n), eta_(eta), budgets_(std::move(budgets)), new_trial_(std::move(new_trial)) {
    results_.resize(budgets_.size());
    promoted_.resize(budgets_.size());
  }

  std::optional<Job> next_job() override {
    Job job;
    if (auto p = find_promotion()) {
      promoted_[p->first].insert(p->second);
      job = Job{p->second, 0, p->first + 1, budgets_[p->first + 1]};
    } else if (started_ < n_) {
      job = Job{new_trial_(0), 0, 0, budgets_[0]};
      ++started_;
    } else {
      return std::nullopt;
    }
    out_.add(job);
    return job;
  }
  void on_result(const JobResult& result) override {
    const Job job = out_.take(result, name()).first;
    auto& rung = results_[job.rung];
    const Scored s{effective_score(result), result.trial};
    rung.insert(std::upper_bound(rung.begin(), rung.end(), s), s);  // kept in ranking order
    if (is_failed(s.score) || job.rung + 1 == static_cast<int>(budgets_.size())) retire(result.trial);
    // A trial's rank in its rung only worsens as results arrive, and at most capacity(rung + 1) trials ever
    // leave the rung, so one ranked below that will never be promoted: release it (and its checkpoint) now.
    const auto limit = static_cast<std::size_t>(capacity(job.rung + 1));
    for (std::size_t i = limit; i < rung.size(); ++i)
      if (!promoted_[job.rung].count(rung[i].trial)) retire(rung[i].trial);
  }
  bool done() const override { return started_ >= n_ && out_.empty() && !find_promotion(); }
  bool next_is_new_trial() const override { return !find_promotion() && started_ < n_; }
  std::vector<TrialId> take_retired() override {
    if (done()) {
      for (const auto& rung : results_)
        for (const Scored& s : rung) retire(s.trial);
    }
    return std::exchange(retired_, {});
  }
  std::string name() const override { return "asha"; }

 private:
  // (rung, trial) of the next promotion, highest rung first, best-ranked trial first within a rung: the top
  // floor(results / eta) of a rung. Once every configuration has started and no job is out, a rung whose results
  // are too few for that (fewer configurations than eta^rungs) promotes its best up to capacity(rung + 1), as the
  // plan counts (successive_halving_plan keeps at least one per rung), so the best trial reaches --max-budget.
  std::optional<std::pair<int, TrialId>> find_promotion() const {
    const bool end_game = started_ >= n_ && out_.empty();
    for (int k = static_cast<int>(budgets_.size()) - 2; k >= 0; --k) {
      const auto& rung = results_[k];
      const std::size_t room = static_cast<std::size_t>(capacity(k + 1));
      const std::size_t top = end_game ? std::min(rung.size(), room) : rung.size() / static_cast<std::size_t>(eta_);
      for (std::size_t i = 0; i < top && !is_failed(rung[i].score); ++i)
        if (!promoted_[k].count(rung[i].trial)) return std::make_pair(k, rung[i].trial);
    }
    return std::nullopt;
  }

  // The most results rung k can ever hold: n configurations at rung 0, and floor(capacity / eta) of those above,
  // at least one.
  std::int64_t capacity(int k) const {
    std::int64_t c = n_;
    for (int i = 0; i < k; ++i) c = std::max<std::int64_t>(1, c / eta_);
    return c;
  }

  std::int64_t n_, started_ = 0;
  int eta_ = 2;
  std::vector<std::int64_t> budgets_;         // rung k trains to budgets_[k] epochs in total
  NewTrial new_trial_;
  std::vector<std::vector<Scored>> results_;  // per rung, in ranking order
  std::vector<std::set<TrialId>> promoted_;   // per rung, trials already promoted out of it
  Outstanding out_;
  std::set<TrialId> retired_set_;
  std::vector<TrialId> retired_;
  void retire(TrialId t) {
    if (retired_set_.insert(t).second) retired_.push_back(t);
  }
};

}  // namespace

std::unique_ptr<Scheduler> make_bracket_sequence(const std::string& name, const std::vector<BracketPlan>& plans,
                                                 NewTrial new_trial, const SchedulerOptions& options) {
  return std::make_unique<BracketSequence>(name, plans, std::move(new_trial), options);
}

std::vector<std::string> scheduler_names() {
  return {"random", "sh", "hyperband", "asha", "top-k", "top-k-hb", "top-k-auto"};
}

const std::vector<std::string>& algorithm_names() {
  static const std::vector<std::string> algos = {"random", "sh",   "hyperband", "bohb",     "dehb",
                                                 "asha",   "top-k", "top-k-hb", "top-k-auto"};
  return algos;
}

std::vector<BracketPlan> search_plan(const std::string& algo, const SchedulerOptions& options) {
  const auto& algos = algorithm_names();
  if (std::find(algos.begin(), algos.end(), algo) == algos.end())
    throw InputError(fmt::format("--algo: unknown algorithm '{}' (known: {})", algo, fmt::join(algos, ", ")));
  validate_budgets(options.min_budget, options.max_budget, options.eta);
  if (options.n_configs < 0) throw InputError(fmt::format("--n-configs must be >= 0 (got {})", options.n_configs));
  if (options.iterations < 1)
    throw InputError(fmt::format("--iterations must be >= 1 (got {})", options.iterations));
  const auto hb = hyperband_plan(options.min_budget, options.max_budget, options.eta);
  const std::int64_t n = options.n_configs > 0 ? options.n_configs : hb.front().rungs.front().configs;
  if (algo == "random") return {BracketPlan{0, {{n, options.max_budget}}}};
  if (algo == "top-k") {
    return std::vector<BracketPlan>(static_cast<std::size_t>(options.iterations), top_k_plan(options));
  }
  if (algo == "top-k-hb") {
    // The one-epoch top-K's round first, then HyperBand's brackets for the remaining rounds.
    return then_hyperband({as_first_bracket(top_k_plan(options), options)}, options);
  }
  if (algo == "top-k-auto") return gated_plan(options, true, gate_sample(options));
  if (algo == "hyperband" || algo == "bohb" || algo == "dehb") {
    std::vector<BracketPlan> plans;
    for (int it = 0; it < options.iterations; ++it) plans.insert(plans.end(), hb.begin(), hb.end());
    return plans;
  }
  return {successive_halving_plan(n, options.min_budget, options.max_budget, options.eta)};
}

std::int64_t total_jobs(const std::vector<BracketPlan>& plan) {
  std::int64_t n = 0;
  for (const auto& b : plan)
    for (const auto& r : b.rungs) n += r.configs;
  return n;
}

std::int64_t total_configs(const std::vector<BracketPlan>& plan) {
  std::int64_t n = 0;
  for (const auto& b : plan) n += b.rungs.empty() ? 0 : b.rungs.front().configs;
  return n;
}

std::unique_ptr<Scheduler> make_scheduler(const std::string& name, const SchedulerOptions& options,
                                          NewTrial new_trial) {
  const auto names = scheduler_names();
  if (std::find(names.begin(), names.end(), name) == names.end())
    throw InputError(fmt::format("--scheduler: unknown scheduler '{}' (known: {})", name, fmt::join(names, ", ")));
  if (!new_trial) throw Error("make_scheduler: NewTrial callback is empty");
  if (options.adaptive < 0) throw Error("make_scheduler: adaptive < 0");
  if ((options.adaptive > 0 || options.hedge) && name == "asha") {
    throw InputError(
        fmt::format("--estimator {} ranks each rung once all of its results are in, which ASHA never "
                    "waits for: use --algo sh, hyperband, bohb, dehb or top-k, or another --estimator",
                    options.hedge ? "A+B (a hedged ranking)" : "auto"));
  }
  if (options.hedge && options.adaptive > 0) throw Error("make_scheduler: a ranking both hedged and adaptive");
  const auto plans = search_plan(name, options);
  if (name == "random") {
    const auto& rung = plans.front().rungs.front();
    return std::make_unique<RandomSearch>(rung.configs, rung.budget_epochs, std::move(new_trial));
  }
  if (name == "hyperband" || name == "sh" || name == "top-k" || name == "top-k-hb")
    return std::make_unique<BracketSequence>(name, plans, std::move(new_trial), options);
  if (name == "top-k-auto") return make_gated_top_k(options, std::move(new_trial));
  // ASHA promotes through the same rung budgets, asynchronously.
  return std::make_unique<Asha>(plans.front().rungs.front().configs,
                                rung_budgets(options.min_budget, options.max_budget, options.eta), options.eta,
                                std::move(new_trial));
}

}  // namespace fhist::sched
