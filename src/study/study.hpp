#pragma once
// A search: the loop over sampler + scheduler + executor + journal, with replay and resume. What a job does is an
// exec::Objective the caller passes in (objective::training for real training; a table's rows; a test's fake), so
// this module builds and is tested without Torch.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "exec/executor.hpp"
#include "sched/scheduler.hpp"
#include "score/scores.hpp"
#include "space/space.hpp"
#include "study/training_options.hpp"

namespace fhist::study {

// A search's options. What the objective needs is its own: `training` for fhist's trainer (and the tables it
// builds), `objective_options` for the others (a command's --command and --job-timeout, a program's name).
struct StudyOptions {
  std::string space = "hparams";     // built-in name or a JSON file
  // random | sh | hyperband | bohb | dehb | asha | top-k | top-k-hb | top-k-auto. top-k-auto with a hedged
  // tse-ema+fh ranking has the lowest mean anytime regret over the nine tables at 1, 3 and 9 HyperBand rounds'
  // epochs (docs/results.md, "The default").
  std::string algo = "top-k-auto";
  // A name of score/scores.hpp's registry: the score schedulers rank by. Empty: default_estimator() for the
  // objective, set by resolve_defaults() before the journal is written (it stores the name).
  std::string estimator;
  // What the search optimizes: the incumbent is the best value at the full budget, and "original", "best-acc" and
  // auto's evidence read it. val_acc (fhist's trainer, the default) or any number a user's loop reports per epoch
  // (val_loss, or a key of its own metrics: "val_mse"), for the command and ask-and-tell objectives.
  std::string metric = "val_acc";
  // maximize | minimize; empty: maximize for val_acc, required for any other metric (validate() refuses a guess).
  std::string direction;
  // A table (fhist table) whose configurations are the only candidates: a sampled configuration becomes the nearest
  // of the table's, trained with the table's data, settings and that row's seed (so it reproduces the table).
  std::string table;
  // train: train every job; table: read every job's epochs from `table` instead (a replay in milliseconds);
  // command: run a user's script per job (command::CommandOptions in objective_options); ask-tell: the user's own
  // loop drives the search through fhist::Study (ask_tell.hpp); custom: a program's own exec::Objective passed to
  // run_study (objective_options {"name": ...} names it in reports). Set custom for your own objective: the journal
  // then says what trained it, and fhist search --resume / fhist evaluate, which would train fhist's network in its
  // place, refuse it.
  std::string objective = "train";
  // The objective's own settings, stored as they are and checked by the objective (the command objective's
  // --command and --job-timeout).
  nlohmann::json objective_options = nlohmann::json::object();
  // objective train and table (and a program's own objective, which may read them): fhist's trainer's settings.
  // Stored as the journal's "training" block; a command's or an ask-and-tell loop's journal has none.
  TrainingOptions training;
  sched::SchedulerOptions sched;  // budgets in epochs, eta, n_configs, iterations
  std::uint64_t seed = 0;
  bool keep_checkpoints = false;
  // One device ("cpu", "cuda", "cuda:1") or a comma-separated list ("cuda:0,cuda:1"); worker i trains on device
  // i mod the list's length.
  std::string device = "cpu";
  // Jobs trained at the same time, each on its own thread (CPU workers share the intra-op threads equally). With
  // more than one, the order in which results arrive, hence the scheduler's decisions, depends on timing; each
  // trial's own training stays seeded by (seed, trial).
  int workers = 1;
  // Where jobs run: auto (inline for one worker, threads for more), inline, thread, or mpi (ranks 1..N of mpirun).
  // How it runs, not what: not stored in the journal.
  std::string executor = "auto";
  int threads = 0;  // intra-op threads in all (0 = default_threads()); CPU workers split them

