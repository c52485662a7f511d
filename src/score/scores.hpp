#pragma once
// Every estimator fhist knows, by name, as a score of what a trial has measured so far, epoch by epoch. The
// feature-based measurements (refit, fh, fh-paper, the budget windows) are computed by the trainer from the feature
// history (estimate/estimator.hpp) and stored in the journal; every score here is a function of those stored
// measurements, so any finished search or table can be re-ranked offline by any estimator. No Torch.
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace fhist::score {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// One epoch of a trial, as the journal holds it. Accuracies are fractions in [0, 1]; NaN where not measured.
struct EpochMeasures {
  std::int64_t epoch = 0;        // 1-based
  double train_loss = kNaN;      // mean training cross-entropy of the epoch's batches (training pass)
  // The network's own head on the validation split (eval mode); in a user's loop with its own --metric, that metric
  // as the search compares it: higher is better (negated for --direction minimize).
  double original = kNaN;
  double refit = kNaN;           // one head re-fit on this epoch's train features
  double fh = kNaN;              // the paper's ensemble of the last K re-fit heads
  double fh_paper = kNaN;        // the same with the paper-faithful re-fit
  // window_acc[k-1]: accuracy of the mean of the last k re-fit heads, k = 1..min(epoch, K).
  std::vector<double> window_acc;
  // The same ensembles' validation cross-entropy and mean true-class probability; the network's own cross-entropy.
  std::vector<double> window_nll, window_soft;
  double original_nll = kNaN;
};

struct TrialHistory {
  std::vector<EpochMeasures> epochs;  // epochs 1..t in order
  std::int64_t final_epoch = 0;       // the schedule's last epoch (a search's max budget): what is predicted
  double params = kNaN;               // parameter count of the network
  std::int64_t num_classes = 0;       // classes of the task (0 = unknown): ln(C) is the loss of a uniform guess
  // false where `original` holds a user's own --metric, not an accuracy: curve and acc-tse, which need an accuracy
  // in [0, 1], are NaN then.
  bool original_is_accuracy = true;
};

struct EstimatorInfo {
  std::string name;
  // true: an estimate of the final validation/test accuracy (a fraction, comparable across spaces and with the
  // network's accuracy); false: a ranking score only (higher is better, no unit).
  bool is_accuracy = false;
  std::string description;
};

class Estimator {
 public:
  virtual ~Estimator() = default;
  // The score after the history's last epoch; higher is better. NaN where it cannot be computed (e.g. fh on a
  // journal written without feature estimates). Throws InputError on an empty history.
  virtual double score(const TrialHistory& history) const = 0;
  virtual const EstimatorInfo& info() const = 0;
};

// By name: original, best-acc, acc-tse (lambda = 0.1; "acc-tse:LAMBDA" for another LAMBDA >= 0), refit, fh,
// fh-paper, fh-half, curve, val-loss, fh-loss, tse, tse-e (E = 1; "tse-e:E" for another E >= 1), tse-ema (mu = 0.9;
// "tse-ema:MU" for another 0 < MU <= 1), params. Throws InputError naming the known ones.
std::unique_ptr<Estimator> make_estimator(const std::string& name);
// "auto" (not in the registry): a search's promotions rank each rung by the candidate whose scores at that budget
// have best predicted the next rung's validation accuracy in the study so far (sched::ScoreEvidence); where the
// study has too little evidence, and for a trial's own recorded score, the first candidate (tse-ema) ranks.
// make_estimator("auto") is that fallback, named "auto".
inline const char* const kAdaptive = "auto";
const std::vector<std::string>& adaptive_candidates();
// "A+B", a hedged ranking: A's score is the trial's (top-k-auto's gate and BOHB's model read it), and a search's
// synchronous promotions take their places in turn from A's ranking and B's (sched::SchedulerOptions::hedge): top-K's
// three finalists are each ranking's best, then the next of the one whose finalist did better at the full budget
// (decision record 0021). make_estimator("A+B") scores as A, named "A+B". The pair {A, B};
// nullopt for a name without '+'.
std::optional<std::pair<std::string, std::string>> hedge_pair(const std::string& name);

// The registry in order, with the default parameters.
const std::vector<EstimatorInfo>& estimators();
std::vector<std::string> estimator_names();

// The number of classes of a --data spec whose name fixes it (fashion-mnist, mnist, cifar10: 10; cifar100: 100), else 0.
// For journals written before epoch rows recorded num_classes.
std::int64_t known_num_classes(const std::string& data_spec);

// Every registry estimator's score after the history's last epoch (NaN where not computable).
std::map<std::string, double> score_all(const TrialHistory& history);

// A number field of a journal record; NaN where it is missing, null or not a number.
double record_number(const nlohmann::json& record, const char* key);
// An epoch's measurements in a journal row, one codec for every writer (fhist's trainer, a user's loop) and reader
// (scores, resume, report, export). Keys, in export order: train_loss, original_val_acc, refit_val_acc, fh_val_acc
// (the fh estimator's accuracy), fh_paper_val_acc, original_nll; then window_acc, window_nll, window_soft (arrays,
// written when not empty). Rows written before fh_val_acc was named so hold "estimate" and "estimate_paper": read
// as the same. NaN is written as null; null or missing reads as NaN. A row of a search with its own --metric also
// holds "metric_value" (and "minimize": true): `original` is that value, negated to minimize.
const std::vector<std::string>& measure_keys();  // the scalar keys above, in order
nlohmann::json measures_to_json(const EpochMeasures& m);
// measure_keys()' key of `record`, under its older name where the row predates it (fh_val_acc: "estimate").
double measure_number(const nlohmann::json& record, const std::string& key);
EpochMeasures measures_from_json(std::int64_t epoch, const nlohmann::json& record);
// Marks `row` as a study's own --metric, as measures_from_json reads it: the value as measured ("metric_value", null
// where not finite) and, when smaller is better, "minimize": true.
void set_metric_value(nlohmann::json& row, double value, bool minimize);
// Appends one epoch record to `h`: its measurements, and the trial's params and num_classes where the record holds
// them (journals written before num_classes was recorded keep the value `h` had).
void append_epoch(TrialHistory& h, std::int64_t epoch, const nlohmann::json& record);

}  // namespace fhist::score
