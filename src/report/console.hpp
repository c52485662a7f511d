#pragma once
// The console reporter of a search (fhist search): what a person at a terminal sees while it runs. The library
// never prints; the CLI passes this reporter's callbacks to the study. No Torch.
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "study/study.hpp"

namespace fhist::report {

// A score of the study's estimator as people read it: "85.12%" for an accuracy estimator, "0.4321" for a ranking
// score (or a user's own --metric), "failed" when it is not finite.
std::string score_text(double score, const study::StudyOptions& o);
// "42 s", "12 min", "3.4 h".
std::string duration_text(double seconds);
// What the scheduler decided, one line each: auto's score per rung, top-k-auto's plan, which ranking of a hedge picks
// first. As the search's last lines and `fhist report` print them; none where the search has none of these.
std::vector<std::string> plan_lines(const study::StudyOptions& o, const study::StudySummary& s);
// The same lines for a search's journal, its scheduler replayed from the journal (fhist report and its HTML page);
// none for a search that makes no such decisions, without replaying. Throws what study::replay_journal throws where
// this fhist cannot replay the journal.
std::vector<std::string> journal_plan_lines(const study::StudyOptions& o, const std::string& journal);

class ConsoleReporter {
 public:
  // `options`: the search's (for a resume, the stored ones); `workers`: how many run now; `epochs_before`: the
  // epochs the journal held when this run began, so the ETA is this run's pace. Lines go to `out`; the progress of
  // running jobs goes to stderr, and only when it is a terminal.
  ConsoleReporter(const study::StudyOptions& options, int workers, std::int64_t epochs_before,
                  std::FILE* out = stdout);
  ~ConsoleReporter();
  ConsoleReporter(const ConsoleReporter&) = delete;
  ConsoleReporter& operator=(const ConsoleReporter&) = delete;

  // What is about to run: the settings on one line (`threads`: intra-op threads in all; `device`: as resolved), and
  // the plan (configurations, jobs, epochs).
  void started(const std::string& journal, bool resuming, int threads, const std::string& device) const;
  // on_step: a progress bar for the running job (a line of running jobs with several workers); on_result: one line
  // per finished job with where the search stands against its plan, the incumbent and an ETA, and a note once when
  // the rest will take hours. The caller adds interrupt / should_stop. The reporter must outlive the search.
  study::Callbacks callbacks();
  // After an interrupt: what was kept and the command that resumes.
  void interrupted(const study::StudySummary& s, const std::string& signal) const;
  // The end: the incumbent, what was spent and each worker's utilisation.
  void finished(const study::StudySummary& s) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace fhist::report
