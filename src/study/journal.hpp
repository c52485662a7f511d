#pragma once
// Inside fhist::study: reading a journal's definition and events, shared by the loop (replay, resume) and the
// read-only queries (summarize_journal, journal_options, trial_config).
#include <string>
#include <utility>

#include "store/trial_store.hpp"
#include "study/study.hpp"

namespace fhist::study::detail {

store::Event result_event(const TrialResult& r);
TrialResult result_of(const store::Event& e);
// The space of a search with these options: `record`'s "space_definition" (the journal's study record, or rank 0's
// hello: a space file may have changed or moved since, a built-in space may have changed between fhist versions). A
// built-in space is rebuilt by name when its definition is unchanged (its constraints are code, not JSON); one that
// changed and has constraints is refused with InputError. `source` names where the definition comes from, for errors.
space::SearchSpace space_of(const StudyOptions& options, const nlohmann::json& record, const std::string& source);
// The options and the space a journal was created with. StoreError without a study record.
std::pair<StudyOptions, space::SearchSpace> read_definition(const store::TrialStore& store);
// The journal's study record: the options, the space's definition, fhist's and the schema's versions.
nlohmann::json study_record(const StudyOptions& o, const space::SearchSpace& s);
// InputError if a new search's journal exists (one killed while it was being created is removed), or if
// `<journal>.trials/` holds an earlier search's files (a new trial 0 would continue from them).
void refuse_existing(const std::string& journal);
// InputError for a journal created by a search that was stopped before it started: nothing to resume or read.
void refuse_unstarted(const std::string& journal);

}  // namespace fhist::study::detail
