// A study's options: validation, their JSON form in the journal, and the small helpers every module reads them with.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "core/errors.hpp"
#include "score/scores.hpp"
#include "space/augment.hpp"
#include "store/trial_store.hpp"
#include "study/study.hpp"

namespace fhist::study {

nlohmann::json json_number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

std::vector<std::string> device_list(const std::string& devices) {
  std::vector<std::string> out;
  std::size_t begin = 0;
  while (true) {
    const auto comma = devices.find(',', begin);
    out.push_back(devices.substr(begin, comma == std::string::npos ? std::string::npos : comma - begin));
    if (out.back().empty()) {
      throw InputError(fmt::format("--device '{}': empty entry in the device list (expected e.g. cuda:0,cuda:1)",
                                   devices));
    }
    if (comma == std::string::npos) return out;
    begin = comma + 1;
  }
}

double metric_value(const StudyOptions& o, double value) { return o.minimize() ? -value : value; }

std::string metric_name(const StudyOptions& o) {
  return o.metric == "val_acc" ? std::string("validation accuracy") : o.metric;
}

std::string score_name(const StudyOptions& o) {
  const auto pair = score::hedge_pair(o.estimator);
  return pair ? pair->first : o.estimator;
}

std::string metric_text(const StudyOptions& o, double value) {
  if (o.metric == "val_acc") return fmt::format("{:.2f}%", 100.0 * value);
  return fmt::format("{} {:.4g}", o.metric, metric_value(o, value));
}

std::string size_text(std::int64_t n) { return n > 0 ? std::to_string(n) : "auto"; }

std::string objective_text(const StudyOptions& o) {
  if (o.objective == "command") {
    return fmt::format("command '{}'", o.objective_options.is_object()
                                           ? o.objective_options.value("command", std::string())
                                           : std::string());
  }
  if (o.objective == "ask-tell") return "your own loop (ask and tell)";
  if (o.objective == "custom") {
    const auto name = o.objective_options.is_object() ? o.objective_options.value("name", std::string()) : "";
    return name.empty() ? std::string("your own objective (C++)") : fmt::format("your objective '{}'", name);
  }
  const auto& t = o.training;
  return fmt::format("{} on {} ({} train / {} val)", t.model, t.data, size_text(t.train_size), size_text(t.val_size));
}

void clear_trial_dir(const std::string& journal, std::int64_t trial) {
  std::error_code ec;
  const std::filesystem::path dir = trial_dir(journal, trial);
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const auto name = it->path().filename().string();
    if (name == "log.txt" || name == "metrics.jsonl" || name == "job.json") continue;
    std::error_code rm;
    std::filesystem::remove_all(it->path(), rm);
  }
}

std::string trial_dir(const std::string& journal, std::int64_t trial) {
  return fmt::format("{}.trials/trial_{:05d}", journal, trial);
}

std::string StudyOptions::default_estimator() const {
  const bool features = objective == "train" || objective == "table";
  const bool top_k = algo == "top-k" || algo == "top-k-auto";  // where the hedge was measured to help (0019)
  return features && top_k && metric == "val_acc" ? "tse-ema+fh" : "tse-ema";
}

void StudyOptions::resolve_defaults() {
  if (estimator.empty()) estimator = default_estimator();
}

