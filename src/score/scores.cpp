#include "score/scores.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>

#include "core/errors.hpp"
#include "score/curve.hpp"

namespace fhist::score {

namespace {

const EpochMeasures& last(const TrialHistory& h) {
  if (h.epochs.empty()) throw InputError("cannot score a trial that has not finished an epoch");
  return h.epochs.back();
}

// A budget-following window: the last ceil(t/2) heads at epoch t (at most the K recorded), so that the heads of the
// first, still poor epochs leave the ensemble as training goes on.
double fh_half(const TrialHistory& h) {
  const auto& e = last(h);
  if (e.window_acc.empty()) return kNaN;
  const auto want = static_cast<std::size_t>((e.epoch + 1) / 2);
  return e.window_acc[std::min(std::max<std::size_t>(want, 1), e.window_acc.size()) - 1];
}

double tse_e(const TrialHistory& h, int e_last) {
  last(h);
  double sum = 0.0;
  const auto n = h.epochs.size();
  for (std::size_t i = n - std::min<std::size_t>(n, static_cast<std::size_t>(e_last)); i < n; ++i) {
    sum += h.epochs[i].train_loss;
  }
  return -sum;
}

// TSE-EMA as Ru et al.'s paper defines it: a discounted sum of the epochs' training losses, sum_e gamma^(t-e) L_e.
// Their released code computes a moving average instead (tse_ema below, ema = 0.1 ema + 0.9 loss), which is nearly
// the latest loss alone; both are offered, under distinct names.
double tse_discounted(const TrialHistory& h, double gamma) {
  double sum = 0;
  for (const auto& e : h.epochs) sum = gamma * sum + e.train_loss;
  return -sum;
}

double tse_ema(const TrialHistory& h, double mu) {
  last(h);
  double ema = h.epochs.front().train_loss;
  for (std::size_t i = 1; i < h.epochs.size(); ++i) ema = (1.0 - mu) * ema + mu * h.epochs[i].train_loss;
  return -ema;
}

double best_acc(const TrialHistory& h) {
  last(h);
  double best = kNaN;
  for (const auto& e : h.epochs) {
    if (std::isfinite(e.original) && !(e.original <= best)) best = e.original;
  }
  return best;
}

// The best validation accuracy so far, raised by lambda x (the fraction of the schedule still to run) per nat the
// training loss has fallen below a uniform guess's ln(C). The training loss is what ranks trials best early (tse-e
// in docs/results.md); the accuracy keeps the value an accuracy, and the remaining fraction lets the raise vanish at
// the full budget, where the measured accuracy is the answer. lambda = 0.1 and the form were chosen on the hparams
// and aug-wd tables (docs/decisions/0004).
double acc_tse(const TrialHistory& h, double lambda) {
  const double acc = best_acc(h);
  if (!h.original_is_accuracy || h.num_classes < 2 || !std::isfinite(acc) ||
      !std::isfinite(h.epochs.back().train_loss)) {
    return kNaN;
  }
  const double learned = std::max(0.0, std::log(static_cast<double>(h.num_classes)) - h.epochs.back().train_loss);
  const auto t = static_cast<double>(h.epochs.back().epoch);
  const double remaining = h.final_epoch > 0 ? std::clamp(1.0 - t / static_cast<double>(h.final_epoch), 0.0, 1.0) : 0.0;
  return std::min(1.0, acc + lambda * remaining * learned);
}

double curve_score(const TrialHistory& h) {
  if (!h.original_is_accuracy) return kNaN;
  std::vector<double> acc;
  for (const auto& e : h.epochs) {
    if (!std::isfinite(e.original)) return kNaN;
    acc.push_back(std::clamp(e.original, 0.0, 1.0));
  }
  if (acc.empty()) throw InputError("cannot score a trial that has not finished an epoch");
  // At the full budget there is nothing to extrapolate: the measured accuracy, not the fit's value there.
  if (static_cast<std::int64_t>(acc.size()) >= h.final_epoch) return acc.back();
  return curve::extrapolate(acc, h.final_epoch);
}

class FnEstimator : public Estimator {
 public:
  FnEstimator(EstimatorInfo info, std::function<double(const TrialHistory&)> fn)
      : info_(std::move(info)), fn_(std::move(fn)) {}
  double score(const TrialHistory& h) const override { return fn_(h); }
  const EstimatorInfo& info() const override { return info_; }

