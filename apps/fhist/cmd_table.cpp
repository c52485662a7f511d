// fhist table: a tabular benchmark built by training. N configurations of a space trained to the full budget, every
// epoch's measurements and every estimator's score recorded, and the final test accuracy at the full budget (the
// target of the ranking study, never used for a decision). The table is a journal: rerunning the same command
// resumes it, so it can be built in chunks (--minutes).
#include <fmt/format.h>

#include <cassert>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.hpp"
#include "core/errors.hpp"
#include "core/fs.hpp"
#include "input/input.hpp"
#include "sched/scheduler.hpp"
#include "score/scores.hpp"
#include "study/study.hpp"
#include "study/table.hpp"
#include "torch_runtime.hpp"

namespace fhist::cli {
namespace {

struct TableCmd {
  study::StudyOptions o;
  std::int64_t configs = 48;
  std::int64_t epochs = 12;
  std::string journal;
  double minutes = 0;  // 0 = no limit
  bool workers_given = false;
  RuntimeOptions rt;
  DataFlags data;
  const CLI::App* app = nullptr;
};

void run_table(TableCmd& c) {
  const ResolvedRuntime rt = resolve_runtime(c.rt, true);
  int threads = rt.threads;
  if (c.minutes < 0) throw InputError(fmt::format("--minutes must be >= 0 (got {})", c.minutes));
  const bool resume = std::filesystem::exists(c.journal);
  std::int64_t configs = c.configs, epochs = c.epochs;
  std::string header;  // printed once the table is ready to run, so that a refused table prints only its error
  if (resume) {
    const auto stored = study::journal_options(c.journal);
    if (!stored.training.test_accuracy || stored.algo != "random" ||
        stored.sched.min_budget != stored.sched.max_budget) {
      throw InputError(fmt::format("{} is a search journal, not a table (fhist table writes its own journal)",
                                   c.journal));
    }
    configs = stored.sched.n_configs;
    epochs = stored.sched.max_budget;
    // Scores depend on the threads a job gets (the order of float sums): the rest of a table trains with the threads
    // it started with, unless --threads says otherwise.
    if (stored.threads > 0 && c.app->get_option("--threads")->count() == 0) threads = stored.threads;
    header = fmt::format(
        "table {}: resuming ({} configurations of space {} x {} epochs, seed {}, {} threads; the "
        "stored settings apply)",
        c.journal, configs, stored.space, epochs, stored.seed, threads);
  } else {
    if (c.configs < 1) throw InputError(fmt::format("--n-configs must be >= 1 (got {})", c.configs));
    if (c.epochs < 1) throw InputError(fmt::format("--max-budget must be >= 1 (got {})", c.epochs));
    resolve_study_flags(*c.app, c.data, c.o);
    prepare_user_data(c.o);
    c.o.algo = "random";
    c.o.sched.min_budget = c.o.sched.max_budget = c.epochs;
    c.o.sched.n_configs = c.configs;
    c.o.training.test_accuracy = true;
    c.o.estimator = "original";  // random search decides nothing by it; every estimator is recorded anyway
    c.o.device = rt.device;
    c.o.threads = threads;
    c.o.validate();
    header = fmt::format(
        "table {}: {} configurations of space {} x {} epochs, {} on {} ({} train / {} val, test set for the "
        "target), seed {}, {} threads, {} worker(s)",
        c.journal, configs, c.o.space, epochs, c.o.training.model, c.o.training.data,
        study::size_text(c.o.training.train_size), study::size_text(c.o.training.val_size), c.o.seed, c.o.threads,
        c.o.workers);
  }
  MinutesLimit limit(c.minutes);
  study::Callbacks cb;
  cb.on_ready = [&header] {
    fmt::print("{}\n", header);
    std::fflush(stdout);
  };
  std::int64_t done_here = 0;
  cb.on_result = [&](const study::TrialResult& r, const study::StudySummary& s) {
    ++done_here;
    const double per = limit.elapsed() / static_cast<double>(done_here);
    const auto finished = s.epochs_trained / std::max<std::int64_t>(epochs, 1);
    fmt::print("trial {:>3} {:>8}: val {:.2f}% {:6.1f} s | {}/{} configurations, ~{:.0f} min left\n", r.trial,
               sched::state_name(r.state),
               100.0 * r.value, r.seconds, finished, configs,
               per * static_cast<double>(std::max<std::int64_t>(configs - finished, 0)));
    std::fflush(stdout);
  };
  cb.should_stop = limit.should_stop();
  const InterruptGuard interrupt;
  cb.interrupt = [&interrupt] { return interrupt.signal() != 0; };
  study::ResumeOptions again;
  if (c.workers_given) again.workers = c.o.workers;
  again.threads = threads;
  // LibTorch is loaded when the loop asks for the objective: not for a table refused for its journal or its space.
  const study::MakeObjective objective = [threads](const study::ObjectiveContext& ctx) {
    return torch_runtime().training_objective(threads)(ctx);
  };
  const auto summary = resume ? study::resume_study(c.journal, objective, cb, again)
                              : study::run_study(c.o, c.journal, objective, cb);
  if (summary.interrupted) {
    fmt::print("\ninterrupted by {}: {} configurations recorded in {}; {} running stopped and will continue from "
               "their last checkpoint. Rerun the same command to go on.\n",
               interrupt.name(), summary.epochs_trained / std::max<std::int64_t>(epochs, 1), c.journal,
               summary.abandoned);
    std::fflush(stdout);
    throw Interrupted{interrupt.signal()};
  }
  if (summary.stopped) {
    fmt::print("stopped after {:.1f} min (--minutes {}); rerun the same command to go on\n", limit.elapsed(),
               c.minutes);
  } else {
    fmt::print("table complete: {} configurations; fhist export --journal {} --table epochs -o table.csv\n",
               summary.trials, c.journal);
  }
}

// ---- replay
struct ReplayCmd {
  ReplayCmd() { s.max_budget = 0; }  // 0: the table's epochs
  std::string table;
  std::vector<std::string> algos = {"hyperband"};
  std::vector<std::string> estimators = {"original", "fh"};
  int seeds = 100;
  std::uint64_t first_seed = 0;
  sched::SchedulerOptions s;
  int rounds = 1;
  int bootstrap = 0;
  std::string output, summary;
  bool json = false;
};

std::vector<std::string> split_list(const std::vector<std::string>& items) {
  std::vector<std::string> out;
  for (const auto& item : items) {
    std::size_t begin = 0;
    while (begin <= item.size()) {
      const auto comma = item.find(',', begin);
      const auto part = item.substr(begin, comma == std::string::npos ? std::string::npos : comma - begin);
      if (!part.empty()) out.push_back(part);
      if (comma == std::string::npos) break;
      begin = comma + 1;
    }
  }
  return out;
}

nlohmann::json finite(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

double mean_or_zero(const std::vector<double>& v) {
  double sum = 0;
  for (const double x : v) sum += x;
  return v.empty() ? 0.0 : sum / static_cast<double>(v.size());
}

// The sample variance; NaN for fewer than two values.
double variance_of(const std::vector<double>& v) {
  if (v.size() < 2) return std::nan("");
  const double mean = mean_or_zero(v);
  double sq = 0;
  for (const double x : v) sq += (x - mean) * (x - mean);
  return sq / static_cast<double>(v.size() - 1);
}

void run_replay(const ReplayCmd& c) {
  if (c.seeds < 1) throw InputError(fmt::format("--seeds must be >= 1 (got {})", c.seeds));
  const auto table = study::BenchmarkTable::load(c.table);
  auto algos = split_list(c.algos);
  auto estimators = split_list(c.estimators);
  if (estimators.size() == 1 && estimators[0] == "all") {
    estimators.clear();
    for (const auto& name : score::estimator_names()) {
      if (table.supports(name)) {
        estimators.push_back(name);
      } else {
        fmt::print(stderr, "replay: {} has no measurements for {}; left out\n", c.table, name);
      }
    }
  }
  for (const auto& name : estimators) {
    if (!table.supports(name)) {
      throw InputError(fmt::format("--estimator {}: {} has no measurements for it (the table was built before "
                                   "fhist recorded them; rebuild it to replay this estimator)",
                                   name, c.table));
    }
  }
  study::StudyOptions base = table.options();
  base.sched = c.s;
  if (base.sched.max_budget == 0) base.sched.max_budget = table.epochs();
  for (const auto& e : estimators) {
    base.estimator = e;
    base.validate();
  }
  std::vector<std::uint64_t> seeds;
  for (int i = 0; i < c.seeds; ++i) seeds.push_back(c.first_seed + static_cast<std::uint64_t>(i));
  study::ReplayOptions replay;
  replay.rounds = c.rounds;
  for (const auto& a : algos) study::matched_options(base, a, c.rounds).validate();
  const auto t0 = std::chrono::steady_clock::now();
  const auto runs = study::replay_table(table, base, algos, estimators, seeds, replay);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  nlohmann::json rows = nlohmann::json::array();
  const std::int64_t round = study::hyperband_round_epochs(base.sched);
  nlohmann::json marks = nlohmann::json::array();
  for (int k = 1; k <= c.rounds; ++k) marks.push_back(k * round);
  for (const auto& r : runs) {
    nlohmann::json anytime = nlohmann::json::array();
    for (const double a : r.anytime) anytime.push_back(finite(a));
    rows.push_back({{"algo", r.algo}, {"estimator", r.estimator}, {"seed", r.seed}, {"trial", r.trial},
                    {"table_trial", r.table_trial}, {"budget_epochs", r.budget_epochs},
                    {"test_acc", finite(r.test_acc)}, {"regret", finite(r.regret)},
                    {"drawn_regret", finite(r.drawn_regret)}, {"anytime_regret", anytime},
                    {"anytime_epochs", marks},
                    {"epochs", r.epochs}, {"seconds", r.seconds}});
  }
  if (!c.output.empty()) {
    write_file_atomically(c.output, [&](std::ostream& out) { out << rows.dump(1) << "\n"; });
  }
  std::vector<study::BootstrapCell> cells;
  if (c.bootstrap > 0) {
    fmt::print(stderr, "replay: bootstrap, {} resamples of the {} rows x {} searches...\n", c.bootstrap,
               table.rows().size(), runs.size());
    cells = study::bootstrap_replay(table, base, algos, estimators, seeds, replay, c.bootstrap, c.first_seed, &runs);
  }
  if (!c.summary.empty()) {
    nlohmann::json out = {{"table", c.table}, {"rows", table.rows().size()}, {"epochs", table.epochs()},
                          {"best_test", table.best_test()}, {"round_epochs", round}, {"rounds", c.rounds},
                          {"seeds", c.seeds}, {"first_seed", c.first_seed}, {"bootstrap", c.bootstrap},
                          {"top_k", base.sched.top_k}, {"cells", nlohmann::json::array()}};
    // Every cell gets its mean over the seeds on this table and that mean's standard error over the seeds (the
    // search's own randomness); low/high only with --bootstrap (the table's noise).
    for (std::size_t i = 0, c_i = 0; i < runs.size(); i += seeds.size(), ++c_i) {
      const study::BootstrapCell* boot = c_i < cells.size() ? &cells[c_i] : nullptr;
      assert(boot == nullptr || (boot->algo == runs[i].algo && boot->estimator == runs[i].estimator));
      auto stats = [&](auto value) {
        std::vector<double> v;
        for (std::size_t k = i; k < i + seeds.size(); ++k) {
          if (std::isfinite(value(runs[k]))) v.push_back(value(runs[k]));
        }
        return std::make_pair(v.empty() ? std::nan("") : mean_or_zero(v),
                              std::sqrt(variance_of(v) / static_cast<double>(v.size())));
      };
      nlohmann::json any = nlohmann::json::array();
      for (std::size_t k = 0; k < static_cast<std::size_t>(c.rounds); ++k) {
        const auto [mean, se] = stats([k](const study::ReplayRun& r) { return r.anytime[k]; });
        nlohmann::json mark = {
            {"epochs", static_cast<std::int64_t>(k + 1) * round}, {"mean", finite(mean)}, {"se", finite(se)}};
        if (boot != nullptr) {
          mark["low"] = finite(boot->anytime_low[k]);
          mark["high"] = finite(boot->anytime_high[k]);
        }
        any.push_back(mark);
      }
      const auto [mean, se] = stats([](const study::ReplayRun& r) { return r.regret; });
      nlohmann::json cell = {{"algo", runs[i].algo},
                             {"estimator", runs[i].estimator},
                             {"mean", finite(mean)},
                             {"se", finite(se)},
                             {"anytime", any}};
      if (boot != nullptr) {
        cell["low"] = finite(boot->low);
        cell["high"] = finite(boot->high);
      }
      out["cells"].push_back(cell);
    }
    write_file_atomically(c.summary, [&](std::ostream& o) { o << out.dump(1) << "\n"; });
  }
  if (c.json) {
    fmt::print("{}\n", rows.dump(1));
    return;
  }
  fmt::print("replay over {} ({} configurations x {} epochs; best test accuracy {:.2f}%): {} searches in {:.1f} s; "
             "random and top-k matched to {} HyperBand round(s) of {} epochs\n",
             c.table, table.rows().size(), table.epochs(), 100.0 * table.best_test(), runs.size(), secs, c.rounds,
             round);
  fmt::print("{:<10} {:<10} {:>16} {:>12} {:>12} {:>10} {:>8}", "algo", "estimator", "test acc (mean+-sd)",
             "regret (pt)", "of drawn", "best found", "epochs");
  for (int k = 1; k <= c.rounds; k = k < 3 ? 3 : k * 3) fmt::print(" {:>9}", fmt::format("@{}ep", k * round));
  fmt::print("\n");
  for (std::size_t i = 0; i < runs.size(); i += seeds.size()) {
    std::vector<double> test, regret, drawn, hits, epochs;
    for (std::size_t k = i; k < i + seeds.size(); ++k) {
      if (!std::isfinite(runs[k].test_acc)) continue;
      test.push_back(runs[k].test_acc);
      regret.push_back(runs[k].regret);
      drawn.push_back(runs[k].drawn_regret);
      hits.push_back(runs[k].regret <= 0 ? 1.0 : 0.0);
      epochs.push_back(static_cast<double>(runs[k].epochs));
    }
    const double mean = mean_or_zero(test);
    const double sd = test.size() > 1 ? std::sqrt(variance_of(test)) : 0;
    fmt::print("{:<10} {:<10} {:>9.2f} +- {:<4.2f} {:>12.2f} {:>12.2f} {:>9.0f}% {:>8.0f}", runs[i].algo,
               runs[i].estimator, 100 * mean, 100 * sd, 100 * mean_or_zero(regret), 100 * mean_or_zero(drawn),
               100 * mean_or_zero(hits), mean_or_zero(epochs));
    for (int k = 1; k <= c.rounds; k = k < 3 ? 3 : k * 3) {
      std::vector<double> at;
      for (std::size_t s = i; s < i + seeds.size(); ++s) {
        const double a = runs[s].anytime[static_cast<std::size_t>(k - 1)];
        if (std::isfinite(a)) at.push_back(a);
      }
      fmt::print(" {:>9.2f}", 100 * mean_or_zero(at));
    }
    fmt::print("\n");
  }
  if (!cells.empty()) {
    fmt::print("mean regret (pt) with 95% intervals over {} bootstrap resamples of the table's rows x the {} seeds:\n",
               c.bootstrap, c.seeds);
    for (const auto& cell : cells) {
      fmt::print("{:<10} {:<10} {:>6.2f} [{:.2f}, {:.2f}]", cell.algo, cell.estimator, 100 * cell.mean,
                 100 * cell.low, 100 * cell.high);
      for (int k = 1; k <= c.rounds; k = k < 3 ? 3 : k * 3) {
        const auto m = static_cast<std::size_t>(k - 1);
        fmt::print("   @{}ep {:.2f} [{:.2f}, {:.2f}]", k * round, 100 * cell.anytime_mean[m],
                   100 * cell.anytime_low[m], 100 * cell.anytime_high[m]);
      }
      fmt::print("\n");
    }
  }
}

// ---- rank
struct RankCmd {
  std::string table;
  std::vector<std::string> estimators = {"all"};
  std::string output;
  bool json = false;
};

void run_rank(const RankCmd& c) {
  const auto table = study::BenchmarkTable::load(c.table);
  auto estimators = split_list(c.estimators);
  if (estimators.size() == 1 && estimators[0] == "all") estimators = score::estimator_names();
  const auto rows = study::rank_table(table, estimators);
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : rows) {
    out.push_back({{"estimator", r.estimator}, {"is_accuracy", r.is_accuracy}, {"epoch", r.epoch},
                   {"configs", r.configs}, {"spearman", finite(r.spearman)}, {"kendall", finite(r.kendall)},
                   {"top1_regret", finite(r.top1_regret)}, {"mean_abs_error", finite(r.mean_abs_error)},
                   {"vs_current", finite(r.vs_current)}});
  }
  if (!c.output.empty()) write_file_atomically(c.output, [&](std::ostream& o) { o << out.dump(1) << "\n"; });
  if (c.json) {
    fmt::print("{}\n", out.dump(1));
    return;
  }
  fmt::print("{}: {} configurations x {} epochs; against the final test accuracy (best {:.2f}%)\n", c.table,
             rows.empty() ? 0 : rows.front().configs, table.epochs(), 100.0 * table.best_test());
  auto cell = [](double v, double scale, int prec) {
    return std::isfinite(v) ? fmt::format("{:.{}f}", scale * v, prec) : std::string("-");
  };
  for (const char* metric : {"Kendall tau-b", "Spearman", "top-1 regret (pt)", "mean |estimate - test| (pt)"}) {
    fmt::print("\n{} by epoch\n{:<10}", metric, "estimator");
    for (std::int64_t e = 1; e <= table.epochs(); ++e) fmt::print(" {:>6}", e);
    // The mean leaves out the last epoch, where no estimate is needed: its header says so.
    fmt::print(" {:>9}\n", fmt::format("mean 1..{}", std::max<std::int64_t>(table.epochs() - 1, 1)));
    for (std::size_t i = 0; i < rows.size(); i += static_cast<std::size_t>(table.epochs())) {
      const std::string m = metric;
      if (m[0] == 'm' && !rows[i].is_accuracy) continue;
      fmt::print("{:<10}", rows[i].estimator);
      double sum = 0, n = 0;
      for (std::size_t k = i; k < i + static_cast<std::size_t>(table.epochs()); ++k) {
        const auto& r = rows[k];
        const double v = m[0] == 'K' ? r.kendall : m[0] == 'S' ? r.spearman : m[0] == 't' ? r.top1_regret
                                                                                           : r.mean_abs_error;
        const double scale = (m[0] == 't' || m[0] == 'm') ? 100.0 : 1.0;
        fmt::print(" {:>6}", cell(v, scale, m[0] == 'K' || m[0] == 'S' ? 3 : 2));
        // The mean leaves out the last epoch, where no estimate is needed.
        if (std::isfinite(v) && r.epoch < table.epochs()) {
          sum += scale * v;
          n += 1;
        }
      }
      fmt::print(" {:>9}\n", n > 0 ? fmt::format("{:.{}f}", sum / n, m[0] == 'K' || m[0] == 'S' ? 3 : 2) : "-");
    }
  }
}

}  // namespace

void register_table(CLI::App& app) {
  {
    auto c = std::make_shared<RankCmd>();
    auto* sub = app.add_subcommand("rank", "how well each estimator ranks a table's configurations, epoch by epoch "
                                           "(Spearman, Kendall tau-b, top-1 regret, error against the test accuracy)");
    sub->add_option("--table", c->table, "a table built by fhist table")->required();
    sub->add_option("--estimator", c->estimators, "estimators, comma-separated, or all")
        ->delimiter(',')
        ->capture_default_str();
    sub->add_option("-o,--output", c->output, "write every row as JSON to this file")->check(output_path());
    sub->add_flag("--json", c->json, "print JSON instead of the tables");
    sub->callback([c]() { run_rank(*c); });
  }
  {
    auto c = std::make_shared<ReplayCmd>();
    auto* sub = app.add_subcommand(
        "replay", "run whole searches against a table instead of training (real schedulers, samplers and journal; "
                  "candidates are the table's configurations); many seeds in seconds");
    sub->add_option("--table", c->table, "a table built by fhist table")->required();
    sub->add_option("--algo", c->algos,
                    "algorithms, comma-separated: random, sh, hyperband, bohb, dehb, asha, top-k, top-k-hb, top-k-auto "
                    "(random and the top-k family are compute-matched to --rounds HyperBand rounds)")
        ->delimiter(',')
        ->capture_default_str();
    sub->add_option("--estimator", c->estimators, "estimators, comma-separated, or all")
        ->delimiter(',')
        ->capture_default_str();
    sub->add_option("--seeds", c->seeds, "searches per (algo, estimator), seeds first-seed, first-seed + 1, ...")
        ->capture_default_str();
    sub->add_option("--first-seed", c->first_seed, "the first seed")->capture_default_str();
    sub->add_option("--min-budget", c->s.min_budget, "smallest budget, epochs")->capture_default_str();
    sub->add_option("--max-budget", c->s.max_budget, "largest budget (0 = the table's epochs, the only choice)")
        ->capture_default_str();
    sub->add_option("--eta", c->s.eta, "budget multiplier and keep-1/eta factor")->capture_default_str();
    sub->add_option("--n-configs", c->s.n_configs, "random/sh/asha: configurations (0 = as HyperBand)")
        ->capture_default_str();
    sub->add_option("--rounds", c->rounds,
                    "HyperBand rounds each search may spend: hyperband/bohb/dehb iterations; random and top-k matched to "
                    "them; anytime regret at every round's epochs")
        ->check(at_least(1))
        ->capture_default_str();
    sub->add_option("--top-k", c->s.top_k, "top-k: configurations trained on to the full budget")
        ->check(at_least(1))
        ->capture_default_str();
    sub->add_option("--bootstrap", c->bootstrap,
                    "resamples of the table's rows for 95% intervals that include the table's noise (0 = none)")
        ->check(at_least(0))
        ->capture_default_str();
    sub->add_option("-o,--output", c->output, "write every run as JSON to this file")->check(output_path());
    sub->add_option("--summary", c->summary, "write each (algo, estimator)'s mean regrets and intervals as JSON")
        ->check(output_path());
    sub->add_flag("--json", c->json, "print every run as JSON instead of the summary");
    sub->callback([c]() { run_replay(*c); });
  }

  {
  auto c = std::make_shared<TableCmd>();
  auto* sub = app.add_subcommand(
      "table", "build a tabular benchmark: N configurations trained to the full budget, every estimator per epoch, "
               "test accuracy at the end; rerun to resume");
  sub->add_option("--journal", c->journal, "the table (an fhist journal); resumed if it exists")->required();
  // --n-configs as search and replay name the number of configurations; --configs, its first name, stays accepted.
  sub->add_option("--n-configs,--configs", c->configs, "configurations to train")->capture_default_str();
  sub->add_option("--max-budget,--max-epochs,--epochs", c->epochs, "full budget, epochs (the lr schedule's length)")
      ->capture_default_str();
  sub->add_option("--minutes", c->minutes, "start no new configuration after this many minutes (0 = no limit)")
      ->capture_default_str();
  add_study_flags(*sub, c->o, c->data);
  sub->add_option("--workers", c->o.workers, "configurations trained at once")
      ->check(at_least(1))
      ->capture_default_str()
      ->each([c](const std::string&) { c->workers_given = true; });
  add_runtime_flags(*sub, c->rt);
  c->app = sub;
  sub->callback([c]() { run_table(*c); });
  }
}

}  // namespace fhist::cli
