#include "report/tables.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>  // fmt::join (fmt >= 11 keeps it there)

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <set>

#include "core/errors.hpp"
#include "score/scores.hpp"
#include "store/trial_store.hpp"
#include "study/study.hpp"

namespace fhist::report {

namespace {

// Configuration columns are "params_<name>" (as Optuna's trials_dataframe), so "lr" the parameter and "lr" the
// epoch's scheduled learning rate stay apart.
std::vector<std::string> param_names(const std::vector<store::TrialRow>& trials) {
  std::set<std::string> names;
  for (const auto& t : trials) {
    if (!t.config.is_object()) continue;
    for (const auto& [k, v] : t.config.items()) names.insert(k);
  }
  return {names.begin(), names.end()};
}

nlohmann::json field(const nlohmann::json& record, const char* key) {
  if (!record.is_object() || !record.contains(key)) return nullptr;
  return record.at(key);
}

void add_params(std::vector<nlohmann::json>& row, const std::vector<std::string>& params,
                const std::map<std::int64_t, const store::TrialRow*>& by_id, std::int64_t trial) {
  const auto it = by_id.find(trial);
  for (const auto& p : params) {
    row.push_back(it != by_id.end() && it->second->config.is_object() && it->second->config.contains(p)
                      ? it->second->config.at(p)
                      : nlohmann::json(nullptr));
  }
}

std::string csv_cell(const nlohmann::json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
  }
  return v.dump();
}

}  // namespace

std::vector<std::string> journal_table_names() { return {"epochs", "results", "trials", "ranks"}; }