 private:
  EstimatorInfo info_;
  std::function<double(const TrialHistory&)> fn_;
};

struct Entry {
  EstimatorInfo info;
  std::function<double(const TrialHistory&)> fn;
};

const std::vector<Entry>& registry() {
  static const std::vector<Entry> r = {
      {{"original", true, "the network's own validation accuracy at the latest epoch"},
       [](const TrialHistory& h) { return last(h).original; }},
      {{"best-acc", true, "the network's best validation accuracy so far (the running maximum of original)"},
       best_acc},
      {{"acc-tse", true,
        "best-acc + 0.1 x (1 - t/T) x (ln C - training loss): the best accuracy so far, raised by the nats learned while "
        "the schedule has epochs left (acc-tse:LAMBDA)"},
       [](const TrialHistory& h) { return acc_tse(h, 0.1); }},
      {{"refit", true, "one linear head re-fit on the latest epoch's train features"},
       [](const TrialHistory& h) { return last(h).refit; }},
      {{"fh", true, "the paper's feature-history ensemble of the last K re-fit heads"},
       [](const TrialHistory& h) { return last(h).fh; }},
      {{"fh-paper", true, "fh with the paper-faithful re-fit (autograd + SGD, Appendix A.1)"},
       [](const TrialHistory& h) { return last(h).fh_paper; }},
      {{"fh-half", true, "fh over the last ceil(t/2) epochs at epoch t (at most K): a window that follows the budget"},
       fh_half},
      {{"curve", true, "learning-curve extrapolation of the original accuracy to the final epoch (median of 9 fits)"},
       curve_score},
      {{"val-loss", false, "minus the network's validation cross-entropy at the latest epoch"},
       [](const TrialHistory& h) { return -last(h).original_nll; }},
      {{"fh-loss", false, "minus the validation cross-entropy of the fh ensemble (the last K re-fit heads)"},
       [](const TrialHistory& h) { return last(h).window_nll.empty() ? kNaN : -last(h).window_nll.back(); }},
      {{"tse", false, "minus the sum of all epochs' training losses (Ru et al. 2021)"},
       [](const TrialHistory& h) { return tse_e(h, std::numeric_limits<int>::max()); }},
      {{"tse-e", false, "minus the sum of the last E epochs' training losses, E = 1 (tse-e:E for another E)"},
       [](const TrialHistory& h) { return tse_e(h, 1); }},
      {{"tse-ema", false,
        "minus the moving average of training losses, ema = 0.1 ema + 0.9 loss, as Ru et al.'s released code "
        "(tse-ema:MU)"},
       [](const TrialHistory& h) { return tse_ema(h, 0.9); }},
      {{"tse-ema-paper", false,
        "minus the discounted sum of training losses, sum over epochs e of 0.9^(t-e) L_e: TSE-EMA as Ru et al.'s "
        "paper defines it (tse-ema-paper:GAMMA)"},
       [](const TrialHistory& h) { return tse_discounted(h, 0.9); }},
      {{"params", false, "the network's parameter count (zero-cost baseline for spaces that change the network)"},
       [](const TrialHistory& h) { return h.params; }},
  };
  return r;
}

[[noreturn]] void unknown(const std::string& name) {
  throw InputError(fmt::format("unknown estimator '{}': expected one of {} (tse-e:E, tse-ema:MU, tse-ema-paper:GAMMA and acc-tse:LAMBDA take a parameter)",
                               name, fmt::join(estimator_names(), ", ")));
}

double parse_number(const std::string& name, const std::string& text) {
  try {
    std::size_t used = 0;
    const double v = std::stod(text, &used);
    if (used == text.size()) return v;
  } catch (const std::exception&) {
  }
  throw InputError(fmt::format("estimator '{}': '{}' is not a number", name, text));
}

}  // namespace

const std::vector<EstimatorInfo>& estimators() {
  static const std::vector<EstimatorInfo> infos = [] {
    std::vector<EstimatorInfo> v;
    for (const auto& e : registry()) v.push_back(e.info);
    return v;
  }();
  return infos;
}

std::vector<std::string> estimator_names() {
  std::vector<std::string> names;
  for (const auto& e : registry()) names.push_back(e.info.name);
  return names;
}

const std::vector<std::string>& adaptive_candidates() {
  static const std::vector<std::string> names = {"tse-ema", "tse", "acc-tse", "fh", "original"};
  return names;
}

std::optional<std::pair<std::string, std::string>> hedge_pair(const std::string& name) {
  const auto plus = name.find('+');
  if (plus == std::string::npos) return std::nullopt;
  return std::make_pair(name.substr(0, plus), name.substr(plus + 1));
}

std::unique_ptr<Estimator> make_estimator(const std::string& name) {
  if (const auto pair = hedge_pair(name)) {
    const auto& [a, b] = *pair;
    for (const auto& part : {a, b}) {
      if (part.empty() || part == kAdaptive || part.find('+') != std::string::npos) {
        throw InputError(fmt::format(
            "estimator '{}': a hedged ranking is two estimators joined by '+' (e.g. tse-ema+fh), neither of them auto",
            name));
      }
    }
    std::shared_ptr<const Estimator> first = make_estimator(a);
    make_estimator(b);  // checks B's name
    return std::make_unique<FnEstimator>(
        EstimatorInfo{name, first->info().is_accuracy,
                      fmt::format("ranked by {}; every promotion takes its places in turn from {}'s ranking and {}'s, "
                                  "the first pick to the one whose promoted trials have done best at the full budget",
                                  a, a, b)},
        [first](const TrialHistory& h) { return first->score(h); });
  }
  if (name == kAdaptive) {
    return std::make_unique<FnEstimator>(
        EstimatorInfo{name, false,
                      "each rung ranked by whichever of tse-ema, tse, acc-tse, fh, original best predicted the next "
                      "rung so far in this search (tse-ema until there is evidence)"},
        [](const TrialHistory& h) { return tse_ema(h, 0.9); });
  }
  const auto colon = name.find(':');
  if (colon != std::string::npos) {
    const std::string base = name.substr(0, colon), arg = name.substr(colon + 1);
    if (base == "tse-e") {
      const double e = parse_number(name, arg);
      if (!(e >= 1) || e != std::floor(e) || e > 1e6) {
        throw InputError(fmt::format("estimator '{}': E must be a whole number of epochs >= 1", name));
      }
      return std::make_unique<FnEstimator>(
          EstimatorInfo{name, false, fmt::format("minus the sum of the last {} epochs' training losses", e)},
          [e](const TrialHistory& h) { return tse_e(h, static_cast<int>(e)); });
    }
    if (base == "tse-ema") {
      const double mu = parse_number(name, arg);
      if (!(mu > 0 && mu <= 1)) throw InputError(fmt::format("estimator '{}': MU must be in (0, 1]", name));
      return std::make_unique<FnEstimator>(
          EstimatorInfo{name, false, fmt::format("minus the moving average of training losses, mu = {}", mu)},
          [mu](const TrialHistory& h) { return tse_ema(h, mu); });
    }
    if (base == "tse-ema-paper") {
      const double gamma = parse_number(name, arg);
      if (!(gamma >= 0 && gamma <= 1)) throw InputError(fmt::format("estimator '{}': GAMMA must be in [0, 1]", name));
      return std::make_unique<FnEstimator>(
          EstimatorInfo{name, false, fmt::format("minus the discounted sum of training losses, gamma = {}", gamma)},
          [gamma](const TrialHistory& h) { return tse_discounted(h, gamma); });
    }
    if (base == "acc-tse") {
      const double lambda = parse_number(name, arg);
      if (!(lambda >= 0 && lambda <= 1)) throw InputError(fmt::format("estimator '{}': LAMBDA must be in [0, 1]", name));
      return std::make_unique<FnEstimator>(
          EstimatorInfo{name, true, fmt::format("best-acc + {} x (1 - t/T) x (ln C - training loss)", lambda)},
          [lambda](const TrialHistory& h) { return acc_tse(h, lambda); });
    }
    unknown(name);
  }
  for (const auto& e : registry()) {
    if (e.info.name == name) return std::make_unique<FnEstimator>(e.info, e.fn);
  }
  unknown(name);
}

void append_epoch(TrialHistory& h, std::int64_t epoch, const nlohmann::json& record) {
  h.epochs.push_back(measures_from_json(epoch, record));
  if (!record.is_object()) return;
  if (record.contains("metric_value")) h.original_is_accuracy = false;
  const auto params = record.find("params");
  if (params != record.end() && params->is_number()) h.params = params->get<double>();
  const auto classes = record.find("num_classes");
  if (classes != record.end() && classes->is_number()) h.num_classes = classes->get<std::int64_t>();
}

std::int64_t known_num_classes(const std::string& data_spec) {
  const auto name = data_spec.substr(0, data_spec.find(':'));
  if (name == "fashion-mnist" || name == "mnist" || name == "cifar10") return 10;
  if (name == "cifar100") return 100;
  return 0;
}

std::map<std::string, double> score_all(const TrialHistory& h) {
  std::map<std::string, double> out;
  for (const auto& e : registry()) {
    const double v = e.fn(h);
    out[e.info.name] = std::isfinite(v) ? v : kNaN;
  }
  return out;
}

double record_number(const nlohmann::json& record, const char* key) {
  const auto it = record.find(key);
  return it != record.end() && it->is_number() ? it->get<double>() : kNaN;
}

const std::vector<std::string>& measure_keys() {
  static const std::vector<std::string> keys = {"train_loss",       "original_val_acc", "refit_val_acc",
                                                "fh_val_acc",       "fh_paper_val_acc", "original_nll"};
  return keys;
}

double measure_number(const nlohmann::json& record, const std::string& key) {
  if (record.contains(key)) return record_number(record, key.c_str());
  if (key == "fh_val_acc") return record_number(record, "estimate");
  if (key == "fh_paper_val_acc") return record_number(record, "estimate_paper");
  return kNaN;
}

namespace {
// What a journal stores for a measure: the number, or null where it is NaN or infinite.
nlohmann::json finite_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }
}  // namespace

