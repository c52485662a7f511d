// fhist plan | search: the search side of the CLI. No Torch: a search loads LibTorch when it trains (torch_runtime).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <utility>
#include <vector>
#include <optional>
#include <nlohmann/json.hpp>

#include "command/command.hpp"
#include "commands.hpp"
#include "core/errors.hpp"
#include "core/text.hpp"
#include "exec/mpi.hpp"
#include "input/input.hpp"
#include "report/console.hpp"
#include "sched/scheduler.hpp"
#include "score/scores.hpp"
#include "study/study.hpp"

namespace fhist::cli {
namespace {

// plan and search take the same budget flags, validated the same way (sched::search_plan).
void add_budget_flags(CLI::App& sub, sched::SchedulerOptions& s) {
  sub.add_option("--min-budget", s.min_budget, "smallest budget, epochs")->check(at_least(1))->capture_default_str();
  sub.add_option("--max-budget,--max-epochs", s.max_budget, "largest budget, epochs (the lr schedule's length)")
      ->check(at_least(1))
      ->capture_default_str();
  sub.add_option("--eta", s.eta, "budget multiplier and keep-1/eta factor")->check(at_least(2))->capture_default_str();
  sub.add_option("--n-configs", s.n_configs,
                 "random/sh/asha: configurations (0 = as HyperBand's largest bracket); top-k: configurations at "
                 "--min-budget (0 = as many as one HyperBand round's epochs allow)")
      ->check(at_least(0))
      ->capture_default_str();
  sub.add_option("--iterations", s.iterations, "hyperband/bohb/dehb/top-k/top-k-hb/top-k-auto: rounds of the whole plan")
      ->check(at_least(1))
      ->capture_default_str();
  sub.add_option("--top-k", s.top_k, "top-k: configurations trained on to --max-budget after --min-budget")
      ->check(at_least(1))
      ->capture_default_str();
}

// ---- plan
struct PlanCmd {
  std::string algo = study::StudyOptions{}.algo;  // the search's default
  sched::SchedulerOptions s;
  JsonOutput out;
};

void run_plan(const PlanCmd& c) {
  const auto plan = sched::search_plan(c.algo, c.s);
  if (c.out.any()) {
    // top-k-auto's plan depends on its gate: both branches, each bracket marked with the branch it belongs to.
    const bool gated = c.algo == "top-k-auto";
    nlohmann::json j = nlohmann::json::array();
    auto add = [&](const std::vector<sched::BracketPlan>& brackets, const char* branch) {
      for (const auto& b : brackets) {
        nlohmann::json rungs = nlohmann::json::array();
        for (const auto& r : b.rungs) rungs.push_back({{"configs", r.configs}, {"budget_epochs", r.budget_epochs}});
        j.push_back({{"bracket", b.bracket}, {"rungs", rungs}});
        if (gated) j.back()["branch"] = branch;
      }
    };
    add(plan, "top-k");
    if (gated) add(sched::gate_fallback_plan(c.s), "gate-disagrees");
    c.out.write(j);
    if (c.out.json) return;
  }
  const std::string note =
      c.algo == "asha" ? " (ASHA promotes asynchronously; this is the synchronous equivalent)"
      : c.algo == "top-k-auto"
          ? fmt::format(
                " (the top-K branch: if the first {0} trials' ranking score and validation accuracy "
                "disagree, each round trains {0} trials and its best {1} to {2} epochs instead)",
                sched::gate_sample(c.s), sched::gate_fallback_top_k(c.s, sched::gate_sample(c.s)), c.s.max_budget)
          : "";
  fmt::print("{} plan: budgets {}..{} epochs, eta {}{}\n", c.algo, c.s.min_budget, c.s.max_budget, c.s.eta, note);
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
  if (c.algo == "top-k-auto") {
    const auto other = sched::gate_fallback_plan(c.s);
    fmt::print("where the gate disagrees: {} configurations, {} jobs, {} epochs\n", sched::total_configs(other),
               sched::total_jobs(other), sched::total_epochs(other));
  }
}

// ---- search
struct SearchCmd {
  study::StudyOptions o;
  command::CommandOptions command;
  std::string journal = "runs/search.db";
  bool resume = false;
  bool discard_bad_checkpoints = false;
  bool workers_given = false;
  double minutes = 0;  // 0 = no limit
  std::int64_t max_trials = 0;  // 0 = no limit
  JsonOutput out;
  RuntimeOptions rt;
  DataFlags data;
  const CLI::App* app = nullptr;  // to tell the flags given on this command line (--resume refuses most)
};

// The options given on this command line, by long name, except those named in `except`.
std::vector<std::pair<std::string, const CLI::Option*>> given_options(const CLI::App& app,
                                                                      const std::vector<std::string>& except) {
  std::vector<std::pair<std::string, const CLI::Option*>> out;
  for (const auto* opt : app.get_options()) {
    if (opt->count() == 0 || opt->get_lnames().empty()) continue;
    const auto& name = opt->get_lnames().front();
    if (std::find(except.begin(), except.end(), name) == except.end()) out.emplace_back(name, opt);
  }
  return out;
}

// Whether a value given on the command line is the stored one: numbers compare as numbers ("0.10" is 0.1), flags
// as true, everything else as text.
bool same_value(const std::string& given, const nlohmann::json& stored) {
  if (stored.is_boolean()) return stored.get<bool>() == (given == "1" || given == "true");
  if (stored.is_number()) {
    try {
      std::size_t used = 0;
      const double v = std::stod(given, &used);
      return used == given.size() && v == stored.get<double>();
    } catch (const std::exception&) {
      return false;
    }
  }
  return stored.is_string() && stored.get<std::string>() == given;
}

// A resumed search runs with its stored settings. A setting given with --resume that differs from the stored one
// would be ignored without a word, so it is refused, naming each flag and the stored value; the original command
// line repeated with --resume is accepted. --workers, --threads and --device only change how the search runs;
// --data may point to the same dataset in another place (the data moved).
void check_resume_flags(const SearchCmd& c, const study::StudyOptions& stored) {
  static const std::vector<std::string> allowed = {"journal", "resume", "workers", "threads", "device", "data",
                                                   "executor", "minutes", "max-trials", "json",
                                                   "output", "discard-bad-checkpoints"};
  static const std::vector<std::string> data_flags = {"target",          "skip-rows", "no-header", "image-size",
                                                      "image-channels",  "skip-bad-images", "holdout", "cache-dir"};
  // The flags name the search's settings and the trainer's alike: one flat lookup.
  auto settings = stored.to_json();
  if (settings.contains("training")) settings.update(settings.at("training"));
  auto stored_data = stored.training.data_options;
  if (stored_data.is_object()) stored_data.erase("classes");
  std::vector<std::string> ignored;
  for (const auto& [name, opt] : given_options(*c.app, allowed)) {
    const auto given = opt->as<std::string>();
    auto key = name;
    std::replace(key.begin(), key.end(), '-', '_');
    std::optional<nlohmann::json> value;
    if (std::find(data_flags.begin(), data_flags.end(), name) != data_flags.end()) {
      // The data flags together make the stored data options.
      if (c.data.options().to_json() == stored_data) continue;
    } else if (name == "precision") {
      value = stored.training.bf16 ? "bf16" : "fp32";
    } else if (name == "command" || name == "job-timeout") {
      if (stored.objective_options.is_object() && stored.objective_options.contains(key)) {
        value = stored.objective_options.at(key);
      }
    } else if (settings.contains(key)) {
      value = settings.at(key);
    }
    if (value && same_value(given, *value)) continue;
    ignored.push_back(value ? fmt::format("--{} {} (stored: {})", name, given, value->dump())
                            : fmt::format("--{} {}", name, given));
  }
  if (!ignored.empty()) {
    throw InputError(fmt::format("--resume continues {} with its stored settings, so these would be ignored: {}. Drop "
                                 "them, or start a new search with another --journal (--workers, --threads, "
                                 "--device and --data may change on resume)",
                                 c.journal, fmt::join(ignored, ", ")));
  }
}

// --objective command: the script trains, so fhist's training flags would be ignored without a word: refused.
void check_command_flags(const SearchCmd& c) {
  static const std::vector<std::string> apply = {"space", "seed", "algo", "estimator", "min-budget", "max-budget",
                                                 "eta", "n-configs", "iterations", "top-k", "objective", "command",
                                                 "metric", "direction",
                                                 "job-timeout", "keep-checkpoints", "journal", "resume", "workers",
                                                 "executor", "device", "threads", "minutes", "max-trials", "json",
                                                 "output"};
  std::vector<std::string> ignored;
  for (const auto& given : given_options(*c.app, apply)) ignored.push_back("--" + given.first);
  if (!ignored.empty()) {
    throw InputError(fmt::format("{} {} not apply to --objective command: your script reads its own data and trains "
                                 "its own network (it gets the configuration in FHIST_CONFIG); drop {}",
                                 fmt::join(ignored, ", "), ignored.size() == 1 ? "does" : "do",
                                 ignored.size() == 1 ? "it" : "them"));
  }
}

void run_search(SearchCmd& c) {
  if (!c.resume && c.app->get_option("--command")->count() > 0) {
    if (c.app->get_option("--objective")->count() == 0) c.o.objective = "command";
    if (c.o.objective != "command") {
      throw InputError(fmt::format("--command runs your script as the objective: drop --objective {} (or pass "
                                   "--objective command)",
                                   c.o.objective));
    }
  }
  if (!c.resume && c.o.objective == "command") {
    check_command_flags(c);
    c.command.validate();
    c.o.objective_options = c.command.to_json();
  } else if (!c.resume) {
    if (c.app->get_option("--job-timeout")->count() > 0) {
      throw InputError("--job-timeout applies to --objective command (a script per job) only");
    }
    resolve_study_flags(*c.app, c.data, c.o);
  }
  const ResolvedRuntime rt = resolve_runtime(c.rt, true);
  const std::string& device = rt.device;
  // Under mpirun every rank runs this command: rank 0 the search, ranks 1..N its jobs (they print nothing).
  std::optional<exec::MpiSession> mpi;
  if (c.o.executor == "mpi") {
    mpi.emplace();
    if (mpi->rank() > 0) {
      study::Callbacks cb;
      const InterruptGuard interrupt;
      cb.interrupt = [&interrupt] { return interrupt.signal() != 0; };
      study::serve_mpi_worker(search_objective(rt.threads), cb);
      return;
    }
    c.o.workers = mpi->workers();
    c.workers_given = true;
  }
  // A resumed search runs with its stored settings; only how it runs (--workers, --threads, --device, --data) may
  // change.
  const std::optional<study::StudyOptions> stored =
      c.resume ? std::optional<study::StudyOptions>(study::journal_options(c.journal)) : std::nullopt;
  if (stored) check_resume_flags(c, *stored);
  // Scores depend on the threads a job gets (the order of float sums): a resume runs with the stored threads, so it
  // finishes as the uninterrupted search would have, unless --threads says otherwise.
  const int threads =
      stored && stored->threads > 0 && c.app->get_option("--threads")->count() == 0 ? stored->threads : rt.threads;
  if (!stored) {
    prepare_user_data(c.o);
    c.o.device = device;
    c.o.training.bf16 = c.rt.precision == "bf16";
    c.o.training.channels_last = c.rt.channels_last;
    c.o.threads = threads;
    c.o.resolve_defaults();
    c.o.validate();
  }
  const int workers = stored && !c.workers_given ? stored->workers : c.o.workers;
  // With --json, stdout carries the JSON only; the progress lines go to stderr.
  std::FILE* human = c.out.json ? stderr : stdout;
  report::ConsoleReporter console(stored ? *stored : c.o, workers,
                                  stored ? study::summarize_journal(c.journal).epochs_trained : 0, human);
  study::Callbacks cb = console.callbacks();
  const InterruptGuard interrupt;
  cb.interrupt = [&interrupt] { return interrupt.signal() != 0; };
  // --minutes: those running finish, and --resume goes on from there.
  MinutesLimit limit(c.minutes);
  cb.should_stop = limit.should_stop();
  cb.max_trials = c.max_trials;
  // The banner once everything is checked (data, space, journal): an error never follows a "search:" line.
  cb.on_ready = [&] { console.started(c.journal, c.resume, threads, device); };
  study::StudySummary summary;
  if (stored) {
    study::ResumeOptions resume;
    if (c.workers_given) resume.workers = c.o.workers;
    if (c.app->get_option("--data")->count() > 0) resume.data = c.o.training.data;
    if (c.app->get_option("--device")->count() > 0) resume.device = device;
    resume.threads = threads;
    resume.executor = c.o.executor;
    resume.discard_bad_checkpoints = c.discard_bad_checkpoints;
    summary = study::resume_study(c.journal, search_objective(threads), cb, resume);
  } else {
    summary = study::run_study(c.o, c.journal, search_objective(threads), cb);
  }
  if (summary.interrupted) {
    console.interrupted(summary, interrupt.name());
    throw Interrupted{interrupt.signal()};
  }
  console.finished(summary);
  if (summary.trial_limit) {
    fmt::print(human, "stopped at --max-trials {}: the journal holds {} trials, and the next job would start another."
               "\nresume with: fhist search --resume --journal {} (with a larger --max-trials, or none to finish the "
               "plan)\n", c.max_trials, summary.trials, c.journal);
  } else if (summary.stopped) {
    fmt::print(human, "stopped after {:.1f} min (--minutes {}): no job started after that.\nresume with: fhist search "
               "--resume --journal {}\n", limit.elapsed(), c.minutes, c.journal);
  }
  std::fflush(human);
  c.out.write(journal_report_json(c.journal, 10));
}

}  // namespace

void register_search(CLI::App& app) {
  {
    auto c = std::make_shared<PlanCmd>();
    auto* sub = app.add_subcommand("plan", "print the brackets and rungs a search would run, before running it");
    sub->add_option("--algo", c->algo,
                    "random | sh | hyperband | bohb | dehb | asha | top-k (the one-epoch top-K baseline) | top-k-hb "
                    "(its round, then HyperBand's) | top-k-auto (top-K where a first sample's ranking score agrees "
                    "with its validation accuracy, else HyperBand)")
        ->check(CLI::IsMember(sched::algorithm_names()))
        ->capture_default_str();
    add_budget_flags(*sub, c->s);
    add_json_output_flags(*sub, c->out, "the brackets and rungs");
    sub->callback([c]() { run_plan(*c); });
  }
  {
    auto c = std::make_shared<SearchCmd>();
    auto* sub = app.add_subcommand("search", "run a search that ranks candidates by an estimator");
    add_study_flags(*sub, c->o, c->data);
    sub->add_option("--algo", c->o.algo,
                    "random | sh | hyperband | bohb | dehb | asha | top-k (the one-epoch top-K baseline) | top-k-hb "
                    "(its round, then HyperBand's) | top-k-auto (top-K where a first sample's ranking score agrees "
                    "with its validation accuracy, else HyperBand)")
        ->check(CLI::IsMember(sched::algorithm_names()))
        ->capture_default_str();
    sub->add_option(
        "--estimator", c->o.estimator,
        fmt::format("the score trials are ranked by: {} | auto (each rung by the score that best predicted the next "
                    "rung in this search so far) | A+B (ranked by A, each promotion's places taken in turn from A's "
                    "ranking and B's, the first pick to the one whose picks did best: tse-ema+fh) (tse-e:E, "
                    "tse-ema:MU, acc-tse:LAMBDA); every one is recorded. Default: tse-ema+fh for top-k-auto "
                    "and top-k on fhist's trainer, tse-ema otherwise (your --command, another algorithm or metric)",
                    fmt::join(score::estimator_names(), " | ")));
    sub->add_option("--metric", c->o.metric,
                    "what the search optimizes, the incumbent being the best at --max-budget: val_acc or val_loss "
                    "(fhist's trainer), or with --command any number your script prints per epoch (val_mse)")
        ->capture_default_str();
    sub->add_option("--direction", c->o.direction,
                    "maximize | minimize: whether a larger --metric is better (required with a --metric other "
                    "than val_acc)")
        ->check(CLI::IsMember({"maximize", "minimize"}));
    add_budget_flags(*sub, c->o.sched);
    sub->add_option("--table", c->o.table,
                    "restrict candidates to a table's configurations (fhist table), trained as the table did");
    sub->add_option("--objective", c->o.objective,
                    "train | table (read each job from --table instead of training) | command (run --command per job)")
        ->check(CLI::IsMember({"train", "table", "command"}))
        ->capture_default_str();
    sub->add_option("--command", c->command.command,
                    "your training script as the objective, run with /bin/sh -c per job: the job in FHIST_* "
                    "environment variables, one JSON object per epoch on stdout (README: Your script as the "
                    "objective); implies --objective command");
    sub->add_option("--job-timeout", c->command.job_timeout,
                    "--objective command: seconds a job may run before it is stopped and recorded failed (0 = none)")
        ->check(CLI::NonNegativeNumber);
    sub->add_flag("--keep-checkpoints", c->o.keep_checkpoints, "keep checkpoints of eliminated trials");
    sub->add_option("--journal", c->journal, "SQLite journal of the search")->capture_default_str();
    sub->add_flag("--resume", c->resume, "continue the search in --journal with its stored settings");
    sub->add_flag("--discard-bad-checkpoints", c->discard_bad_checkpoints,
                  "with --resume: a trial whose checkpoint cannot be read is retrained from epoch 1 (the file is kept "
                  "in <journal>.trials/discarded/, the trial's message says so) instead of stopping the search")
        ->needs("--resume");
    sub->add_option("--minutes", c->minutes,
                    "start no job after this many minutes (running jobs finish; --resume goes on); 0 = no limit")
        ->check(CLI::NonNegativeNumber);
    sub->add_option("--max-trials", c->max_trials,
                    "start no new trial once the journal holds this many (the promotions of those go on; --resume "
                    "goes on, with a larger --max-trials or none); 0 = no limit, the plan's own count "
                    "(--n-configs, --iterations)")
        ->check(CLI::NonNegativeNumber);
    add_json_output_flags(*sub, c->out, "the result (what fhist report --json prints)");
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
}

}  // namespace fhist::cli