  // tse-ema+fh for top-k-auto and top-k where fhist trains (or replays a table) for val_acc: the hedge needs the
  // network's features, which fh reads, and it helped top-K's finalists only (decision record 0019). tse-ema
  // otherwise: a user's loop reports losses and accuracies, not features; another metric; another algorithm.
  std::string default_estimator() const;
  // Fills what was left to the default (an empty estimator); every entry point calls it before it validates.
  void resolve_defaults();
  // Throws InputError naming the flag.
  void validate() const;
  // --metric and --direction alone (validate() calls it): Study::create and the CLI refuse a bad pair by name.
  void validate_metric() const;
  bool minimize() const { return direction == "minimize"; }
  // Whether `training` applies: fhist trains (train, table) or may (custom); not for a command or ask-and-tell.
  bool trains() const { return objective != "command" && objective != "ask-tell"; }
  nlohmann::json to_json() const;
  static StudyOptions from_json(const nlohmann::json& j);
};

// What the search's jobs train, as the reports print it: "resnet18 on fashion-mnist (8000 train / 2000 val)", or
// "command 'python3 train.py'".
std::string objective_text(const StudyOptions& o);

// The metric's value as the reports print it: "87.31%" for val_acc, else "val_mse 0.0123". `value` is the search's
// form (higher is better: negated for --direction minimize), as exec::Outcome::value and score::EpochMeasures hold it.
std::string metric_text(const StudyOptions& o, double value);
// The metric's name as the reports print it: "validation accuracy" for val_acc, else the metric's own ("val_mse").
std::string metric_name(const StudyOptions& o);
// The metric's own value from the search's form (the sign undone for minimize).
double metric_value(const StudyOptions& o, double value);
// The score a trial's reported score is: the estimator's name, A's for a hedged A+B (which scores as A).
std::string score_name(const StudyOptions& o);

// A train / validation size as the reports print it: the number, or "auto" for 0 (data::make_splits decides).
std::string size_text(std::int64_t n);

// One finished job, as the study reports it (exec::Outcome: trial, bracket, rung, budget, score, the network's own
// accuracy, state, message, seconds, worker).
using TrialResult = exec::Outcome;

struct StudySummary {
  std::optional<TrialResult> best;   // best score at the largest budget any trial reached
  space::Config best_config;
  std::int64_t trials = 0;
  std::int64_t jobs = 0;             // finished jobs (one per trial and rung)
  std::int64_t epochs_trained = 0;   // every epoch of every trial, resumed ones counted once
  double seconds = 0.0;              // wall seconds of all jobs
  std::string journal;
  bool stopped = false;              // should_stop ended the run before the search was done (resume goes on)
  bool interrupted = false;          // interrupt ended it: the running jobs were abandoned (resume reruns them)
  bool trial_limit = false;          // with stopped: Callbacks::max_trials ended it
  std::int64_t abandoned = 0;        // with interrupted: the jobs that were running
  // This run (a resume counts its own): wall seconds of the job loop, and per worker the seconds it spent running
  // jobs. busy / wall is the worker's utilisation: below 1 where it waited for a rung's stragglers or a result.
  double wall_seconds = 0.0;
  std::vector<double> worker_busy_seconds;
  std::vector<std::int64_t> table_rows;  // a search on a table: the row each trial drew, by trial id
  // --estimator auto: per budget that had evidence, the score its rungs rank by now, with its tau and pairs.
  struct RankedBy {
    std::string score;
    double tau = 0.0;
    std::int64_t pairs = 0;
    std::string basis;  // "its own pairs", "pairs of every budget" or "too few pairs: the fallback"
  };
  std::map<std::int64_t, RankedBy> ranked_by;
  std::string decision;  // --algo top-k-auto: the plan it chose and why (sched::Scheduler::decision)
  std::string plan_name;                   // and that plan's name alone (sched::Scheduler::chosen_plan_name)
  std::vector<sched::BracketPlan> plan;    // and that plan (sched::Scheduler::chosen_plan); empty before it chose
  std::optional<sched::HedgeState> hedge;  // --estimator A+B: which ranking picks first now, and why
};

// Whether `r` becomes the incumbent over `best`: the best finite score among results at the largest budget any trial
// reached; among trials trained to the full budget, the best measured validation accuracy (no estimate is needed
// once training is complete, and a ranking score such as TSE says nothing about accuracy there). The search and the
// HTML report's incumbent curve both pick by it.
bool improves(const std::optional<TrialResult>& best, const TrialResult& r, std::int64_t max_budget);

// Called after every finished job, with the running totals.
using ResultCallback = std::function<void(const TrialResult&, const StudySummary&)>;
// Called after every optimisation step of a job: (job, epoch, step in epoch, steps in epoch, running loss). With
// workers > 1 it is called from the workers' threads, several at once: it must be thread-safe. on_result is always
// called from the thread that called run_study / resume_study.
using StepCallback = std::function<void(const sched::Job&, std::int64_t, std::int64_t, std::int64_t, double)>;

struct Callbacks {
  // Called once, when the search is ready to run (options, space and data checked, objective built, journal open),
  // before its first job: where a front end prints its banner, so that no error comes after it.
  std::function<void()> on_ready;
  ResultCallback on_result;
  StepCallback on_step;
  // Asked before each new job: true = start no more jobs, let the running ones finish, return (summary.stopped).
  std::function<bool()> should_stop;
  // > 0 (--max-trials): create no trial once the journal holds this many; the promotions of those go on, then the
  // run returns with summary.stopped and summary.trial_limit unless the plan was done. Not stored in the journal.
  std::int64_t max_trials = 0;
  // Asked at every training step, from the workers' threads (must be thread-safe): true = abandon the running jobs
  // now (they stay started in the journal; a resume reruns them from their last checkpoint), start no more, and
  // return with summary.stopped and summary.interrupted. For Ctrl-C / SIGTERM.
  std::function<bool()> interrupt;
};

class BenchmarkTable;

// What an objective is built from: the search's resolved options (a table's settings applied, "auto" augmentation
// resolved), its space, and where its rows go.
struct ObjectiveContext {
  StudyOptions options;
  space::SearchSpace space;
  std::string journal;                          // trial_dir(journal, trial) holds a trial's checkpoints
  std::shared_ptr<const BenchmarkTable> table;  // set when the trials are restricted to a table's configurations
  exec::EpochSink* sink = nullptr;              // the journal, or (MPI workers) rank 0
  // Thread-safe; true: abandon the running job now by throwing exec::Cancelled (an interrupt, another job's fatal
  // error, rank 0's cancel). An objective asks it as often as it can stop (every training step).
  std::function<bool()> cancelled;
  StepCallback on_step;                         // may be empty
  bool resuming = false;                        // the search continues a journal (resume_study)
  // A trial whose checkpoint cannot be read is retrained from epoch 1 (the file kept in <journal>.trials/discarded/,
  // the trial's message saying so) instead of stopping the search (ResumeOptions::discard_bad_checkpoints).
  bool discard_bad_checkpoints = false;
};
// Builds a search's objective. Called once per process (and once per MPI worker rank) before any job; for a new
// search, before the journal is created, so an objective that cannot be built (bad data, a space whose
// configurations cannot become a network) leaves nothing behind. Searches with the options' objective "table" read
// the table instead and never call it.
using MakeObjective = std::function<std::unique_ptr<exec::Objective>(const ObjectiveContext&)>;

// Creates a new journal (refusing an existing one) and runs the search to the end.
StudySummary run_study(const StudyOptions& options, const std::string& journal, const MakeObjective& make,
                       const Callbacks& callbacks = {});
// A whole search against a table (objective "table") with the journal in memory: for replays over many seeds.
StudySummary run_table_search(const StudyOptions& options, std::shared_ptr<const BenchmarkTable> table,
                              const Callbacks& callbacks = {});

// What a resume may change: how the rest runs, never what the search is.
struct ResumeOptions {
  std::optional<int> workers;       // replaces the stored number of workers
  std::optional<std::string> data;  // the stored --data spec when the dataset has moved (same dataset name)
  std::optional<std::string> device;  // e.g. a search started on a GPU host and finished on a CPU one
  std::optional<int> threads;       // intra-op threads in all (the stored ones otherwise)
  std::string executor = "auto";    // StudyOptions::executor (not stored)
  bool discard_bad_checkpoints = false;  // ObjectiveContext::discard_bad_checkpoints, on every worker
};
// Continues the search in `journal` with the options stored in it: replays the journal into the scheduler and the
// sampler, re-runs jobs that were running when it stopped (from their checkpoints), then goes on. InputError for
// a --data of another dataset. A trial that cannot go on because of the machine (its checkpoint cannot be written
// or no longer matches the setup) throws EnvironmentError: the search stops there, nothing finished is lost, and a
// resume reruns the job.
StudySummary resume_study(const std::string& journal, const MakeObjective& make, const Callbacks& callbacks = {},
                          const ResumeOptions& resume = {});
// MPI ranks 1..N of `mpirun ... fhist search --executor mpi`: receive the resolved options from rank 0, build the
// objective (`make`, or the table's), run the jobs rank 0 sends until it stops them. Epoch rows go to rank 0.
void serve_mpi_worker(const MakeObjective& make, const Callbacks& callbacks = {});
// The summary of a journal without running anything (read-only: works while a search runs on it).
StudySummary summarize_journal(const std::string& journal);
// The scheduler's state after the journal's last event, replayed from a copy in memory (read-only, like
// summarize_journal): the summary with top-k-auto's decision, the hedge's state and auto's rungs as the search
// would print them now. Throws store::StoreError where this fhist cannot replay the journal.
StudySummary replay_journal(const std::string& journal);
// The configuration of trial `trial` (read-only). Throws InputError naming the journal's trial ids if there is none.
space::Config trial_config(const std::string& journal, std::int64_t trial);
// fhist evaluate's results ({"trial", "config", "max_budget", "test_acc", "seed", ...}), appended to the journal's
// study record (needs the journal's lock: not while a search runs on it), and read back in order.
void add_evaluation(const std::string& journal, const nlohmann::json& evaluation);
std::vector<nlohmann::json> journal_evaluations(const std::string& journal);
// The latest evaluation of each evaluated trial, by trial id.
std::map<std::int64_t, nlohmann::json> latest_evaluations(const std::string& journal);
// The options a journal was created with (read-only).
StudyOptions journal_options(const std::string& journal);

// The devices of a --device list ("cuda:0,cuda:1" -> {"cuda:0", "cuda:1"}). Throws InputError for an empty entry.
std::vector<std::string> device_list(const std::string& devices);

// A number for a journal or JSON output: null where it is not finite (JSON has no NaN or infinity).
nlohmann::json json_number(double v);

// A finished trial's folder (a command objective's, ask-and-tell's): removes what the user's jobs kept there
// (checkpoints), keeping log.txt, metrics.jsonl and job.json. Errors are ignored (the files are the user's).
void clear_trial_dir(const std::string& journal, std::int64_t trial);

// Where a search's trial keeps its files (the training objective's checkpoint): "<journal>.trials/trial_<id>/",
// beside the journal, so every MPI rank that shares the work dir finds them.
std::string trial_dir(const std::string& journal, std::int64_t trial);

}  // namespace fhist::study