nlohmann::json measures_to_json(const EpochMeasures& m) {
  const auto num = finite_or_null;
  const double values[] = {m.train_loss, m.original, m.refit, m.fh, m.fh_paper, m.original_nll};
  nlohmann::json row = nlohmann::json::object();
  for (std::size_t i = 0; i < measure_keys().size(); ++i) row[measure_keys()[i]] = num(values[i]);
  for (auto [key, series] : {std::pair<const char*, const std::vector<double>*>{"window_acc", &m.window_acc},
                             {"window_nll", &m.window_nll}, {"window_soft", &m.window_soft}}) {
    if (series->empty()) continue;
    nlohmann::json a = nlohmann::json::array();
    for (double v : *series) a.push_back(num(v));
    row[key] = a;
  }
  return row;
}

void set_metric_value(nlohmann::json& row, double value, bool minimize) {
  row["metric_value"] = finite_or_null(value);
  if (minimize) row["minimize"] = true;
}

EpochMeasures measures_from_json(std::int64_t epoch, const nlohmann::json& r) {
  auto num = [&](const char* key) { return record_number(r, key); };
  EpochMeasures m;
  m.epoch = epoch;
  m.train_loss = num("train_loss");
  if (r.is_object() && r.contains("metric_value")) {
    m.original = num("metric_value") * (r.value("minimize", false) ? -1.0 : 1.0);
  } else {
    m.original = num("original_val_acc");
  }
  m.refit = num("refit_val_acc");
  m.fh = measure_number(r, "fh_val_acc");
  m.fh_paper = measure_number(r, "fh_paper_val_acc");
  m.original_nll = num("original_nll");
  for (auto [key, out] : {std::pair<const char*, std::vector<double>*>{"window_acc", &m.window_acc},
                          {"window_nll", &m.window_nll}, {"window_soft", &m.window_soft}}) {
    const auto it = r.find(key);
    if (it == r.end() || !it->is_array()) continue;
    for (const auto& v : *it) out->push_back(v.is_number() ? v.get<double>() : kNaN);
  }
  return m;
}

}  // namespace fhist::score
