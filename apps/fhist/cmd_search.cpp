// fhist plan | search | evaluate: the search side of the CLI.
#include <fmt/format.h>
#include <fmt/chrono.h>
#include <fmt/ranges.h>

#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "core/errors.hpp"
#include "core/progress.hpp"
#include "data/dataset.hpp"
#include "models/model.hpp"
#include "nas/network.hpp"
#include "sched/scheduler.hpp"
#include "store/trial_store.hpp"
#include "score/scores.hpp"
#include "exec/mpi.hpp"
#include "study/study.hpp"
#include "train/trainer.hpp"

namespace fhist::cli {
namespace {

// plan and search take the same budget flags, validated the same way (sched::search_plan).
void add_budget_flags(CLI::App& sub, sched::SchedulerOptions& s) {
  sub.add_option("--min-budget", s.min_budget, "smallest budget, epochs")->check(at_least(1))->capture_default_str();
  sub.add_option("--max-budget,--max-epochs", s.max_budget, "largest budget, epochs (the lr schedule's length)")
      ->check(at_least(1))
      ->capture_default_str();
  sub.add_option("--eta", s.eta, "budget multiplier and keep-1/eta factor")->check(at_least(2))->capture_default_str();
  sub.add_option("--n-configs", s.n_configs, "random/sh/asha: configurations (0 = as HyperBand's largest bracket)")
      ->check(at_least(0))
      ->capture_default_str();
  sub.add_option("--iterations", s.iterations, "hyperband/bohb: rounds of all brackets")
      ->check(at_least(1))
      ->capture_default_str();
}

// ---- plan
struct PlanCmd {
  std::string algo = "hyperband";
  sched::SchedulerOptions s;
  JsonOutput out;
};

void run_plan(const PlanCmd& c) {
  const auto plan = sched::search_plan(c.algo, c.s);
  if (c.out.any()) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& b : plan) {
      nlohmann::json rungs = nlohmann::json::array();
      for (const auto& r : b.rungs) rungs.push_back({{"configs", r.configs}, {"budget_epochs", r.budget_epochs}});
      j.push_back({{"bracket", b.bracket}, {"rungs", rungs}});
    }
    c.out.write(j);
    if (c.out.json) return;
  }
  fmt::print("{} plan: budgets {}..{} epochs, eta {}{}\n", c.algo, c.s.min_budget, c.s.max_budget, c.s.eta,
             c.algo == "asha" ? " (ASHA promotes asynchronously; this is the synchronous equivalent)" : "");
  for (const auto& b : plan) {
    std::string rungs;
    std::int64_t epochs = 0, prev = 0;
    for (const auto& r : b.rungs) {
      rungs += fmt::format("{:>5} x {:<6}", r.configs, fmt::format("{}ep", r.budget_epochs));
      epochs += r.configs * (r.budget_epochs - prev);
      prev = r.budget_epochs;
    }
    fmt::print("  bracket {:>2}: {}  = {} epochs\n", b.bracket, rungs, epochs);
  }
  fmt::print("total: {} configurations, {} jobs, {} epochs (promoted trials continue from their checkpoints)\n",
             sched::total_configs(plan), sched::total_jobs(plan), sched::total_epochs(plan));
}

// ---- search
struct SearchCmd {
  study::StudyOptions o;
  std::string journal = "runs/search.db";
  bool resume = false;
  bool workers_given = false;
  RuntimeOptions rt;
  const CLI::App* app = nullptr;  // to tell the flags given on this command line (--resume refuses most)
};

