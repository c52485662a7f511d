// Reading a journal: the definition a search was created with, its results as TrialResults, and the read-only
// queries the CLI's report, evaluate and resume use.
#include "study/journal.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>

#include "core/errors.hpp"
#include "space/catalog.hpp"

namespace fhist::study {

namespace fs = std::filesystem;

namespace detail {

nlohmann::json study_record(const StudyOptions& o, const space::SearchSpace& s) {
  return {{"options", o.to_json()},
          {"space_definition", s.to_json()},
          {"fhist_version", FHIST_VERSION_STRING},
          {"schema_version", store::kSchemaVersion}};
}

// A new search's journal must not exist; one killed while it was being created (no study, no trial) is replaced.
void refuse_existing(const std::string& journal) {
  if (fs::exists(journal) && store::journal_unstarted(journal)) {
    std::error_code ec;
    for (const auto& p : {journal, journal + "-wal", journal + "-shm"}) fs::remove(p, ec);
  }
  if (fs::exists(journal)) {
    throw InputError(fmt::format("{} already exists: pass --resume to continue that search, or choose another "
                                 "--journal (nothing was changed)",
                                 journal));
  }
  // Checkpoints of an earlier search whose journal was deleted: a new search's trial 0 would continue from them.
  std::error_code ec;
  const auto trials = journal + ".trials";
  if (fs::is_directory(trials, ec) && !fs::is_empty(trials, ec)) {
    throw InputError(fmt::format("{} holds checkpoints of an earlier search whose journal {} is gone: a new search "
                                 "would continue its trials from them. Remove the folder, or choose another --journal",
                                 trials, journal));
  }
}


store::Event result_event(const TrialResult& r) {
  store::Event e;
  e.kind = "result";
  e.trial = r.trial;
  e.bracket = r.bracket;
  e.rung = r.rung;
  e.budget_epochs = r.budget_epochs;
  e.score = r.score;
  e.state = sched::state_name(r.state);
  e.seconds = r.seconds;
  e.message = r.message;
  return e;
}

TrialResult result_of(const store::Event& e) {
  TrialResult r;
  r.trial = e.trial;
  r.bracket = e.bracket;
  r.rung = e.rung;
  r.budget_epochs = e.budget_epochs;
  r.score = e.score;
  r.state = sched::state_from_name(e.state, sched::TrialState::kComplete);  // as journals always read
  r.message = e.message;
  r.seconds = e.seconds;
  return r;
}

void refuse_unstarted(const std::string& journal) {
  if (store::journal_unstarted(journal)) {
    throw InputError(fmt::format("{} was created but its search never started (stopped while creating the journal), "
                                 "so it holds no settings to resume with: run the search command again without "
                                 "--resume; it replaces this journal",
                                 journal));
  }
}

std::pair<StudyOptions, space::SearchSpace> read_definition(const store::TrialStore& store) {
  const auto study = store.read_study();
  if (!study) throw store::StoreError(fmt::format("{}: the journal has no study record", store.path()));
  auto options = StudyOptions::from_json(study->at("options"));
  return {options, space_of(options, *study, store.path())};
}

space::SearchSpace space_of(const StudyOptions& options, const nlohmann::json& record, const std::string& source) {
  if (!space::is_builtin_space(options.space)) {
    return space::SearchSpace::from_json(record.at("space_definition"), source);
  }
  auto today = space::load_space(options.space, options.training.flops_cap, options.training.width_mult);
  // A built-in space may change between fhist versions; the journal's own definition is the space it searched.
  if (!record.contains("space_definition") || record.at("space_definition") == today.to_json()) return today;
  if (today.constraints().empty()) return space::SearchSpace::from_json(record.at("space_definition"), source);
  std::vector<std::string> names;
  for (const auto& c : today.constraints()) names.push_back(c.name);
  throw InputError(fmt::format("{}: the built-in space '{}' is defined differently in this fhist ({}) than when the "
                               "journal was written ({}), and its constraints ({}) cannot be rebuilt from the stored "
                               "definition: continue it with the fhist version that wrote it",
                               source, options.space, FHIST_VERSION_STRING,
                               record.value("fhist_version", std::string("unknown version")),
                               fmt::join(names, "; ")));
}

}  // namespace detail

bool improves(const std::optional<TrialResult>& best, const TrialResult& r, std::int64_t max_budget) {
  if (!std::isfinite(r.score)) return false;
  if (!best || r.budget_epochs > best->budget_epochs) return true;
  if (r.budget_epochs < best->budget_epochs) return false;
  // A metric the loop reported as null (NaN) never wins, and never holds the place against a measured one.
  const auto measured = [](double v) { return std::isnan(v) ? -std::numeric_limits<double>::infinity() : v; };
  if (r.budget_epochs == max_budget) return measured(r.value) > measured(best->value);
  return r.score > best->score;
}

StudyOptions journal_options(const std::string& journal) {
  if (!fs::exists(journal)) throw InputError(fmt::format("--journal {}: no such file", journal));
  detail::refuse_unstarted(journal);
  auto store = store::open_sqlite_store_readonly(journal);
  return detail::read_definition(*store).first;
}

space::Config trial_config(const std::string& journal, std::int64_t trial) {
  if (!fs::exists(journal)) throw InputError(fmt::format("--journal {}: no such file", journal));
  auto store = store::open_sqlite_store_readonly(journal);
  const auto row = store->trial(trial);
  if (!row) {
    const auto n = static_cast<std::int64_t>(store->trials().size());
    throw InputError(fmt::format("--trial {}: {} has trials 0..{}", trial, journal, n - 1));
  }
  return space::Config::from_json(row->config);
}

StudySummary summarize_journal(const std::string& journal) {
  if (!fs::exists(journal)) throw InputError(fmt::format("--journal {}: no such file", journal));
  auto store = store::open_sqlite_store_readonly(journal);
  const auto options = detail::read_definition(*store).first;
  StudySummary s;
  s.journal = store->path();
  std::map<std::int64_t, space::Config> configs;
  for (const auto& t : store->trials()) configs[t.trial] = space::Config::from_json(t.config);
  s.trials = static_cast<std::int64_t>(configs.size());
  const auto epochs = store->epochs();
  s.epochs_trained = static_cast<std::int64_t>(epochs.size());
  std::map<std::pair<std::int64_t, std::int64_t>, double> original;
  for (const auto& e : epochs) original[{e.trial, e.epoch}] = score::measures_from_json(e.epoch, e.record).original;
  for (const auto& ev : store->events()) {
    if (ev.kind != "result") continue;
    s.seconds += ev.seconds;
    ++s.jobs;
    TrialResult r = detail::result_of(ev);
    const auto it = original.find({ev.trial, ev.budget_epochs});
    if (it != original.end()) r.value = it->second;
    if (improves(s.best, r, options.sched.max_budget)) {
      s.best = r;
      s.best_config = configs.at(ev.trial);
    }
  }
  return s;
}

}  // namespace fhist::study