void StudyOptions::validate() const {
  if (estimator.empty()) {
    auto resolved = *this;
    resolved.resolve_defaults();
    return resolved.validate();
  }
  const std::vector<std::string> executors = {"auto", "inline", "thread", "mpi"};
  if (std::find(executors.begin(), executors.end(), executor) == executors.end()) {
    throw InputError(fmt::format("--executor '{}': expected one of {}", executor, fmt::join(executors, ", ")));
  }
  const auto& algos = sched::algorithm_names();
  if (std::find(algos.begin(), algos.end(), algo) == algos.end()) {
    throw InputError(fmt::format("--algo '{}': expected one of {}", algo, fmt::join(algos, ", ")));
  }
  try {
    score::make_estimator(estimator);
  } catch (const InputError& e) {
    throw InputError(fmt::format("--estimator: {}", e.what()));
  }
  if ((estimator == score::kAdaptive || score::hedge_pair(estimator)) && algo == "asha") {
    throw InputError(
        fmt::format("--estimator {} ranks each rung once all of its results are in, which ASHA never "
                    "waits for: use --algo sh, hyperband, bohb, dehb or top-k, or another --estimator",
                    estimator));
  }
  if (objective != "train" && objective != "table" && objective != "command" && objective != "ask-tell" &&
      objective != "custom") {
    throw InputError(fmt::format("--objective '{}': expected train, table or command (ask-tell and custom: the C++ "
                                 "API's)",
                                 objective));
  }
  validate_metric();
  if (workers < 1) throw InputError(fmt::format("--workers must be >= 1 (got {})", workers));
  device_list(device);
  sched::hyperband_plan(sched.min_budget, sched.max_budget, sched.eta);  // validates the budgets
  if (trains()) training.validate();
}

void TrainingOptions::validate() const {
  if (window < 1) throw InputError(fmt::format("--window must be >= 1 (got {})", window));
  if (sync_every < 0) throw InputError(fmt::format("--sync-every must be >= 0 (got {})", sync_every));
  if (train_size < 0) throw InputError(fmt::format("--train-size must be >= 0 (0 = auto; got {})", train_size));
  if (val_size < 0) throw InputError(fmt::format("--val-size must be >= 0 (0 = auto; got {})", val_size));
  space::AugmentOptions::parse(space::resolve_augment(augment, data));
}

void StudyOptions::validate_metric() const {
  const bool own_loop = objective == "command" || objective == "ask-tell" || objective == "custom";
  if (metric.empty() || metric.find_first_of(" \t\n\"") != std::string::npos) {
    throw InputError(fmt::format("--metric '{}': expected the name of a number your loop reports per epoch (val_acc, "
                                 "val_loss, or a key of its own metrics such as val_mse)",
                                 metric));
  }
  if (metric != "val_acc" && !own_loop && !(objective == "train" && metric == "val_loss" && table.empty())) {
    throw InputError(fmt::format("--metric {}: fhist's trainer measures val_acc and val_loss (its tables and replays "
                                 "val_acc only); another metric is for your own loop (--objective command, or "
                                 "ask-and-tell from Python or C++)",
                                 metric));
  }
  if (metric == "train_loss" || metric == "params" || metric == "seconds" || metric == "epoch" ||
      metric == "num_classes") {
    throw InputError(fmt::format("--metric {}: that is not a measure of the trained network on held-out data; "
                                 "report one (val_loss, or your own key such as val_mse) and name it",
                                 metric));
  }
  if (!direction.empty() && direction != "maximize" && direction != "minimize") {
    throw InputError(fmt::format("--direction '{}': expected maximize or minimize", direction));
  }
  if (direction.empty() && metric != "val_acc") {
    throw InputError(fmt::format("--metric {}: say whether a better model has a larger or a smaller {} (--direction "
                                 "maximize or --direction minimize)",
                                 metric, metric));
  }
  if (metric == "val_acc" && minimize()) {
    throw InputError("--metric val_acc --direction minimize: validation accuracy is maximized (leave --direction "
                     "out, or name the metric you minimize, e.g. --metric val_loss --direction minimize)");
  }
  if (metric != "val_acc" && (estimator.rfind("acc-tse", 0) == 0 || estimator == "curve")) {
    throw InputError(fmt::format("--estimator {} needs an accuracy in [0, 1]; with --metric {} use tse-ema, tse-e, "
                                 "tse, original, best-acc, val-loss or auto",
                                 estimator, metric));
  }
}

nlohmann::json TrainingOptions::to_json() const {
  return {{"data", data},
          {"data_options", data_options},
          {"model", model},
          {"width_mult", width_mult},
          {"train_size", train_size},
          {"val_size", val_size},
          {"augment", augment},
          {"lr", lr},
          {"weight_decay", weight_decay},
          {"batch_size", batch_size},
          {"channels", channels},
          {"cells", cells},
          {"auxiliary", auxiliary},
          {"flops_cap", flops_cap},
          {"test_accuracy", test_accuracy},
          {"window", window},
          {"bf16", bf16},
          {"channels_last", channels_last},
          {"sync_every", sync_every}};
}