Table journal_table(const std::string& journal, const std::string& name, const std::string& estimator) {
  const auto names = journal_table_names();
  if (std::find(names.begin(), names.end(), name) == names.end()) {
    throw InputError(fmt::format("--table '{}': expected one of {}", name, fmt::join(names, ", ")));
  }
  if (!std::filesystem::exists(journal)) throw InputError(fmt::format("--journal {}: no such file", journal));
  if (name == "ranks") {
    if (!estimator.empty()) {
      throw InputError("--estimator: the ranks table already has a row for every estimator (leave it out)");
    }
    const auto ranks = journal_ranks(journal);
    Table table;
    table.columns = {"estimator", "is_accuracy", "epoch",          "configs",    "kendall",
                     "spearman",  "top1_regret", "mean_abs_error", "vs_current", "target"};
    for (const auto& r : ranks.rows) {
      table.rows.push_back({r.estimator, r.is_accuracy, r.epoch, r.configs, study::json_number(r.kendall),
                            study::json_number(r.spearman), study::json_number(r.top1_regret),
                            study::json_number(r.mean_abs_error), study::json_number(r.vs_current), ranks.target});
    }
    return table;
  }
  auto store = store::open_sqlite_store_readonly(journal);
  const auto trials = store->trials();
  // A user's loop with its own --metric: that metric as reported, a column of its own ("metric_value").
  const auto study_record = store->read_study();
  const bool own_metric = study_record && study_record->contains("options") &&
                          study_record->at("options").value("metric", std::string("val_acc")) != "val_acc";
  std::map<std::int64_t, const store::TrialRow*> by_id;
  for (const auto& t : trials) by_id[t.trial] = &t;
  const auto params = param_names(trials);
  auto with_params = [&](std::vector<std::string> cols) {
    for (const auto& p : params) cols.push_back("params_" + p);
    return cols;
  };
  Table table;
  // A re-ranking estimator (--estimator): its score recomputed from each trial's stored measurements.
  std::unique_ptr<score::Estimator> rescorer;
  std::map<std::pair<std::int64_t, std::int64_t>, double> rescored;  // (trial, epoch) -> score
  const auto all_epochs = store->epochs();
  if (!estimator.empty()) {
    rescorer = score::make_estimator(estimator);
    const auto study = store->read_study();
    const auto final_epoch = study ? study->at("options").value("max_budget", std::int64_t{0}) : 0;
    const auto classes =
        score::known_num_classes(study ? study::training_block(study->at("options")).value("data", std::string()) : "");
    std::map<std::int64_t, score::TrialHistory> histories;
    for (const auto& e : all_epochs) {
      auto [it, fresh] = histories.try_emplace(e.trial);
      auto& h = it->second;
      if (fresh) {
        h.final_epoch = final_epoch;
        h.num_classes = classes;
      }
      score::append_epoch(h, e.epoch, e.record);
      rescored[{e.trial, e.epoch}] = rescorer->score(h);
    }
  }
  if (name == "epochs") {
    // The measurements under the journal's names (score::measure_keys, older rows' names read as the same), then the
    // row's other fields.
    std::vector<std::string> keys = score::measure_keys();
    const auto measures = keys.size();
    keys.insert(keys.end(), {"test_acc", "params", "lr", "seconds", "estimate_seconds"});
    const char* series[] = {"window_acc", "window_nll", "window_soft"};
    std::size_t window = 0;
    for (const auto& e : all_epochs) {
      const auto w = field(e.record, "window_acc");
      if (w.is_array()) window = std::max(window, w.size());
    }
    // The user's own metrics (a command's or ask-and-tell's extra keys), a column each: user_<key>.
    std::vector<std::string> user;
    for (const auto& e : all_epochs) {
      const auto m = field(e.record, "metrics");
      if (!m.is_object()) continue;
      for (const auto& [k, v] : m.items()) {
        if (std::find(user.begin(), user.end(), k) == user.end()) user.push_back(k);
      }
    }
    const auto names = score::estimator_names();
    table.columns = {"trial", "epoch", "bracket"};
    table.columns.insert(table.columns.end(), keys.begin(), keys.end());
    if (own_metric) table.columns.push_back("metric_value");
    for (const auto& k : user) table.columns.push_back("user_" + k);
    // The network's parameter count, named apart from the configuration's params_* columns.
    std::replace(table.columns.begin(), table.columns.end(), std::string("params"), std::string("parameters"));
    for (const char* name : series) {
      for (std::size_t k = 1; k <= window; ++k) table.columns.push_back(fmt::format("{}_{}", name, k));
    }
    for (const auto& n : names) table.columns.push_back("score_" + n);
    if (rescorer) table.columns.push_back("score");
    table.columns = with_params(table.columns);
    for (const auto& e : all_epochs) {
      const auto it = by_id.find(e.trial);
      std::vector<nlohmann::json> row = {e.trial, e.epoch,
                                         it != by_id.end() ? nlohmann::json(it->second->bracket) : nullptr};
      for (std::size_t i = 0; i < keys.size(); ++i) {
        row.push_back(i < measures ? study::json_number(score::measure_number(e.record, keys[i]))
                                   : field(e.record, keys[i].c_str()));
      }
      if (own_metric) row.push_back(field(e.record, "metric_value"));
      const auto m = field(e.record, "metrics");
      for (const auto& k : user) row.push_back(m.is_object() && m.contains(k) ? m.at(k) : nullptr);
      for (const char* name : series) {
        const auto w = field(e.record, name);
        for (std::size_t k = 0; k < window; ++k) row.push_back(w.is_array() && k < w.size() ? w[k] : nullptr);
      }
      const auto sc = field(e.record, "scores");
      for (const auto& n : names) row.push_back(sc.is_object() && sc.contains(n) ? sc.at(n) : nullptr);
      if (rescorer) row.push_back(study::json_number(rescored.at({e.trial, e.epoch})));
      add_params(row, params, by_id, e.trial);
      table.rows.push_back(std::move(row));
    }
  } else if (name == "results") {
    table.columns = with_params(
        {"seq", "trial", "bracket", "rung", "budget_epochs", "score", "state", "seconds", "message"});
    for (const auto& ev : store->events()) {
      if (ev.kind != "result") continue;
      std::vector<nlohmann::json> row = {ev.seq,   ev.trial,   ev.bracket,        ev.rung,   ev.budget_epochs,
                                         study::json_number(ev.score), ev.state, study::json_number(ev.seconds), ev.message};
      add_params(row, params, by_id, ev.trial);
      table.rows.push_back(std::move(row));
    }
  } else {
    // The last reported result of each trial is at its largest budget (budgets only grow).
    std::map<std::int64_t, store::Event> last;
    for (const auto& ev : store->events()) {
      if (ev.kind == "result") last[ev.trial] = ev;
    }
    std::map<std::pair<std::int64_t, std::int64_t>, nlohmann::json> original;  // (trial, epoch) -> accuracy
    for (const auto& e : all_epochs) original[{e.trial, e.epoch}] = field(e.record, "original_val_acc");
    std::map<std::pair<std::int64_t, std::int64_t>, nlohmann::json> metric;  // (trial, epoch) -> own metric
    if (own_metric) {
      for (const auto& e : all_epochs) metric[{e.trial, e.epoch}] = field(e.record, "metric_value");
    }
    std::map<std::pair<std::int64_t, std::int64_t>, nlohmann::json> test;  // (trial, epoch) -> test accuracy
    for (const auto& e : all_epochs) test[{e.trial, e.epoch}] = field(e.record, "test_acc");
    // evaluated_test_acc: the latest fhist evaluate of the trial (retrained on train + validation, then tested).
    const auto evaluated = study::latest_evaluations(journal);
    std::vector<std::string> cols = {"trial", "bracket", "state", "message", "budget_epochs", "score",
                                     "original_val_acc", "test_acc", "evaluated_test_acc"};
    if (own_metric) cols.insert(cols.begin() + 7, "metric_value");
    if (rescorer) cols.push_back("score_" + estimator);
    table.columns = with_params(cols);
    for (const auto& t : trials) {
      std::vector<nlohmann::json> row = {t.trial, t.bracket, t.state, t.message};
      const auto it = last.find(t.trial);
      const auto ev = evaluated.find(t.trial);
      const auto evaluated_acc = ev != evaluated.end() ? ev->second.value("test_acc", nlohmann::json(nullptr))
                                                       : nlohmann::json(nullptr);
      if (it == last.end()) {
        row.insert(row.end(), {nullptr, nullptr, nullptr, nullptr, evaluated_acc});
        if (own_metric) row.insert(row.begin() + 7, nullptr);
        if (rescorer) row.push_back(nullptr);
      } else {
        const std::pair<std::int64_t, std::int64_t> at{t.trial, it->second.budget_epochs};
        const auto o = original.find(at);
        const auto te = test.find(at);
        row.insert(row.end(), {it->second.budget_epochs, study::json_number(it->second.score),
                               o != original.end() ? o->second : nlohmann::json(nullptr),
                               te != test.end() ? te->second : nlohmann::json(nullptr), evaluated_acc});
        if (own_metric) {
          const auto mv = metric.find(at);
          row.insert(row.begin() + 7, mv != metric.end() ? mv->second : nlohmann::json(nullptr));
        }
        if (rescorer) {
          const auto rs = rescored.find(at);
          row.push_back(rs != rescored.end() ? study::json_number(rs->second) : nlohmann::json(nullptr));
        }
      }
      add_params(row, params, by_id, t.trial);
      table.rows.push_back(std::move(row));
    }
  }
  return table;
}

