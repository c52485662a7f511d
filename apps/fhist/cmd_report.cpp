// fhist report | export: reading a journal, also while its search runs.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "commands.hpp"
#include "core/errors.hpp"
#include "core/fs.hpp"
#include "core/text.hpp"
#include "report/console.hpp"
#include "report/html.hpp"
#include "report/tables.hpp"
#include "score/scores.hpp"
#include "store/trial_store.hpp"
#include "study/study.hpp"

namespace fhist::cli {
namespace {

struct ReportCmd {
  std::string journal;
  int top = 10;
  JsonOutput out;
  std::string html;                  // --html FILE: the page
  std::vector<std::string> replays;  // --replay FILE: replay runs charted on the page
  double watch = 0;                  // --watch S: rewrite the page every S seconds while the search runs
};

std::string pct(const nlohmann::json& v) {
  return v.is_number() ? fmt::format("{:.2f}%", 100.0 * v.get<double>()) : std::string("-");
}

}  // namespace

// The report as data: the same facts the text shows, for scripts (the best configuration above all).
nlohmann::json journal_report_json(const std::string& journal, int top_n, const nlohmann::json& page_facts) {
  const auto o = study::journal_options(journal);
  const auto s = study::summarize_journal(journal);
  const auto results = report::journal_table(journal, "results");
  const auto trials = report::journal_table(journal, "trials");
  std::int64_t unreported = 0;
  for (const auto& row : trials.rows) unreported += row[2] == "running" ? 1 : 0;
  const bool in_use = store::journal_in_use(journal);
  nlohmann::json j = {{"journal", journal},
                      {"options", o.to_json()},
                      {"trials", s.trials},
                      {"jobs_reported", results.rows.size()},
                      {"jobs_unreported", unreported},
                      {"running", in_use},
                      {"epochs_trained", s.epochs_trained},
                      {"seconds", s.seconds},
                      {"best", nullptr},
                      {"top", nlohmann::json::array()},
                      {"evaluations", study::journal_evaluations(journal)},
                      {"plan", nlohmann::json::array()}};
  // What the scheduler decided (top-k-auto's plan, the hedge, auto's rungs), replayed from the journal as the search
  // printed it; where this fhist cannot replay the journal, the rest of the report stands without it.
  if (page_facts.contains("plan")) {
    j["plan"] = page_facts["plan"];
    if (page_facts.contains("plan_error")) j["plan_error"] = page_facts["plan_error"];
  } else {
    try {
      j["plan"] = report::journal_plan_lines(o, journal);
    } catch (const std::exception& e) {
      j["plan_error"] = e.what();
    }
  }
  if (!s.best) return j;
  j["best"] = {{"trial", s.best->trial},
               {"config", s.best_config.to_json()},
               {"score", study::json_number(s.best->score)},
               {"original_val_acc", study::json_number(o.metric == "val_acc" ? s.best->value : std::nan(""))},
               {"metric_value", study::json_number(study::metric_value(o, s.best->value))},
               {"budget_epochs", s.best->budget_epochs},
               {"seed", o.seed}};
  // The ranking at the largest budget reached, as the incumbent is chosen (as the HTML report lists them).
  const auto col = [&](const std::string& name) {
    return static_cast<std::size_t>(std::find(trials.columns.begin(), trials.columns.end(), name) -
                                    trials.columns.begin());
  };
  // The study's metric as reported (original_val_acc unless a user's loop named its own), oriented to rank.
  const auto budget = col("budget_epochs"), score = col("score"), orig = col("original_val_acc"),
             metric = col(o.metric == "val_acc" ? "original_val_acc" : "metric_value");
  const auto number = [](const nlohmann::json& v) { return v.is_number() ? v.get<double>() : std::nan(""); };
  std::vector<report::LastResult> last;
  std::map<std::int64_t, const std::vector<nlohmann::json>*> row_of;
  for (const auto& row : trials.rows) {
    if (!row[budget].is_number()) continue;  // no result yet
    const auto trial = row[0].get<std::int64_t>();
    // A failed or diverged job's score is -inf, stored as null: a finite score is a complete job.
    last.push_back({trial, row[budget].get<std::int64_t>(), number(row[score]),
                    study::metric_value(o, number(row[metric])), row[score].is_number()});
    row_of[trial] = &row;
  }
  const auto top = report::top_configurations(last, o.sched.max_budget, top_n);
  j["top_ranked_by"] = !top.by_val_acc ? "score" : o.metric == "val_acc" ? "original_val_acc" : "metric_value";
  for (const auto& r : top.rows) {
    const auto& row = *row_of.at(r.trial);
    nlohmann::json cfg = nlohmann::json::object();
    for (std::size_t k = 0; k < trials.columns.size(); ++k) {
      if (trials.columns[k].rfind("params_", 0) == 0 && !row[k].is_null()) cfg[trials.columns[k].substr(7)] = row[k];
    }
    j["top"].push_back({{"trial", r.trial},
                        {"score", row[score]},
                        {"original_val_acc", row[orig]},
                        {"metric_value", row[metric]},
                        {"config", cfg}});
  }
  return j;
}

namespace {

// Returns the page's facts: the search's state ("running", "finished", ...) and the scheduler's decisions.
nlohmann::json write_html(const ReportCmd& c) {
  report::HtmlOptions h;
  h.journal = c.journal;
  h.replays = c.replays;
  h.top = c.top;
  h.refresh_seconds = c.watch;
  const auto data = report::page_data(h);
  const auto charts = report::page_charts(data);
  const auto page = report::render_html(data, charts);
  write_file_atomically(c.html, [&](std::ostream& out) { out << page; });
  const auto& facts = data["facts"];
  fmt::print(stderr, "wrote the HTML report of {} ({}, {} charts, {:.1f} MB) to {}\n", c.journal,
             facts["state"].get<std::string>(), charts.size(), static_cast<double>(page.size()) / 1e6, c.html);
  return facts;
}

// --watch: the page is rewritten every S seconds while the search runs, and reloads itself in the browser as often;
// the last one, written as soon as the search stops, does not reload. Ctrl-C ends the watch, the page stays.
void watch_html(const ReportCmd& c) {
  const InterruptGuard interrupt;
  while (write_html(c)["state"] == "running") {
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(c.watch);
    for (int tick = 1; std::chrono::steady_clock::now() < until; ++tick) {
      if (interrupt.signal() != 0) return;
      if (tick % 5 == 0 && !store::journal_in_use(c.journal)) break;  // stopped: its last page now, not later
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

void run_report(const ReportCmd& c) {
  if (!c.replays.empty() && c.html.empty()) {
    throw InputError("--replay adds charts to the HTML page: give --html FILE too");
  }
  if (c.watch > 0 && c.html.empty()) throw InputError("--watch rewrites the HTML page: give --html FILE too");
  nlohmann::json facts;  // the page's, whose plan lines --json reuses: replaying a long journal takes a while
  if (!c.html.empty()) {
    if (c.watch > 0) {
      watch_html(c);
    } else {
      facts = write_html(c);
    }
    if (!c.out.any()) return;
  }
  const auto o = study::journal_options(c.journal);
  const auto j = journal_report_json(c.journal, c.top, facts);
  c.out.write(j);
  if (!c.out.output.empty()) fmt::print(stderr, "wrote the report of {} to {}\n", c.journal, c.out.output);
  if (c.out.any()) return;
  fmt::print("{}: {} + {} estimator, space {}, {}, budgets {}..{} eta {}, seed {}, {} worker(s) on {}\n", c.journal,
             o.algo, o.estimator, o.space, study::objective_text(o), o.sched.min_budget, o.sched.max_budget,
             o.sched.eta, o.seed, o.workers, o.device);
  const auto unreported = j["jobs_unreported"].get<std::int64_t>();
  fmt::print("{} trials, {} jobs reported, {} epochs trained, {:.0f} s of training", j["trials"].get<std::int64_t>(),
             j["jobs_reported"].get<std::size_t>(), j["epochs_trained"].get<std::int64_t>(),
             j["seconds"].get<double>());
  const bool running = j["running"].get<bool>();
  fmt::print("{}\n", unreported == 0 ? std::string(running ? "; running now" : "")
                     : running       ? fmt::format("; {} job(s) running now", unreported)
                                     : fmt::format("; interrupted: {} job(s) started and not finished (fhist search "
                                                   "--resume --journal {} reruns them from their checkpoints)",
                                                   unreported, c.journal));
  if (j["best"].is_null()) {
    fmt::print("no trial has finished successfully yet\n");
    return;
  }
  const auto& best = j["best"];
  const auto best_score = best["score"].is_number() ? best["score"].get<double>() : std::nan("");
  // As reported: a percentage for val_acc, the number itself for a user's own --metric.
  const auto shown = [&](const nlohmann::json& v) {
    if (!v.is_number()) return std::string("-");
    return o.metric == "val_acc" ? pct(v) : fmt::format("{:.4g}", v.get<double>());
  };
  const auto metric_name = study::metric_name(o);
  fmt::print("best: trial {} {} | {} score {}, {} {} at {}\n", best["trial"].get<std::int64_t>(),
             space::Config::from_json(best["config"]).to_string(), study::score_name(o),
             report::score_text(best_score, o), metric_name, shown(best["metric_value"]),
             count_of(best["budget_epochs"].get<std::int64_t>(), "epoch"));
  for (const auto& line : j["plan"]) fmt::print("{}\n", line.get<std::string>());
  if (j.contains("plan_error")) {
    fmt::print("(the scheduler's decisions could not be replayed from the journal: {})\n",
               j["plan_error"].get<std::string>());
  }
  const auto by = j["top_ranked_by"] == "score"
                      ? fmt::format("{} score", study::score_name(o))
                      : fmt::format("{} (the full budget{})", metric_name, o.minimize() ? ", lowest first" : "");
  fmt::print("top {} at {} by {}:\n  {:>4} {:>6} {:>8} {:>9}  config\n", j["top"].size(),
             count_of(best["budget_epochs"].get<std::int64_t>(), "epoch"), by, "rank", "trial", "score",
             o.metric == "val_acc" ? std::string("original") : o.metric);
  for (std::size_t i = 0; i < j["top"].size(); ++i) {
    const auto& row = j["top"][i];
    fmt::print("  {:>4} {:>6} {:>8} {:>9}  {}\n", i + 1, row["trial"].get<std::int64_t>(),
               row["score"].is_number() ? report::score_text(row["score"].get<double>(), o) : std::string("-"),
               shown(row["metric_value"]), row["config"].dump());
  }
  if (!j["evaluations"].empty()) fmt::print("evaluations (fhist evaluate: retrained on train + validation):\n");
  for (const auto& e : j["evaluations"]) {
    fmt::print("  trial {} for {}: test accuracy {} (seed {}, {}, {:.0f} s)\n", e.value("trial", -1),
               count_of(e.value("max_budget", 0), "epoch"), pct(e.value("test_acc", nlohmann::json())), e.value("seed", 0),
               e.value("finished_at", std::string("?")), e.value("seconds", 0.0));
  }
}

struct ExportCmd {
  std::string journal;
  std::string table = "results";
  std::string format = "csv";
  bool json = false;  // --json: --format json on standard output
  std::string output;
  std::string estimator;
};

void run_export(const ExportCmd& c) {
  if (c.json && !c.output.empty() && c.output != "-") {
    throw InputError("--json prints to standard output; with -o FILE choose --format csv|json instead");
  }
  const auto format = c.json ? std::string("json") : c.format;
  const auto table = report::journal_table(c.journal, c.table, c.estimator);
  const std::string text = format == "csv" ? report::to_csv(table) : report::to_json(table).dump(2) + "\n";
  if (c.output.empty() || c.output == "-") {
    fmt::print("{}", text);
  } else {
    write_file_atomically(c.output, [&](std::ostream& out) { out << text; });
    fmt::print(stderr, "wrote {} rows of {} to {}\n", table.rows.size(), c.table, c.output);
  }
}

}  // namespace

void register_report(CLI::App& app) {
  {
    auto c = std::make_shared<ReportCmd>();
    auto* sub = app.add_subcommand("report", "a search's progress, incumbent and top trials (also while it runs)");
    sub->add_option("--journal", c->journal, "the search's journal")->required();
    sub->add_option("--top", c->top, "trials to list")->check(at_least(1))->capture_default_str();
    add_json_output_flags(*sub, c->out, "the report (the best configuration, its score and seed, the top trials)");
    sub->add_option("--html", c->html,
                    "write one self-contained HTML page (charts inlined, opens offline): run facts, every score per "
                    "epoch per trial, rank correlations, brackets, incumbent, best configurations")
        ->check(output_path());
    sub->add_option("--replay", c->replays, "with --html: a file of fhist replay -o, charted on the page")
        ->check(CLI::ExistingFile);
    sub->add_option("--watch", c->watch,
                    "with --html: rewrite the page every SECONDS while the search runs (the page reloads itself as "
                    "often in the browser); returns once the search has stopped")
        ->check(CLI::PositiveNumber);
    sub->callback([c]() { run_report(*c); });
  }
  {
    auto c = std::make_shared<ExportCmd>();
    auto* sub = app.add_subcommand("export", "a journal's epochs, results or trials as CSV or JSON, for plots");
    sub->add_option("--journal", c->journal, "the search's journal")->required();
    sub->add_option("--table", c->table, "epochs | results | trials | ranks (each estimator's Kendall tau etc. per epoch)")
        ->check(CLI::IsMember(report::journal_table_names()))
        ->capture_default_str();
    sub->add_option("--format", c->format, "csv | json")->check(CLI::IsMember({"csv", "json"}))->capture_default_str();
    sub->add_flag("--json", c->json, "print the table as JSON on standard output (as --format json)");
    sub->add_option("-o,--output", c->output, "file to write (default: standard output)")->check(output_path());
    sub->add_option("--estimator", c->estimator,
                    "also re-score every trial by this estimator from the stored measurements (any registry name, "
                    "e.g. tse-e:3)");
    sub->callback([c]() { run_export(*c); });
  }
}

}  // namespace fhist::cli
