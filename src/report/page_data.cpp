// The HTML report's data: everything the page shows, gathered from the journal (read-only) in one pass per table.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>

#include "core/errors.hpp"
#include "report/console.hpp"
#include "report/html.hpp"
#include "report/tables.hpp"
#include "score/scores.hpp"
#include "space/space.hpp"
#include "store/trial_store.hpp"
#include "study/study.hpp"

namespace fhist::report {

namespace {

using nlohmann::json;

json num(double v) { return study::json_number(v); }

std::string utc_now() {
  const auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// The replay files (fhist replay -o): arrays of runs, each naming algo, estimator, seed, regret and epochs.
json read_replays(const std::vector<std::string>& files) {
  json runs = json::array();
  for (const auto& file : files) {
    std::ifstream in(file);
    if (!in) throw InputError(fmt::format("--replay {}: cannot open the file", file));
    const json j = space::parse_user_json({std::istreambuf_iterator<char>(in), {}},
                                          "--replay " + file + " (expected the file fhist replay -o writes)");
    if (!j.is_array()) {
      throw InputError(fmt::format("--replay {}: expected a JSON array of runs (fhist replay -o FILE)", file));
    }
    for (std::size_t i = 0; i < j.size(); ++i) {
      const auto& r = j[i];
      for (const char* key : {"algo", "estimator", "seed", "epochs"}) {
        if (!r.is_object() || !r.contains(key)) {
          throw InputError(fmt::format("--replay {}: run {} has no \"{}\" (expected the runs fhist replay -o "
                                       "writes)",
                                       file, i, key));
        }
      }
      runs.push_back({{"file", std::filesystem::path(file).filename().string()},
                      {"algo", r.at("algo")},
                      {"estimator", r.at("estimator")},
                      {"seed", r.at("seed")},
                      {"regret", r.value("regret", json(nullptr))},
                      {"test_acc", r.value("test_acc", json(nullptr))},
                      {"epochs", r.at("epochs")}});
    }
  }
  return runs;
}

// Anytime regret (fhist replay writes it per run): one point per run and mark, for the regret-vs-epochs chart.
json read_anytime(const std::vector<std::string>& files) {
  json points = json::array();
  for (const auto& file : files) {
    std::ifstream in(file);
    const json j = space::parse_user_json({std::istreambuf_iterator<char>(in), {}}, "--replay " + file);
    for (const auto& r : j) {
      if (!r.contains("anytime_regret") || !r.contains("anytime_epochs")) continue;
      const auto& regret = r["anytime_regret"];
      const auto& epochs = r["anytime_epochs"];
      if (!regret.is_array() || !epochs.is_array() || regret.size() != epochs.size()) {
        throw InputError(fmt::format("--replay {}: anytime_regret and anytime_epochs must be arrays of one length",
                                     file));
      }
      for (std::size_t k = 0; k < regret.size(); ++k) {
        if (!regret[k].is_number()) continue;
        points.push_back({{"search", fmt::format("{} + {}", r.at("algo").get<std::string>(),
                                                 r.at("estimator").get<std::string>())},
                          {"epochs", epochs[k]},
                          {"regret", regret[k]}});
      }
    }
  }
  return points;
}

}  // namespace

json page_data(const HtmlOptions& opt) {
  const auto o = study::journal_options(opt.journal);  // InputError for a missing journal
  auto store = store::open_sqlite_store_readonly(opt.journal);
  const auto study_record = store->read_study();
  const auto trials = store->trials();
  const auto epochs = store->epochs();
  const auto events = store->events();
  const bool in_use = store::journal_in_use(opt.journal);
  const std::int64_t max_budget = o.sched.max_budget;
  const bool is_table = o.training.test_accuracy && o.algo == "random" && o.sched.min_budget == o.sched.max_budget;

  std::map<std::int64_t, const store::TrialRow*> by_id;
  for (const auto& t : trials) by_id[t.trial] = &t;

  // ---- epochs: every accuracy estimator's score after each epoch, recomputed as the ranks are.
  std::vector<std::string> acc_names;
  for (const auto& info : score::estimators()) {
    if (info.is_accuracy) acc_names.push_back(info.name);
  }
  std::vector<std::unique_ptr<score::Estimator>> acc_estimators;
  for (const auto& n : acc_names) acc_estimators.push_back(score::make_estimator(n));
  const auto classes = score::known_num_classes(o.training.data);
  std::map<std::int64_t, score::TrialHistory> histories;
  std::map<std::int64_t, std::int64_t> epochs_of;   // trial -> epochs recorded
  std::map<std::int64_t, double> seconds_of;        // trial -> training seconds
  std::map<std::pair<std::int64_t, std::int64_t>, const json*> record_at;
  std::map<int, double> busy;                       // worker -> seconds
  double first_start = INFINITY, last_end = -INFINITY, train_seconds = 0;
  json epoch_rows = json::array();
  for (const auto& e : epochs) {
    auto [it, fresh] = histories.try_emplace(e.trial);
    if (fresh) {
      it->second.final_epoch = max_budget;
      it->second.num_classes = classes;
    }
    score::append_epoch(it->second, e.epoch, e.record);
    record_at[{e.trial, e.epoch}] = &e.record;
    epochs_of[e.trial] = std::max(epochs_of[e.trial], e.epoch);
    const double secs = score::record_number(e.record, "seconds");
    if (std::isfinite(secs)) {
      seconds_of[e.trial] += secs;
      train_seconds += secs;
    }
    const double at = score::record_number(e.record, "finished_at");
    if (std::isfinite(at) && std::isfinite(secs) && e.record.contains("worker")) {
      busy[e.record.at("worker").get<int>()] += secs;
      first_start = std::min(first_start, at - secs);
      last_end = std::max(last_end, at);
    }
    json row = {{"trial", e.trial},
                {"epoch", e.epoch},
                {"train_loss", num(it->second.epochs.back().train_loss)},
                {"val_nll", num(it->second.epochs.back().original_nll)},
                {"test_acc", num(score::record_number(e.record, "test_acc"))}};
    // With the study's own --metric, original and best-acc are that metric, shown as reported (the sign undone);
    // the feature estimates are accuracies on another scale than the chart's and stay out of it.
    for (std::size_t k = 0; k < acc_names.size(); ++k) {
      const double v = acc_estimators[k]->score(it->second);
      const bool on_metric = acc_names[k] == "original" || acc_names[k] == "best-acc";
      row[acc_names[k]] = it->second.original_is_accuracy ? num(v)
                          : on_metric                     ? num(study::metric_value(o, v))
                                                          : json(nullptr);
    }
    epoch_rows.push_back(std::move(row));
  }

  // ---- results (with promotions) and the incumbent over cumulative epochs.
  std::map<std::int64_t, std::int64_t> last_start_budget;
  std::map<std::int64_t, std::int64_t> max_start_budget;
  for (const auto& ev : events) {
    if (ev.kind != "start") continue;
    last_start_budget[ev.trial] = ev.budget_epochs;
    max_start_budget[ev.trial] = std::max(max_start_budget[ev.trial], ev.budget_epochs);
  }
  json results = json::array(), incumbent = json::array();
  std::map<std::int64_t, std::int64_t> reached;  // trial -> budget of its last result
  std::int64_t cumulative = 0;
  std::optional<study::TrialResult> best;
  std::map<std::int64_t, LastResult> last_result;  // trial -> its last finished job
  std::vector<ParamRow> param_rows;  // complete jobs: configuration against validation accuracy, per budget
  std::int64_t unreported = 0;
  for (const auto& t : trials) unreported += t.state == "running" ? 1 : 0;
  for (const auto& ev : events) {
    if (ev.kind != "result") continue;
    const auto rec = record_at.find({ev.trial, ev.budget_epochs});
    // The study's metric: oriented (higher is better) to pick and rank, as reported (`shown`) on the page.
    const double val = rec != record_at.end() ? score::measures_from_json(ev.budget_epochs, *rec->second).original
                                              : std::nan("");
    const double shown = study::metric_value(o, val);
    const bool promoted = max_start_budget[ev.trial] > ev.budget_epochs;
    last_result[ev.trial] = {ev.trial, ev.budget_epochs, ev.score, val, ev.state == "complete"};
    if (ev.state == "complete" && by_id.count(ev.trial)) {
      param_rows.push_back({ev.trial, ev.budget_epochs, by_id.at(ev.trial)->config, shown});
    }
    results.push_back({{"seq", ev.seq}, {"trial", ev.trial}, {"bracket", ev.bracket}, {"rung", ev.rung},
                       {"budget", ev.budget_epochs}, {"score", num(ev.score)}, {"state", ev.state},
                       {"seconds", num(ev.seconds)}, {"val_acc", num(shown)},
                       {"outcome", ev.state != "complete"     ? ev.state
                                   : promoted                  ? "promoted"
                                   : ev.budget_epochs >= max_budget ? "final"
                                                                    : "not promoted"}});
    cumulative += std::max<std::int64_t>(ev.budget_epochs - reached[ev.trial], 0);
    reached[ev.trial] = ev.budget_epochs;
    // The incumbent as the search picks it (study::improves).
    study::TrialResult r;
    r.trial = ev.trial;
    r.budget_epochs = ev.budget_epochs;
    r.score = ev.score;
    r.value = val;
    r.state = sched::state_from_name(ev.state, sched::TrialState::kComplete);
    if (study::improves(best, r, max_budget)) best = r;
    if (best) {
      const auto brec = record_at.find({best->trial, best->budget_epochs});
      incumbent.push_back({{"epochs", cumulative}, {"trial", best->trial}, {"budget", best->budget_epochs},
                           {"val_acc", num(study::metric_value(o, best->value))},
                           {"test_acc", num(brec != record_at.end() ? score::record_number(*brec->second, "test_acc")
                                                                    : std::nan(""))}});
    }
  }

  // ---- state
  bool open_work = false;
  for (const auto& t : trials) open_work = open_work || t.state == "paused" || t.state == "pending";
  const std::string state = in_use ? "running"
                            : unreported > 0 ? "interrupted"
                            : (open_work || results.empty()) ? "stopped"
                                                              : "finished";

  // ---- running jobs
  json running = json::array();
  for (const auto& t : trials) {
    if (t.state != "running") continue;
    const auto h = histories.find(t.trial);
    running.push_back({{"trial", t.trial}, {"bracket", t.bracket}, {"budget", last_start_budget[t.trial]},
                       {"epochs_recorded", epochs_of[t.trial]},
                       {"val_acc", h != histories.end() && !h->second.epochs.empty()
                                       ? num(study::metric_value(o, h->second.epochs.back().original))
                                       : json(nullptr)},
                       {"config", t.config}});
  }

  // ---- best configurations at the largest budget reached, ranked as the incumbent is chosen.
  json top = json::array();
  {
    std::vector<LastResult> last;
    for (const auto& [trial, r] : last_result) last.push_back(r);
    const auto best_configs = top_configurations(last, max_budget, opt.top);
    const auto evaluated = study::latest_evaluations(opt.journal);
    for (const auto& r : best_configs.rows) {
      const auto& config = by_id.count(r.trial) ? by_id.at(r.trial)->config : json::object();
      const auto rec = record_at.find({r.trial, r.budget_epochs});
      top.push_back({{"trial", r.trial}, {"budget", r.budget_epochs}, {"score", num(r.score)},
                     {"val_acc", num(study::metric_value(o, r.val_acc))},
                     {"test_acc", num(rec != record_at.end() ? score::record_number(*rec->second, "test_acc") : NAN)},
                     {"epochs", epochs_of[r.trial]}, {"seconds", num(seconds_of[r.trial])}, {"config", config},
                     {"cell_svg", cell_svg(config)}});
      // fhist evaluate's figure (retrained on train + validation), where the search itself measured no test accuracy
      const auto ev = evaluated.find(r.trial);
      if (ev != evaluated.end()) top.back()["evaluated_test_acc"] = ev->second.value("test_acc", json(nullptr));
    }
    if (!top.empty()) top.front()["ranked_by"] = best_configs.by_val_acc ? "val_acc" : "score";
  }

  // ---- rank statistics (Figures 7 and 8): trials that reached the largest budget.
  json ranks = json::array();
  const auto jr = journal_ranks(opt.journal);
  for (const auto& r : jr.rows) {
    ranks.push_back({{"estimator", r.estimator}, {"is_accuracy", r.is_accuracy}, {"epoch", r.epoch},
                     {"configs", r.configs}, {"kendall", num(r.kendall)}, {"spearman", num(r.spearman)},
                     {"top1_regret", num(r.top1_regret)}, {"mean_abs_error", num(r.mean_abs_error)},
                     {"vs_current", num(r.vs_current)}});
  }

  // ---- facts
  json utilisation = nullptr;
  if (!busy.empty() && last_end > first_start) {
    utilisation = json::array();
    for (const auto& [w, b] : busy) {
      utilisation.push_back({{"worker", w}, {"busy_seconds", b}, {"share", b / (last_end - first_start)}});
    }
  }
  json facts = {{"kind", is_table ? "table" : "search"},
                {"journal", opt.journal},
                {"state", state},
                {"generated_at", opt.generated_at.empty() ? utc_now() : opt.generated_at},
                {"refresh_seconds", state == "running" ? opt.refresh_seconds : 0.0},
                {"options", o.to_json()},
                // What the page's "val_acc" fields hold: the validation accuracy, or a user loop's own --metric.
                {"metric",
                 {{"name", o.metric},
                  {"title", study::metric_name(o)},
                  {"percent", o.metric == "val_acc"},
                  {"minimize", o.minimize()}}},
                {"fhist_version", study_record ? study_record->value("fhist_version", std::string("?")) : "?"},
                {"report_fhist_version", FHIST_VERSION_STRING},
                {"trials", trials.size()},
                {"jobs_reported", results.size()},
                {"jobs_running", unreported},
                {"epochs_trained", epochs.size()},
                {"train_seconds", train_seconds},
                {"wall_seconds", std::isfinite(first_start) ? num(last_end - first_start) : json(nullptr)},
                {"utilisation", utilisation},
                {"chart_library", chart_library_versions()}};
  // What the scheduler decided, as the search's last lines and fhist report say it; the page stands without them
  // where this fhist cannot replay the journal.
  try {
    facts["plan"] = journal_plan_lines(o, opt.journal);
  } catch (const std::exception& e) {
    facts["plan"] = json::array();
    facts["plan_error"] = e.what();
  }
  return {{"facts", facts},
          {"accuracy_estimators", acc_names},
          {"epochs", epoch_rows},
          {"results", results},
          {"incumbent", incumbent},
          {"ranks", {{"target", jr.target}, {"trials", jr.trials}, {"max_budget", jr.max_budget}, {"rows", ranks}}},
          {"top", top},
          {"running", running},
          {"parameters", parameter_views(study_record ? study_record->value("space_definition", json()) : json(),
                                         param_rows)},
          {"replay", read_replays(opt.replays)}, {"anytime", read_anytime(opt.replays)}};
}

}  // namespace fhist::report
