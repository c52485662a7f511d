#pragma once
// Schedulers decide which trial trains to which budget next, and which trials are promoted (no Torch).
// Scores are "higher is better" (an accuracy or its estimate); failed/diverged trials report -infinity.
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fhist::sched {

using TrialId = std::int64_t;

enum class TrialState { kPending, kRunning, kPaused, kComplete, kFailed, kDiverged };
// The journal's and the reports' word for a state: pending, running, paused, complete, failed, diverged.
const char* state_name(TrialState s);
// The state a word names; `fallback` for a word this fhist does not know.
TrialState state_from_name(const std::string& name, TrialState fallback);

// Train trial `trial` until it has `budget_epochs` epochs in total (a promoted trial continues from its checkpoint).
struct Job {
  TrialId trial = -1;
  int bracket = 0;              // HyperBand bracket s (0 for schedulers without brackets)
  int rung = 0;                 // rung index within the bracket, 0 = first
  std::int64_t budget_epochs = 0;
};

// Which of a hedged ranking's two rankings (0: A's, the scores as reported; 1: B's) picks first at the next
// promotion, and the best validation accuracy (the oriented metric) at their bracket's last rung of the trials each
// ranking promoted so far (-inf: none yet).
struct HedgeState {
  std::size_t first = 0;
  double best[2] = {-std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()};
};

struct JobResult {
  TrialId trial = -1;
  std::int64_t budget_epochs = 0;
  double score = 0.0;           // -inf for failed / diverged
  TrialState state = TrialState::kComplete;
  // Adaptive or hedged ranking (SchedulerOptions::adaptive, hedge): the trial's candidate scores at this budget (NaN
  // where one cannot be computed; empty for a failed job) and its validation accuracy there, which the rung below's
  // pairs predict.
  std::vector<double> candidates;
  double accuracy = std::numeric_limits<double>::quiet_NaN();
};

struct Rung {
  std::int64_t configs = 0;
  std::int64_t budget_epochs = 0;
};
struct BracketPlan {
  int bracket = 0;  // s
  std::vector<Rung> rungs;
};

class ScoreEvidence;

// Creates a new trial (draws its configuration from the sampler) for the given bracket and returns its id.
using NewTrial = std::function<TrialId(int bracket)>;

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  // The next job to run, or nullopt when nothing can start until a running job reports (or when done()).
  virtual std::optional<Job> next_job() = 0;
  // Reports a finished job. Throws Error for a job this scheduler did not hand out.
  virtual void on_result(const JobResult& result) = 0;
  // True when every job has been handed out and reported.
  virtual bool done() const = 0;
  // Whether next_job() would create a trial now (false: it would hand out a promotion, or nothing). A cap on trials
  // (--max-trials) asks it before next_job(), so the state is untouched when the cap stops the search.
  virtual bool next_is_new_trial() const = 0;
  // Trials that will never get another job (eliminated, failed, or at their last rung), each returned once; the
  // study deletes their checkpoints.
  virtual std::vector<TrialId> take_retired() = 0;
  virtual std::string name() const = 0;
  // The adaptive ranking's evidence so far; nullptr without SchedulerOptions::adaptive.
  virtual const ScoreEvidence* evidence() const { return nullptr; }
  // What a scheduler that chooses its own plan has chosen, and why, for the search's summary; empty otherwise.
  virtual std::string decision() const { return {}; }
  // The chosen plan's name alone, as decision() ends with it (a progress line prints it); empty likewise.
  virtual std::string chosen_plan_name() const { return {}; }
  // The plan it chose, once it has (progress counts against it); empty before, and for the schedulers whose plan
  // search_plan gives from their options alone.
  virtual std::vector<BracketPlan> chosen_plan() const { return {}; }
  // A hedged ranking's evidence so far (SchedulerOptions::hedge); nullopt without a hedge.
  virtual std::optional<HedgeState> hedge() const { return std::nullopt; }
};

// HyperBand's brackets (Li et al. 2018; REFERENCE §6): s_max = floor(log_eta(max/min)); bracket s (s_max down to 0)
// starts n = ceil((s_max+1)/(s+1) * eta^s) configs at budget max * eta^-s; rung i keeps floor(n * eta^-i) configs at
// budget max * eta^(i-s) (rounded to whole epochs). Throws InputError for min < 1, max < min, eta < 2.
std::vector<BracketPlan> hyperband_plan(std::int64_t min_budget, std::int64_t max_budget, int eta);
// One successive-halving bracket starting n configs at min_budget, multiplying the budget by eta up to max_budget.
BracketPlan successive_halving_plan(std::int64_t n_configs, std::int64_t min_budget, std::int64_t max_budget, int eta);
std::int64_t total_epochs(const std::vector<BracketPlan>& plan);  // epochs if promoted trials continue