// A resumed search runs with its stored settings. Any other setting given with --resume would be ignored without a
// word, so it is refused, naming each flag and the stored value. --workers, --threads and --device only change how
// the search runs; --data may point to the same dataset in another place (the data moved).
void check_resume_flags(const SearchCmd& c, const study::StudyOptions& stored) {
  static const std::vector<std::string> allowed = {"journal", "resume", "workers", "threads", "device", "data",
                                                   "executor"};
  const auto settings = stored.to_json();
  std::vector<std::string> ignored;
  for (const auto* opt : c.app->get_options()) {
    if (opt->count() == 0 || opt->get_lnames().empty()) continue;
    const auto& name = opt->get_lnames().front();
    if (std::find(allowed.begin(), allowed.end(), name) != allowed.end()) continue;
    auto key = name;
    std::replace(key.begin(), key.end(), '-', '_');
    const auto given = opt->as<std::string>();
    ignored.push_back(settings.contains(key)
                          ? fmt::format("--{} {} (stored: {})", name, given, settings.at(key).dump())
                          : fmt::format("--{} {}", name, given));
  }
  if (!ignored.empty()) {
    throw InputError(fmt::format("--resume continues {} with its stored settings, so these would be ignored: {}. Drop "
                                 "them, or start a new search with another --journal (--workers, --threads, "
                                 "--device and --data may change on resume)",
                                 c.journal, fmt::join(ignored, ", ")));
  }
}

void print_summary(const study::StudySummary& s, const std::string& estimator) {
  fmt::print("\n");
  if (!s.best) {
    fmt::print("no trial finished successfully\n");
  } else {
    fmt::print("best: trial {} {} | {} score {}, validation accuracy {:.2f}% at {} epochs\n", s.best->trial,
               s.best_config.to_string(), estimator, score_text(s.best->score, estimator),
               100.0 * s.best->original_val_acc, s.best->budget_epochs);
  }
  fmt::print("spent: {} trials, {} jobs, {} epochs, {:.0f} s of training\n", s.trials, s.jobs, s.epochs_trained,
             s.seconds);
  if (s.wall_seconds > 0 && !s.worker_busy_seconds.empty()) {
    std::string u;
    for (std::size_t w = 0; w < s.worker_busy_seconds.size(); ++w) {
      u += fmt::format("{}{:.0f}%", w == 0 ? "" : ", ", 100.0 * s.worker_busy_seconds[w] / s.wall_seconds);
    }
    fmt::print("workers: {} busy of {:.1f} s wall (utilisation per worker, this run)\n", u, s.wall_seconds);
  }
  fmt::print("journal: {}\n", s.journal);
}

// The running jobs on one line of stderr (a terminal only): several workers report steps at once.
class JobsLine {
 public:
  void step(const sched::Job& job, std::int64_t epoch, std::int64_t step, std::int64_t steps, double loss) {
    std::lock_guard<std::mutex> lock(mu_);
    running_[job.trial] = fmt::format("t{} {}/{}ep {:>3}% {:.3f}", job.trial, epoch, job.budget_epochs,
                                      100 * step / std::max<std::int64_t>(steps, 1), loss);
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    std::string line;
    for (const auto& [t, s] : running_) line += (line.empty() ? "" : " | ") + s;
    fmt::print(stderr, "\r\033[K{}", line);
    std::fflush(stderr);
  }
  // Called before a result line is printed.
  void finished(std::int64_t trial) {
    std::lock_guard<std::mutex> lock(mu_);
    running_.erase(trial);
    if (enabled_) fmt::print(stderr, "\r\033[K");
  }

 private:
  std::mutex mu_;
  std::map<std::int64_t, std::string> running_;
  bool enabled_ = ProgressBar::stderr_is_terminal();
  std::chrono::steady_clock::time_point last_{};
};

// "42 s", "12 min", "3.4 h".
std::string duration_text(double seconds) {
  if (seconds < 90) return fmt::format("{:.0f} s", seconds);
  if (seconds < 5400) return fmt::format("{:.0f} min", seconds / 60);
  return fmt::format("{:.1f} h", seconds / 3600);
}

// Where a search stands against its plan: job k/N, epochs e/E, the best so far and an ETA from this session's pace
// (wall seconds per epoch since it started, so several workers count). Warns once when the rest will take hours.
class SearchProgress {
 public:
  SearchProgress(const std::vector<sched::BracketPlan>& plan, std::int64_t epochs_before)
      : jobs_(sched::total_jobs(plan)), epochs_(sched::total_epochs(plan)), epochs_before_(epochs_before) {}

