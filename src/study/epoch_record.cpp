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

std::optional<double> EpochRecord::value_of(const std::string& metric) const {
  if (metric == "val_acc") return val_acc;
  if (metric == "val_loss") return val_loss;
  if (metric == "train_loss") return train_loss;
  if (metric == "params") return params;
  const auto it = metrics.is_object() ? metrics.find(metric) : metrics.end();
  if (!metrics.is_object() || it == metrics.end()) return std::nullopt;
  if (it->is_null()) return std::numeric_limits<double>::quiet_NaN();
  if (!it->is_number()) {
    throw InputError(fmt::format("epoch {}: \"{}\" must be a number, the metric the search compares trials by (got "
                                 "{})",
                                 epoch, metric, it->dump()));
  }
  return it->get<double>();
}

void EpochRecord::check_has(const std::vector<std::string>& keys, const std::string& estimator) const {
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (value_of(keys[i])) continue;
    throw InputError(fmt::format("epoch {}'s record has no \"{}\", which {}", epoch, keys[i],
                                 i == 0 ? "every epoch record needs (the search compares trials by it: --metric "
                                              "names it, val_acc by default)"
                                        : "--estimator " + estimator + " ranks by"));
  }
}

std::vector<std::string> keys_needed(const std::string& estimator, const std::string& metric) {
  if (const auto pair = score::hedge_pair(estimator)) {
    auto keys = keys_needed(pair->first, metric);
    for (const auto& k : keys_needed(pair->second, metric))
      if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
    return keys;
  }
  const auto base = estimator.substr(0, estimator.find(':'));
  std::vector<std::string> keys = {metric};
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

nlohmann::json epoch_row(const EpochRecord& r, score::TrialHistory& history, double seconds,
                         const std::string& metric, bool minimize) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  score::EpochMeasures m;
  m.train_loss = r.train_loss.value_or(nan);
  m.original = r.val_acc.value_or(nan);
  m.original_nll = r.val_loss.value_or(nan);
  auto row = score::measures_to_json(m);
  row["params"] = r.params ? json_number(*r.params) : nlohmann::json(nullptr);
  row["seconds"] = r.seconds ? *r.seconds : seconds;
  if (!r.metrics.empty()) row["metrics"] = r.metrics;
  if (r.num_classes) row["num_classes"] = *r.num_classes;  // as fhist's trainer records it
  if (metric != "val_acc") {
    score::set_metric_value(row, r.value_of(metric).value_or(std::numeric_limits<double>::quiet_NaN()), minimize);
  }
  score::append_epoch(history, r.epoch, row);
  nlohmann::json scores = nlohmann::json::object();
  for (const auto& [name, v] : score::score_all(history)) scores[name] = json_number(v);
  row["scores"] = scores;
  return row;
}

void score_outcome(exec::Outcome& r, const score::TrialHistory& history, const score::Estimator& estimator,
                   const std::string& name) {
  r.value = history.epochs.back().original;
  r.score = estimator.score(history);
  r.state = sched::TrialState::kComplete;
  if (!std::isfinite(r.score)) {
    r.state = sched::TrialState::kDiverged;
    r.score = -std::numeric_limits<double>::infinity();
    r.message = fmt::format("the {} score is not finite after {}", name, count_of(r.budget_epochs, "epoch"));
  }
}

}  // namespace fhist::study
