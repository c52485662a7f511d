// The rank statistics of a journal's trials at its largest budget: what fhist export --table ranks writes and the
// HTML report plots (the paper's Figures 7 and 8).
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <map>

#include "core/errors.hpp"
#include "report/tables.hpp"
#include "score/scores.hpp"
#include "store/trial_store.hpp"
#include "study/training_options.hpp"

namespace fhist::report {

JournalRanks journal_ranks(const std::string& journal, const std::vector<std::string>& estimators) {
  if (!std::filesystem::exists(journal)) throw InputError(fmt::format("--journal {}: no such file", journal));
  auto store = store::open_sqlite_store_readonly(journal);
  const auto study = store->read_study();
  JournalRanks out;
  const nlohmann::json options = study && study->contains("options") ? study->at("options") : nlohmann::json::object();
  out.max_budget = options.value("max_budget", std::int64_t{0});
  const auto classes = score::known_num_classes(study::training_block(options).value("data", std::string()));

  // The last result of each trial: ranked if it finished at the largest budget.
  std::map<std::int64_t, store::Event> last;
  for (const auto& ev : store->events()) {
    if (ev.kind == "result") last[ev.trial] = ev;
  }
  std::map<std::int64_t, score::TrialHistory> histories;
  std::map<std::int64_t, double> test_at_end, val_at_end;
  for (const auto& e : store->epochs()) {
    const auto it = last.find(e.trial);
    if (it == last.end() || it->second.state != "complete" || it->second.budget_epochs != out.max_budget) continue;
    auto [h, fresh] = histories.try_emplace(e.trial);
    if (fresh) {
      h->second.final_epoch = out.max_budget;
      h->second.num_classes = classes;
    }
    score::append_epoch(h->second, e.epoch, e.record);
    if (e.epoch == out.max_budget) {
      val_at_end[e.trial] = h->second.epochs.back().original;
      test_at_end[e.trial] = score::record_number(e.record, "test_acc");
    }
  }
  bool all_test = !histories.empty();
  bool own_metric = false;  // the study's own --metric (metric_value rows): the target is that metric, no accuracy
  for (const auto& [trial, h] : histories) {
    own_metric = own_metric || !h.original_is_accuracy;
    out.trials.push_back(trial);
    const auto t = test_at_end.find(trial);
    all_test = all_test && t != test_at_end.end() && std::isfinite(t->second);
  }
  all_test = all_test && !own_metric;
  out.target = all_test ? "test_acc" : own_metric ? "metric_value" : "original_val_acc";
  std::vector<double> targets;
  std::vector<const score::TrialHistory*> rows;
  for (const auto trial : out.trials) {
    const auto& m = all_test ? test_at_end : val_at_end;
    const auto it = m.find(trial);
    targets.push_back(it != m.end() ? it->second : std::nan(""));
    rows.push_back(&histories.at(trial));
  }
  const auto names = estimators.empty() ? score::estimator_names() : estimators;
  out.rows = score::rank_by_epoch(
      targets, out.max_budget,
      [&](std::size_t i, std::int64_t e) {
        score::TrialHistory h = *rows[i];
        while (!h.epochs.empty() && h.epochs.back().epoch > e) h.epochs.pop_back();
        return h;
      },
      names);
  // |estimate - final| compares accuracies: not defined against another metric.
  if (own_metric) {
    for (auto& r : out.rows) r.mean_abs_error = std::nan("");
  }
  return out;
}

}  // namespace fhist::report
