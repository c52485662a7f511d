// fhist plan | search | evaluate: the search side of the CLI.
#include <fmt/format.h>
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
#include "score/scores.hpp"
#include "study/study.hpp"
#include "train/trainer.hpp"

namespace fhist::cli {
namespace {

void add_budget_flags(CLI::App& sub, sched::SchedulerOptions& s) {
  sub.add_option("--min-budget", s.min_budget, "smallest budget, epochs")->capture_default_str();
  sub.add_option("--max-budget", s.max_budget, "largest budget, epochs (the lr schedule's length)")
      ->capture_default_str();
  sub.add_option("--eta", s.eta, "budget multiplier and keep-1/eta factor")->capture_default_str();
}

// ---- plan
struct PlanCmd {
  std::string algo = "hyperband";
  sched::SchedulerOptions s;
  bool json = false;
};

void run_plan(const PlanCmd& c) {
  std::vector<sched::BracketPlan> plan;
  if (c.algo == "hyperband" || c.algo == "bohb") {
    plan = sched::hyperband_plan(c.s.min_budget, c.s.max_budget, c.s.eta);
  } else {
    const auto hb = sched::hyperband_plan(c.s.min_budget, c.s.max_budget, c.s.eta);
    const auto n = c.s.n_configs > 0 ? c.s.n_configs : hb.front().rungs.front().configs;
    if (c.algo == "random") {
      plan = {{0, {{n, c.s.max_budget}}}};
    } else {
      plan = {sched::successive_halving_plan(n, c.s.min_budget, c.s.max_budget, c.s.eta)};
    }
  }
  if (c.json) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& b : plan) {
      nlohmann::json rungs = nlohmann::json::array();
      for (const auto& r : b.rungs) rungs.push_back({{"configs", r.configs}, {"budget_epochs", r.budget_epochs}});
      j.push_back({{"bracket", b.bracket}, {"rungs", rungs}});
    }
    fmt::print("{}\n", j.dump(2));
    return;
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
  fmt::print("total: {} configurations, {} epochs (promoted trials continue from their checkpoints)\n",
             [&] {
               std::int64_t n = 0;
               for (const auto& b : plan) n += b.rungs.front().configs;
               return n;
             }(),
             sched::total_epochs(plan));
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
  static const std::vector<std::string> allowed = {"journal", "resume", "workers", "threads", "device", "data"};
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
    fmt::print("best: trial {} {} | {} score {} at {} epochs\n", s.best->trial, s.best_config.to_string(), estimator,
               score_text(s.best->score, estimator), s.best->budget_epochs);
  }
  fmt::print("spent: {} trials, {} epochs, {:.0f} s of training\n", s.trials, s.epochs_trained, s.seconds);
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

void run_search(SearchCmd& c) {
  const std::string device = apply_runtime(c.rt, true);
  // A progress bar for the running job on a terminal (a line of running jobs with several workers); one line per
  // finished job always.
  std::unique_ptr<ProgressBar> bar;
  JobsLine jobs;
  // A resumed search runs with its stored settings; only --workers may replace one.
  const std::optional<study::StudyOptions> stored =
      c.resume ? std::optional<study::StudyOptions>(study::journal_options(c.journal)) : std::nullopt;
  if (stored) check_resume_flags(c, *stored);
  const int workers = stored && !c.workers_given ? stored->workers : c.o.workers;
  const std::string estimator = stored ? stored->estimator : c.o.estimator;
  study::Callbacks cb;
  const InterruptGuard interrupt;
  cb.interrupt = [&interrupt] { return interrupt.signal() != 0; };
  cb.on_step = [&](const sched::Job& job, std::int64_t epoch, std::int64_t step, std::int64_t steps, double loss) {
    if (workers > 1) return jobs.step(job, epoch, step, steps, loss);
    if (step == 1) {
      bar = std::make_unique<ProgressBar>(steps, fmt::format("[bracket {} rung {}] trial {} epoch {}/{}", job.bracket,
                                                             job.rung, job.trial, epoch, job.budget_epochs));
    }
    bar->update(step, fmt::format("loss {:.4f}", loss));
  };
  cb.on_result = [&](const study::TrialResult& r, const study::StudySummary& s) {
    if (bar) bar->finish();
    jobs.finished(r.trial);
    fmt::print("[bracket {} rung {}] trial {:>3} {:>3} epochs: score {:>7} (original {:.2f}%) {:6.1f} s | {} epochs "
               "spent{}\n",
               r.bracket, r.rung, r.trial, r.budget_epochs, score_text(r.score, estimator), 100.0 * r.original_val_acc,
               r.seconds,
               s.epochs_trained, r.message.empty() ? "" : " | " + r.message);
    std::fflush(stdout);
  };
  study::StudySummary summary;
  if (c.resume) {
    fmt::print("resuming {}: {} + {} estimator on {}, seed {}, {} worker(s)\n", c.journal, stored->algo,
               stored->estimator, stored->data, stored->seed, workers);
    std::fflush(stdout);
    const bool data_given = c.app->get_option("--data")->count() > 0;
    summary = study::resume_study(c.journal, cb, c.workers_given ? std::optional<int>(c.o.workers) : std::nullopt,
                                  data_given ? std::optional<std::string>(c.o.data) : std::nullopt);
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
  std::int64_t epochs = 0;
  std::int64_t trial = -1;  // -1: the incumbent
  RuntimeOptions rt;
};

void run_evaluate(const EvaluateCmd& c) {
  const std::string device = apply_runtime(c.rt);
  if (c.epochs < 1) throw InputError(fmt::format("--epochs must be >= 1 (got {})", c.epochs));
  const auto o = study::journal_options(c.journal);
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
  t.epochs = c.epochs;
  t.max_epochs = c.epochs;
  t.seed = o.seed;
  t.estimate_each_epoch = false;
  spec.in_channels = tt.train.channels();
  spec.num_classes = tt.train.num_classes;
  train::seed_weight_init(t.seed);
  // Train on train + validation, report on the official test set (the paper's final evaluation). The trainer's
  // "validation" pass is the test set here; nothing is selected by it.
  train::Trainer trainer(nas::make_network(spec), train_val, tt.test, t);
  fmt::print("evaluate: trial {} {} from {}, retrained from scratch on {} images for {} epochs\n", trial,
             cfg.to_string(), c.journal, train_val.size(), c.epochs);
  while (!trainer.finished()) {
    const auto r = trainer.run_epoch();
    fmt::print("epoch {:>3}  loss {:.4f}  test {:.2f}%  {:.1f} s\n", r.epoch, r.train_loss, 100.0 * r.original_val_acc,
               r.seconds);
    std::fflush(stdout);
  }
  fmt::print("test accuracy: {:.2f}%\n", 100.0 * trainer.records().back().original_val_acc);
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
    sub->add_option("--n-configs", c->s.n_configs, "random/sh/asha: configurations (0 = HyperBand's largest bracket)");
    sub->add_flag("--json", c->json, "print JSON");
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
    sub->add_option("--n-configs", c->o.sched.n_configs, "random/sh/asha: configurations (0 = as HyperBand)")
        ->capture_default_str();
    sub->add_option("--iterations", c->o.sched.iterations, "hyperband/bohb: rounds of all brackets")
        ->capture_default_str();
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
    sub->add_option("--epochs", c->epochs, "epochs of the retraining (its lr schedule's length)")->required();
    sub->add_option("--trial", c->trial, "evaluate this trial's configuration instead of the incumbent's");
    add_runtime_flags(*sub, c->rt);
    add_speed_flags(*sub, c->rt);
    sub->callback([c]() { run_evaluate(*c); });
  }
}

}  // namespace fhist::cli