TrainingOptions TrainingOptions::from_json(const nlohmann::json& j) {
  TrainingOptions t;
  t.data = j.at("data").get<std::string>();
  t.model = j.at("model").get<std::string>();
  t.width_mult = j.at("width_mult").get<double>();
  t.train_size = j.at("train_size").get<std::int64_t>();
  t.val_size = j.at("val_size").get<std::int64_t>();
  t.augment = j.at("augment").get<std::string>();
  t.lr = j.at("lr").get<double>();
  t.weight_decay = j.at("weight_decay").get<double>();
  t.batch_size = j.at("batch_size").get<std::int64_t>();
  t.channels = j.at("channels").get<std::int64_t>();
  t.cells = j.at("cells").get<std::int64_t>();
  t.auxiliary = j.at("auxiliary").get<bool>();
  t.flops_cap = j.at("flops_cap").get<std::string>();
  t.window = j.at("window").get<int>();
  t.bf16 = j.at("bf16").get<bool>();
  t.channels_last = j.at("channels_last").get<bool>();
  // Keys added after the first journals.
  t.test_accuracy = j.value("test_accuracy", false);
  t.data_options = j.value("data_options", nlohmann::json::object());
  t.sync_every = j.value("sync_every", std::int64_t{0});
  return t;
}

nlohmann::json StudyOptions::to_json() const {
  nlohmann::json j = {{"space", space},
                      {"algo", algo},
                      {"estimator", estimator},
                      {"metric", metric},
                      {"direction", direction.empty() ? std::string("maximize") : direction},
                      {"min_budget", sched.min_budget},
                      {"max_budget", sched.max_budget},
                      {"eta", sched.eta},
                      {"n_configs", sched.n_configs},
                      {"iterations", sched.iterations},
                      {"top_k", sched.top_k},
                      {"seed", seed},
                      {"table", table},
                      {"objective", objective},
                      {"objective_options", objective_options},
                      {"keep_checkpoints", keep_checkpoints},
                      {"device", device},
                      {"workers", workers},
                      {"threads", threads}};
  if (trains()) j["training"] = training.to_json();
  return j;
}

StudyOptions StudyOptions::from_json(const nlohmann::json& j) {
  StudyOptions o;
  try {
    o.space = j.at("space").get<std::string>();
    o.algo = j.at("algo").get<std::string>();
    o.estimator = j.at("estimator").get<std::string>();
    o.sched.min_budget = j.at("min_budget").get<std::int64_t>();
    o.sched.max_budget = j.at("max_budget").get<std::int64_t>();
    o.sched.eta = j.at("eta").get<int>();
    o.sched.n_configs = j.at("n_configs").get<std::int64_t>();
    o.sched.iterations = j.at("iterations").get<int>();
    o.sched.top_k = j.value("top_k", 3);  // journals written before top-k existed
    o.seed = j.at("seed").get<std::uint64_t>();
    o.keep_checkpoints = j.at("keep_checkpoints").get<bool>();
    o.device = j.at("device").get<std::string>();
    o.threads = j.at("threads").get<int>();
    o.workers = j.value("workers", 1);  // journals written before --workers existed
    o.table = j.value("table", std::string());
    o.objective = j.value("objective", std::string("train"));
    o.objective_options = j.value("objective_options", nlohmann::json::object());
    o.metric = j.value("metric", std::string("val_acc"));  // journals written before --metric existed
    o.direction = j.value("direction", std::string("maximize"));
    // Journals written before the split hold the training settings at the top (every objective's).
    if (j.contains("training")) {
      o.training = TrainingOptions::from_json(j.at("training"));
    } else if (j.contains("model")) {
      o.training = TrainingOptions::from_json(j);
    }
  } catch (const nlohmann::json::exception& e) {
    throw store::StoreError(fmt::format("the journal's study record is incomplete: {}", e.what()));
  }
  return o;
}

}  // namespace fhist::study