  std::string line(const study::StudySummary& s, const std::string& estimator) const {
    std::string out = fmt::format("job {}/{}, epochs {}/{}", s.jobs, jobs_, s.epochs_trained, epochs_);
    // The incumbent's score and measured accuracy: at the full budget the accuracy is what picks it.
    if (s.best) {
      out += fmt::format(", best trial {} ({}, val {:.2f}%)", s.best->trial, score_text(s.best->score, estimator),
                         100.0 * s.best->original_val_acc);
    }
    if (const auto eta = remaining_seconds(s)) out += ", ETA " + duration_text(*eta);
    return out;
  }

  // A note, once, when the epochs left will take more than an hour at this pace.
  std::string warning(const study::StudySummary& s) {
    const auto eta = remaining_seconds(s);
    if (warned_ || !eta || *eta < 3600) return {};
    warned_ = true;
    return fmt::format("note: at this pace ({:.1f} s per epoch) the {} epochs left take about {}. A smaller plan: "
                       "--max-budget, --n-configs, --train-size, more --workers on a GPU (fhist plan prints a plan's "
                       "size); Ctrl-C stops cleanly and --resume goes on later.",
                       elapsed() / static_cast<double>(s.epochs_trained - epochs_before_),
                       std::max<std::int64_t>(0, epochs_ - s.epochs_trained), duration_text(*eta));
  }

 private:
  double elapsed() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }
  std::optional<double> remaining_seconds(const study::StudySummary& s) const {
    const auto done = s.epochs_trained - epochs_before_;
    if (done <= 0) return std::nullopt;
    const auto left = std::max<std::int64_t>(0, epochs_ - s.epochs_trained);
    return elapsed() / static_cast<double>(done) * static_cast<double>(left);
  }

  std::int64_t jobs_;
  std::int64_t epochs_;
  std::int64_t epochs_before_;
  bool warned_ = false;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