struct SchedulerOptions {
  std::int64_t min_budget = 1;
  std::int64_t max_budget = 27;
  int eta = 3;
  std::int64_t n_configs = 0;   // random search / SH / ASHA: trials to start (0 = as HyperBand's largest bracket)
  int iterations = 1;           // HyperBand, top-k: times to run the whole plan
  int top_k = 3;                // top-k: trials trained on to max_budget after min_budget
  // > 0: every result carries this many candidate scores, and a synchronous rung is ranked by the candidate whose
  // scores at the rung's budget best predicted the next rung's accuracy so far (ScoreEvidence; candidate 0 until a
  // candidate has adaptive_min_pairs pairs). ASHA refuses it: its rungs are ranked as results arrive.
  int adaptive = 0;
  std::int64_t adaptive_min_pairs = 10;
  // A hedged ranking (--estimator A+B): every result carries two candidate scores, A's and B's, and a synchronous
  // rung's promotions alternate between A's ranking and B's. The first pick (half the places, rounded up) is A's
  // until a trial B promoted reaches a better validation accuracy at its bracket's last rung than every trial A
  // promoted, then B's. Into a bracket's last rung of three places or more the promotion is staged: the first two
  // (one of each ranking) run, and the others are taken once both have reported, with their evidence (decision
  // record 0021). ASHA refuses it, as it does `adaptive`.
  bool hedge = false;
};

// The one-epoch top-K baseline (Egele et al. 2023, "Is one epoch all you need for multi-fidelity HPO?"): n
// configurations trained for min_budget epochs, the best top_k of them trained on to max_budget. n = n_configs, or
// (0) as many as one HyperBand round's epochs allow: n * min + top_k * (max - min) = the round's epochs, at least
// top_k. Throws InputError for top_k < 1.
BracketPlan top_k_plan(const SchedulerOptions& options);
// top-k-auto's gate: trials in the first sample (at least HyperBand's first rung, at most top-K's N) and the Kendall
// tau between their ranking scores and validation accuracies at min_budget from which top-K's rounds run (below it,
// rounds of that many trials with more finalists, decision record 0023).
inline constexpr std::int64_t kGateSample = 40;
inline constexpr double kGateTau = 0.2;
// The trials top-k-auto's gate samples with these options: kGateSample, at least HyperBand's first rung, at most
// top-K's N.
std::int64_t gate_sample(const SchedulerOptions& options);
// The finalists of top-k-auto's other branch: as many of the `gate` trials as the epochs of a top-K round allow
// after their first budget (at least --top-k, at most `gate`).
std::int64_t gate_fallback_top_k(const SchedulerOptions& options, std::int64_t gate);
// top-k-auto's other branch, the brackets it runs where the gate disagrees (search_plan gives the top-K branch).
std::vector<BracketPlan> gate_fallback_plan(const SchedulerOptions& options);

// Every --algo: random, sh, hyperband, bohb, dehb, asha, top-k, top-k-hb, top-k-auto (bohb and dehb are HyperBand
// with a model sampler; top-k-hb is the one-epoch top-K's round first, then HyperBand's brackets for the other
// iterations; top-k-auto trains a first sample of trials for min_budget and, where their ranking score agrees with
// their validation accuracy (Kendall's tau >= kGateTau), runs top-K's rounds, else rounds that spend the same epochs
// on that many trials and more finalists).
const std::vector<std::string>& algorithm_names();

// The brackets `algo` runs (random, sh, hyperband, bohb, dehb, asha, top-k; ASHA as its synchronous equivalent): what
// `fhist plan`
// prints and the totals search progress counts against. Validates the options as make_scheduler does.
std::vector<BracketPlan> search_plan(const std::string& algo, const SchedulerOptions& options);
std::int64_t total_jobs(const std::vector<BracketPlan>& plan);       // one job per rung entry
std::int64_t total_configs(const std::vector<BracketPlan>& plan);    // configurations started

// "random" (n_configs trials at max_budget), "sh", "hyperband", "asha", "top-k", "top-k-hb". Throws InputError
// otherwise.
std::unique_ptr<Scheduler> make_scheduler(const std::string& name, const SchedulerOptions& options, NewTrial new_trial);
std::vector<std::string> scheduler_names();

}  // namespace fhist::sched