std::string to_csv(const Table& table) {
  std::string out;
  auto line = [&](auto begin, auto end, auto cell) {
    for (auto it = begin; it != end; ++it) out += (it == begin ? "" : ",") + cell(*it);
    out += "\n";
  };
  line(table.columns.begin(), table.columns.end(), [](const std::string& c) { return csv_cell(c); });
  for (const auto& row : table.rows) line(row.begin(), row.end(), [](const nlohmann::json& v) { return csv_cell(v); });
  return out;
}

nlohmann::json to_json(const Table& table) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& row : table.rows) {
    nlohmann::json obj = nlohmann::json::object();
    for (std::size_t i = 0; i < table.columns.size() && i < row.size(); ++i) obj[table.columns[i]] = row[i];
    out.push_back(std::move(obj));
  }
  return out;
}

TopConfigurations top_configurations(const std::vector<LastResult>& last, std::int64_t max_budget, int n) {
  TopConfigurations top;
  for (const auto& r : last) {
    if (r.complete) top.budget_epochs = std::max(top.budget_epochs, r.budget_epochs);
  }
  for (const auto& r : last) {
    if (r.complete && r.budget_epochs == top.budget_epochs) top.rows.push_back(r);
  }
  top.by_val_acc = top.budget_epochs == max_budget;
  const auto key = [&](const LastResult& r) {
    const double v = top.by_val_acc ? r.val_acc : r.score;
    return std::isfinite(v) ? v : -std::numeric_limits<double>::infinity();
  };
  std::stable_sort(top.rows.begin(), top.rows.end(),
                   [&](const LastResult& a, const LastResult& b) { return key(a) > key(b); });
  if (top.rows.size() > static_cast<std::size_t>(std::max(n, 0))) top.rows.resize(static_cast<std::size_t>(n));
  return top;
}

}  // namespace fhist::report