void run_search(SearchCmd& c) {
  const std::string device = apply_runtime(c.rt, true);
  // Under mpirun every rank runs this command: rank 0 the search, ranks 1..N its jobs (they print nothing).
  std::optional<exec::MpiSession> mpi;
  if (c.o.executor == "mpi") {
    mpi.emplace();
    if (mpi->rank() > 0) {
      study::Callbacks cb;
      const InterruptGuard interrupt;
      cb.interrupt = [&interrupt] { return interrupt.signal() != 0; };
      study::serve_mpi_worker(cb);
      return;
    }
    c.o.workers = mpi->workers();
    c.workers_given = true;
  }
  // A progress bar for the running job on a terminal (a line of running jobs with several workers); one line per
  // finished job always.
  std::unique_ptr<ProgressBar> bar;
  JobsLine jobs;
  // A resumed search runs with its stored settings; only --workers may replace one.
  const std::optional<study::StudyOptions> stored =
      c.resume ? std::optional<study::StudyOptions>(study::journal_options(c.journal)) : std::nullopt;
  if (stored) check_resume_flags(c, *stored);
  // Scores depend on the threads a job gets (the order of float sums): a resume runs with the stored threads, so it
  // finishes as the uninterrupted search would have, unless --threads says otherwise.
  if (stored && stored->threads > 0 && c.app->get_option("--threads")->count() == 0) {
    at::set_num_threads(stored->threads);
  }
  const int workers = stored && !c.workers_given ? stored->workers : c.o.workers;
  const std::string estimator = stored ? stored->estimator : c.o.estimator;
  const auto& options = stored ? *stored : c.o;
  const auto plan = sched::search_plan(options.algo, options.sched);
  SearchProgress progress(plan, stored ? study::summarize_journal(c.journal).epochs_trained : 0);
  study::Callbacks cb;
  const InterruptGuard interrupt;
  cb.interrupt = [&interrupt] { return interrupt.signal() != 0; };
  std::int64_t last_step = 0;
  cb.on_step = [&](const sched::Job& job, std::int64_t epoch, std::int64_t step, std::int64_t steps, double loss) {
    if (workers > 1) return jobs.step(job, epoch, step, steps, loss);
    // A new bar for each epoch. The trainer reports every few steps (every 20 on CUDA), so step 1 may never come.
    if (!bar || step <= last_step) {
      if (bar) bar->finish();
      bar = std::make_unique<ProgressBar>(steps, fmt::format("[bracket {} rung {}] trial {} epoch {}/{}", job.bracket,
                                                             job.rung, job.trial, epoch, job.budget_epochs));
    }
    last_step = step;
    bar->update(step, fmt::format("loss {:.4f}", loss));
  };
  cb.on_result = [&](const study::TrialResult& r, const study::StudySummary& s) {
    if (bar) bar->finish();
    bar.reset();
    last_step = 0;
    jobs.finished(r.trial);
    fmt::print("[bracket {} rung {}] trial {:>3} {:>3} epochs: score {:>7} (original {:.2f}%) {:6.1f} s | {}{}\n",
               r.bracket, r.rung, r.trial, r.budget_epochs, score_text(r.score, estimator), 100.0 * r.original_val_acc,
               r.seconds, progress.line(s, estimator), r.message.empty() ? "" : " | " + r.message);
    const auto note = progress.warning(s);
    if (!note.empty()) fmt::print("{}\n", note);
    std::fflush(stdout);
  };
  const auto plan_line = fmt::format("plan: {} configurations, {} jobs, {} epochs ({} {}..{} eta {}{})",
                                     sched::total_configs(plan), sched::total_jobs(plan), sched::total_epochs(plan),
                                     options.algo, options.sched.min_budget, options.sched.max_budget,
                                     options.sched.eta,
                                     options.algo == "asha" ? "; ASHA's count is its synchronous equivalent" : "");
  study::StudySummary summary;
  if (c.resume) {
    fmt::print("resuming {}: {} + {} estimator on {}, seed {}, {} threads, {} worker(s)\n", c.journal, stored->algo,
               stored->estimator, stored->data, stored->seed, at::get_num_threads(), workers);
    fmt::print("{}\n", plan_line);
    std::fflush(stdout);
    const bool data_given = c.app->get_option("--data")->count() > 0;
    const bool device_given = c.app->get_option("--device")->count() > 0;
    summary = study::resume_study(c.journal, cb, c.workers_given ? std::optional<int>(c.o.workers) : std::nullopt,
                                  data_given ? std::optional<std::string>(c.o.data) : std::nullopt,
                                  device_given ? std::optional<std::string>(device) : std::nullopt, c.o.executor);
  } else {
    c.o.device = device;
    c.o.bf16 = c.rt.precision == "bf16";
    c.o.channels_last = c.rt.channels_last;
    c.o.threads = at::get_num_threads();
    c.o.validate();
    if (!c.o.table.empty()) {
      // The table's data, network and training settings apply (study::run_study), not this command's defaults.
      fmt::print("search: {} + {} estimator over the configurations of table {} ({}), budgets {}..{} eta {}, seed {}, "
                 "{} threads, {} worker(s) on {}\n",
                 c.o.algo, c.o.estimator, c.o.table,
                 c.o.objective == "table" ? "read from the table" : "trained as the table did", c.o.sched.min_budget,
                 c.o.sched.max_budget, c.o.sched.eta, c.o.seed, at::get_num_threads(), c.o.workers, device);
    } else {
      fmt::print("search: {} + {} estimator, space {}, {} on {} ({} train / {} val), budgets {}..{} eta {}, seed {}, "
                 "{} threads, {} worker(s) on {}\n",
                 c.o.algo, c.o.estimator, c.o.space, c.o.model, c.o.data, c.o.train_size, c.o.val_size,
                 c.o.sched.min_budget, c.o.sched.max_budget, c.o.sched.eta, c.o.seed, at::get_num_threads(),
                 c.o.workers, device);
    }
    fmt::print("{}\n", plan_line);
    std::fflush(stdout);
    summary = study::run_study(c.o, c.journal, cb);
  }
  if (summary.interrupted) {
    if (bar) bar->finish();
    fmt::print("\ninterrupted by {}: {} trials, {} epochs recorded in {}; {} running job(s) stopped and will "
               "continue from their last checkpoint.\nresume with: fhist search --resume --journal {}\n",
               interrupt.name(), summary.trials, summary.epochs_trained, c.journal, summary.abandoned, c.journal);
    std::fflush(stdout);
    throw Interrupted{interrupt.signal()};
  }
  print_summary(summary, estimator);
}

