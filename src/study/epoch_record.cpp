#include "study/epoch_record.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/errors.hpp"
#include "core/text.hpp"
#include "study/study.hpp"

namespace fhist::study {

void EpochRecord::validate() const {
  if (epoch < 1) throw InputError(fmt::format("an epoch record's epoch must be >= 1 (got {})", epoch));
  if (val_acc && std::isfinite(*val_acc) && (*val_acc < 0.0 || *val_acc > 1.0)) {
    throw InputError(fmt::format("epoch {}: \"val_acc\" must be a fraction in [0, 1] (got {}; a percentage? divide "
                                 "by 100)",
                                 epoch, *val_acc));
  }
  if (num_classes && *num_classes < 2) {
    throw InputError(fmt::format("epoch {}: \"num_classes\" must be a whole number >= 2 (got {})", epoch,
                                 *num_classes));
  }
  if (seconds && !(*seconds >= 0.0)) {
    throw InputError(fmt::format("epoch {}: \"seconds\" must be a number >= 0 (got {})", epoch, *seconds));
  }
  if (!metrics.is_object()) {
    throw InputError(fmt::format("epoch {}: the user metrics must be a JSON object (got {})", epoch, metrics.dump()));
  }
}

void EpochRecord::check_has(const std::vector<std::string>& keys, const std::string& estimator) const {
  for (const auto& key : keys) {
    const bool has = key == "train_loss" ? train_loss.has_value()
                     : key == "val_acc"  ? val_acc.has_value()
                     : key == "val_loss" ? val_loss.has_value()
                     : key == "params"   ? params.has_value()
                                         : true;
    if (has) continue;
    throw InputError(fmt::format("epoch {}'s record has no \"{}\", which {}", epoch, key,
                                 key == "val_acc" ? "every epoch record needs (the incumbent and the report read it)"
                                                  : "--estimator " + estimator + " ranks by"));
  }
}

std::vector<std::string> keys_needed(const std::string& estimator) {
  const auto base = estimator.substr(0, estimator.find(':'));
  std::vector<std::string> keys = {"val_acc"};
  if (base == "tse" || base == "tse-e" || base == "tse-ema" || base == "tse-ema-paper" || base == "acc-tse" ||
      base == score::kAdaptive) {
    keys.push_back("train_loss");
  } else if (base == "val-loss") {
    keys.push_back("val_loss");
  } else if (base == "params") {
    keys.push_back("params");
  } else if (base != "original" && base != "best-acc" && base != "curve") {
    throw InputError(fmt::format("--estimator {} needs the network's features, which your own loop does not report: "
                                 "use one of original, best-acc, acc-tse, curve, val-loss, tse, tse-e, tse-ema, "
                                 "tse-ema-paper, params, auto (fhist estimate --features scores saved features offline)",
                                 estimator));
  }
  return keys;
}

nlohmann::json epoch_row(const EpochRecord& r, score::TrialHistory& history, double seconds) {
  auto num = [](const std::optional<double>& v) { return v ? json_number(*v) : nlohmann::json(nullptr); };
  nlohmann::json row = {{"train_loss", num(r.train_loss)},   {"original_val_acc", num(r.val_acc)},
                        {"original_nll", num(r.val_loss)},   {"params", num(r.params)},
                        {"seconds", r.seconds ? *r.seconds : seconds}};
  if (!r.metrics.empty()) row["metrics"] = r.metrics;
  if (r.num_classes) row["num_classes"] = *r.num_classes;  // as fhist's trainer records it
  score::append_epoch(history, r.epoch, row);
  nlohmann::json scores = nlohmann::json::object();
  for (const auto& [name, v] : score::score_all(history)) scores[name] = json_number(v);
  row["scores"] = scores;
  return row;
}

void score_outcome(exec::Outcome& r, const score::TrialHistory& history, const score::Estimator& estimator,
                   const std::string& name) {
  r.original_val_acc = history.epochs.back().original;
  r.score = estimator.score(history);
  r.state = "complete";
  if (!std::isfinite(r.score)) {
    r.state = "diverged";
    r.score = -std::numeric_limits<double>::infinity();
    r.message = fmt::format("the {} score is not finite after {}", name, count_of(r.budget_epochs, "epoch"));
  }
}

}  // namespace fhist::study
