// fhist's search loop with your own objective: HyperBand (or BOHB, ASHA, ...) with the journal, resume and workers
// of `fhist search`, where a job is whatever your code does. No Torch is needed: this program links fhist::study.
//
// The objective below stands in for a training run: its "validation accuracy" after e epochs rises with e and peaks
// at lr = 0.05 (a made-up learning curve). A real one would train `budget_epochs` epochs, continuing the trial from
// where its previous rung stopped. Run with --check to exit non-zero unless HyperBand's incumbent is one of the
// sampled configurations nearest the peak (used as a test).
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>

#include "exec/executor.hpp"
#include "study/study.hpp"

namespace {

double accuracy(double lr, std::int64_t epoch) {
  return 0.9 - 0.1 * std::abs(std::log10(lr / 0.05)) - 0.3 / static_cast<double>(epoch);
}

class LearningCurve : public fhist::exec::Objective {
 public:
  explicit LearningCurve(fhist::exec::EpochSink& journal) : journal_(journal) {}

  // Called from the executor's threads (several at once with workers > 1).
  fhist::exec::Outcome run(const fhist::sched::Job& job, const fhist::space::Config& config,
                           const fhist::exec::Worker&) override {
    const double lr = config.get_double("lr");
    // Epochs the journal already holds for this trial (its earlier rungs): record only the new ones.
    for (std::int64_t e = journal_.recorded(job.trial) + 1; e <= job.budget_epochs; ++e) {
      journal_.add(job.trial, e, {{"original_val_acc", accuracy(lr, e)}, {"train_loss", 1.0 / e}});
    }
    fhist::exec::Outcome o;
    o.trial = job.trial;
    o.bracket = job.bracket;
    o.rung = job.rung;
    o.budget_epochs = job.budget_epochs;
    o.value = accuracy(lr, job.budget_epochs);  // the metric at the end of the job: here the validation accuracy
    o.score = o.value;  // what the scheduler ranks by: higher is better
    o.state = std::isfinite(o.score) ? fhist::sched::TrialState::kComplete : fhist::sched::TrialState::kDiverged;
    return o;
  }

 private:
  fhist::exec::EpochSink& journal_;
};

}  // namespace

int main(int argc, char** argv) {
  const bool check = argc > 1 && std::strcmp(argv[1], "--check") == 0;
  fhist::study::StudyOptions o;
  o.space = "hparams";     // lr, weight_decay, ...: a built-in space, or a JSON file with your own parameters
  o.algo = "hyperband";
  o.sched.min_budget = 1;
  o.sched.max_budget = 27;
  o.sched.eta = 3;
  o.seed = 1;
  o.objective = "custom";  // reports name it; fhist search --resume and evaluate refuse to train a network instead
  o.objective_options = {{"name", "a made-up learning curve"}};
  const std::string journal = "own_objective.db";
  std::filesystem::remove(journal);
  fhist::study::Callbacks cb;
  cb.on_result = [](const fhist::study::TrialResult& r, const fhist::study::StudySummary&) {
    std::printf("trial %3lld  %2lld epochs  accuracy %.4f\n", static_cast<long long>(r.trial),
                static_cast<long long>(r.budget_epochs), r.score);
  };
  const auto summary = fhist::study::run_study(
      o, journal,
      [](const fhist::study::ObjectiveContext& ctx) { return std::make_unique<LearningCurve>(*ctx.sink); }, cb);
  if (!summary.best) return 1;
  std::printf("best: trial %lld %s at %lld epochs (journal %s)\n", static_cast<long long>(summary.best->trial),
              summary.best_config.to_string().c_str(), static_cast<long long>(summary.best->budget_epochs),
              journal.c_str());
  if (!check) return 0;
  // The incumbent must be a full-budget trial whose lr is within 2% (in accuracy) of the best lr any trial drew.
  double best_possible = -std::numeric_limits<double>::infinity();
  for (std::int64_t t = 0; t < summary.trials; ++t) {
    best_possible = std::max(best_possible, accuracy(fhist::study::trial_config(journal, t).get_double("lr"), 27));
  }
  const bool ok = summary.best->budget_epochs == 27 && summary.best->score > best_possible - 0.02;
  std::printf("%s: incumbent %.4f, best drawn %.4f\n", ok ? "ok" : "FAILED", summary.best->score, best_possible);
  return ok ? 0 : 1;
}