// ---- evaluate
struct EvaluateCmd {
  std::string journal;
  std::int64_t max_budget = 0;  // 0: the search's --max-budget
  std::int64_t trial = -1;      // -1: the incumbent
  bool no_store = false;
  JsonOutput out;
  RuntimeOptions rt;
};

void run_evaluate(const EvaluateCmd& c) {
  const std::string device = apply_runtime(c.rt);
  const auto o = study::journal_options(c.journal);
  const std::int64_t epochs = c.max_budget > 0 ? c.max_budget : o.sched.max_budget;
  const auto s = study::summarize_journal(c.journal);
  space::Config cfg;
  std::int64_t trial = c.trial;
  if (trial < 0) {
    if (!s.best) throw InputError(fmt::format("{}: no finished trial to evaluate", c.journal));
    cfg = s.best_config;
    trial = s.best->trial;
  } else {
    cfg = study::trial_config(c.journal, trial);
  }
  // The result goes into the journal at the end: a search still running there holds its lock, so say so now.
  if (!c.no_store && store::journal_in_use(c.journal)) {
    throw InputError(fmt::format("{} is in use by a running search: evaluate after it ends, or pass --no-store "
                                 "(the result then goes only to --json / -o)",
                                 c.journal));
  }
  const auto t_start = std::chrono::steady_clock::now();
  auto tt = data::load_dataset(o.data);
  auto split = data::split_train_val(tt.train, o.train_size, o.val_size, o.seed);
  const auto train_val = data::concat(split.train, split.val);
  auto eval_options = o;
  eval_options.device = device;
  eval_options.bf16 = c.rt.precision == "bf16";
  eval_options.channels_last = c.rt.channels_last;
  train::TrainOptions t;
  models::ModelSpec spec;
  study::apply_config(cfg, eval_options, t, spec);
  t.epochs = epochs;
  t.max_epochs = epochs;
  t.seed = o.seed;
  t.estimate_each_epoch = false;
  spec.in_channels = tt.train.channels();
  spec.num_classes = tt.train.num_classes;
  train::seed_weight_init(t.seed);
  // Train on train + validation, report on the official test set (the paper's final evaluation). The trainer's
  // "validation" pass is the test set here; nothing is selected by it.
  train::Trainer trainer(nas::make_network(spec), train_val, tt.test, t);
  // With --json, stdout carries the JSON only; the progress lines go to stderr.
  std::FILE* human = c.out.json ? stderr : stdout;
  fmt::print(human, "evaluate: trial {} {} from {}, retrained from scratch on {} images for {} epochs\n", trial,
             cfg.to_string(), c.journal, train_val.size(), epochs);
  nlohmann::json per_epoch = nlohmann::json::array();
  while (!trainer.finished()) {
    const auto r = trainer.run_epoch();
    fmt::print(human, "epoch {:>3}  loss {:.4f}  test {:.2f}%  {:.1f} s\n", r.epoch, r.train_loss,
               100.0 * r.original_val_acc, r.seconds);
    std::fflush(human);
    per_epoch.push_back({{"epoch", r.epoch},
                         {"train_loss", study::json_number(r.train_loss)},
                         {"test_acc", study::json_number(r.original_val_acc)},
                         {"seconds", r.seconds}});
  }
  const double test_acc = trainer.records().back().original_val_acc;
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  nlohmann::json result = {
      {"journal", c.journal},
      {"trial", trial},
      {"config", cfg.to_json()},
      {"max_budget", epochs},
      {"train_images", train_val.size()},
      {"test_images", tt.test.size()},
      {"test_acc", study::json_number(test_acc)},
      {"seed", t.seed},
      {"device", device},
      {"threads", at::get_num_threads()},
      {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count()},
      {"finished_at", fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(now))},
      {"fhist_version", FHIST_VERSION},
      {"epochs", per_epoch}};
  fmt::print(human, "test accuracy: {:.2f}%\n", 100.0 * test_acc);
  if (!c.no_store) {
    auto stored = result;
    stored.erase("journal");
    study::add_evaluation(c.journal, stored);
    fmt::print(human, "stored in {} (fhist report shows it)\n", c.journal);
  }
  c.out.write(result);
}

}  // namespace

void register_search(CLI::App& app) {
  {
    auto c = std::make_shared<PlanCmd>();
    auto* sub = app.add_subcommand("plan", "print the brackets and rungs a search would run, before running it");
    sub->add_option("--algo", c->algo, "random | sh | hyperband | bohb | asha")
        ->check(CLI::IsMember({"random", "sh", "hyperband", "bohb", "asha"}))
        ->capture_default_str();
    add_budget_flags(*sub, c->s);
    add_json_output_flags(*sub, c->out, "the brackets and rungs");
    sub->callback([c]() { run_plan(*c); });
  }
  {
    auto c = std::make_shared<SearchCmd>();
    auto* sub = app.add_subcommand("search", "run a search that ranks candidates by an estimator");
    add_study_flags(*sub, c->o);
    sub->add_option("--algo", c->o.algo, "random | sh | hyperband | bohb | asha")
        ->check(CLI::IsMember({"random", "sh", "hyperband", "bohb", "asha"}))
        ->capture_default_str();
    sub->add_option("--estimator", c->o.estimator,
                    fmt::format("the score trials are ranked by: {} (tse-e:E, tse-ema:MU, acc-tse:LAMBDA); every one is recorded",
                                fmt::join(score::estimator_names(), " | ")))
        ->capture_default_str();
    add_budget_flags(*sub, c->o.sched);
    sub->add_option("--table", c->o.table,
                    "restrict candidates to a table's configurations (fhist table), trained as the table did");
    sub->add_option("--objective", c->o.objective, "train | table (read each job from --table instead of training)")
        ->check(CLI::IsMember({"train", "table"}))
        ->capture_default_str();
    sub->add_flag("--keep-checkpoints", c->o.keep_checkpoints, "keep checkpoints of eliminated trials");
    sub->add_option("--journal", c->journal, "SQLite journal of the search")->capture_default_str();
    sub->add_flag("--resume", c->resume, "continue the search in --journal with its stored settings");
    sub->add_option("--workers", c->o.workers,
                    "jobs trained at once (threads; CPU workers split --threads; with a --device list, worker i "
                    "uses device i mod n); allowed with --resume")
        ->check(at_least(1))
        ->capture_default_str()
        ->each([c](const std::string&) { c->workers_given = true; });
    sub->add_option("--executor", c->o.executor,
                    "where jobs run: auto (inline for 1 worker, threads for more), inline, thread, or mpi (under "
                    "mpirun -np N+1: rank 0 searches, ranks 1..N train; --workers is N); allowed with --resume")
        ->check(CLI::IsMember({"auto", "inline", "thread", "mpi"}))
        ->capture_default_str();
    add_runtime_flags(*sub, c->rt);
    add_speed_flags(*sub, c->rt);
    c->app = sub;
    sub->callback([c]() { run_search(*c); });
  }
  {
    auto c = std::make_shared<EvaluateCmd>();
    auto* sub = app.add_subcommand("evaluate",
                                   "retrain a search's best configuration on train + validation, report test accuracy");
    sub->add_option("--journal", c->journal, "the search's journal")->required();
    sub->add_option("--max-budget,--max-epochs,--epochs", c->max_budget,
                    "epochs of the retraining, its lr schedule's length (default: the search's --max-budget)")
        ->check(at_least(1));
    sub->add_option("--trial", c->trial, "evaluate this trial's configuration instead of the incumbent's")
        ->check(at_least(0));
    sub->add_flag("--no-store", c->no_store, "do not record the result in the journal");
    add_json_output_flags(*sub, c->out, "the result (trial, configuration, test accuracy per epoch, seed)");
    add_runtime_flags(*sub, c->rt);
    add_speed_flags(*sub, c->rt);
    sub->callback([c]() { run_evaluate(*c); });
  }
}

}  // namespace fhist::cli
