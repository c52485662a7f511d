// The catalog side of a study: built-in spaces, configuration -> network and training options, the journal's epoch
// rows, and the study options' validation and JSON form.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <limits>
#include <cmath>
#include <filesystem>
#include <map>

#include "core/errors.hpp"
#include "core/text.hpp"
#include "data/augment.hpp"
#include "data/dataset.hpp"
#include "models/model.hpp"
#include "models/resnet.hpp"
#include "nas/darts.hpp"
#include "nas/nb201.hpp"
#include "nas/network.hpp"
#include "score/scores.hpp"
#include "store/trial_store.hpp"
#include "study/study.hpp"
#include "train/trainer.hpp"

namespace fhist::study {

namespace fs = std::filesystem;

namespace {

// Configuration keys the objective understands; anything else in a space is refused before any work.
const std::vector<std::string> kKnownParams = {"lr", "weight_decay", "momentum", "batch_size", "width_mult",
                                               "model", "ra_n", "ra_m", "d2", "d3", "d4", "d5",
                                               "w2", "w3", "w4", "w5"};
const std::vector<std::string> kDepthParams = {"d2", "d3", "d4", "d5"};
const std::vector<std::string> kWidthParams = {"w2", "w3", "w4", "w5"};

bool has_prefix(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// A parameter of a cell-based space: it selects part of the architecture, not a training option.
bool is_nb201_param(const std::string& name) { return has_prefix(name, "edge_"); }
bool is_darts_param(const std::string& name) { return has_prefix(name, "normal_") || has_prefix(name, "reduce_"); }

// Every name a trial can apply: the training options and the cell parameters of the nb201 and darts spaces. Built
// once (apply_config asks for every trial).
const std::vector<std::string>& known_param_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v = kKnownParams;
    for (const auto& sp : {nas::nb201_space(), nas::darts_space()}) {
      for (const auto& p : sp.params()) v.push_back(p.name);
    }
    return v;
  }();
  return names;
}

bool is_known_param(const std::string& name) {
  const auto& known = known_param_names();
  return std::find(known.begin(), known.end(), name) != known.end();
}

}  // namespace

namespace {

// The values a training option can take, for checking a space's ranges before any trial: low < x (or <=) < high.
struct Domain {
  double low;
  bool low_inclusive;
  double high;
  bool high_inclusive;
  const char* text;
};
const Domain* domain_of(const std::string& name) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  static const std::map<std::string, Domain> domains = [] {
    const Domain positive{0, false, kInf, false, "> 0"};
    std::map<std::string, Domain> m = {{"lr", positive},
                                       {"weight_decay", {0, true, kInf, false, ">= 0"}},
                                       {"momentum", {0, true, 1, false, "in [0, 1)"}},
                                       {"batch_size", {1, true, kInf, false, ">= 1"}},
                                       {"width_mult", positive},
                                       {"ra_n", {0, true, kInf, false, ">= 0"}},
                                       {"ra_m", {0, true, 30, true, "in [0, 30]"}}};
    for (const auto* stage_params : {&kDepthParams, &kWidthParams})
      for (const auto& k : *stage_params) m.emplace(k, positive);
    return m;
  }();
  const auto it = domains.find(name);
  return it == domains.end() ? nullptr : &it->second;
}

bool inside(const Domain& d, double x) {
  return (d.low_inclusive ? x >= d.low : x > d.low) && (d.high_inclusive ? x <= d.high : x < d.high);
}

}  // namespace

void check_space_params(const space::SearchSpace& s, const std::string& source) {
  const std::string where = source.empty() ? fmt::format("space '{}'", s.name()) : source;
  for (std::size_t i = 0; i < s.params().size(); ++i) {
    const auto& p = s.params()[i];
    if (!is_known_param(p.name)) {
      throw InputError(fmt::format("{}: params[{}].name: '{}' is not a training option fhist knows (known: {}, and "
                                   "the cell parameters of the nb201 and darts spaces)",
                                   where, i, p.name, fmt::join(kKnownParams, ", ")));
    }
    const Domain* d = domain_of(p.name);
    if (d == nullptr) continue;
    const auto bad = [&](const std::string& field, const std::string& value) {
      return InputError(fmt::format("{}: params[{}].{}: {} must be {} (got {})", where, i, field, p.name, d->text, value));
    };
    if (p.kind == space::ParamKind::kInteger || p.kind == space::ParamKind::kFloat) {
      if (!inside(*d, p.low)) throw bad("low", fmt::format("{}", p.low));
      if (!inside(*d, p.high)) throw bad("high", fmt::format("{}", p.high));
      continue;
    }
    for (std::size_t c = 0; c < p.choices.size(); ++c) {
      const auto& v = p.choices[c];
      if (!v.is_number() || !inside(*d, v.get<double>())) throw bad(fmt::format("choices[{}]", c), v.dump());
    }
  }
}

namespace {

// Paper A.6: scale ResNet-18's stages C2..C5 in depth (d_s x 2 blocks) and width (w_s x channels) under a MACs cap
// relative to ResNet-18 (0.56 G on 3x32x32 / 100 classes at width 1). The cap applies to the network that trains:
// the candidate at the study's --width-mult against ResNet-18 at the same width, so "2x" keeps its meaning when
// the search trains narrow stand-ins. The multipliers are ordinal: 1.5 lies between 1 and 2 for BOHB's model.
space::SearchSpace resnet_scale_space(const std::string& flops_cap, double width_mult) {
  std::vector<space::Param> params;
  for (const auto& d : kDepthParams) params.push_back(space::Param::ordinal(d, {1.0, 1.5, 2.0, 2.5, 3.0}));
  for (const auto& w : kWidthParams) params.push_back(space::Param::ordinal(w, {1.0, 1.25, 1.5, 1.75, 2.0}));
  std::vector<space::Constraint> constraints;
  if (flops_cap != "none") {
    if (!flops_cap.empty() && flops_cap != "2x" && flops_cap != "4x") {
      throw InputError(fmt::format("--flops-cap '{}': expected 2x (the default: 1.12 G MACs at width 1), 4x (2.24 G) "
                                   "or none",
                                   flops_cap));
    }
    if (!(width_mult > 0)) throw InputError(fmt::format("--width-mult {}: expected a number > 0", width_mult));
    const double ratio = flops_cap == "4x" ? 4.0 : 2.0;
    const double cap = ratio * static_cast<double>(models::scaled_resnet_macs({}, {}, 3, 32, 32, 100, width_mult));
    constraints.push_back({fmt::format("macs <= {}x ResNet-18 (at width {})", ratio, width_mult),
                           [cap, width_mult](const space::Config& c) {
                             std::vector<double> d, w;
                             for (const auto& k : kDepthParams) d.push_back(c.get_double(k));
                             for (const auto& k : kWidthParams) w.push_back(c.get_double(k));
                             return static_cast<double>(
                                        models::scaled_resnet_macs(d, w, 3, 32, 32, 100, width_mult)) <= cap;
                           }});
  }
  return space::SearchSpace("resnet-scale", std::move(params), std::move(constraints));
}

}  // namespace

score::EpochMeasures epoch_measures(const train::EpochRecord& rec) {
  score::EpochMeasures m;
  m.epoch = rec.epoch;
  m.train_loss = rec.train_loss;
  m.original = rec.original_val_acc;
  m.refit = rec.refit_val_acc;
  m.fh = rec.estimate;
  m.fh_paper = rec.estimate_paper;
  m.window_acc = rec.window_acc;
  m.window_nll = rec.window_nll;
  m.window_soft = rec.window_soft;
  m.original_nll = rec.original_nll;
  return m;
}

nlohmann::json json_number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

nlohmann::json epoch_row(const train::EpochRecord& rec, const score::TrialHistory& upto) {
  auto array = [&](const std::vector<double>& values) {
    nlohmann::json a = nlohmann::json::array();
    for (double v : values) a.push_back(json_number(v));
    return a;
  };
  nlohmann::json scores = nlohmann::json::object();
  for (const auto& [name, v] : score::score_all(upto)) scores[name] = json_number(v);
  return {{"train_loss", rec.train_loss},
          {"original_val_acc", rec.original_val_acc},
          {"refit_val_acc", json_number(rec.refit_val_acc)},
          {"estimate", json_number(rec.estimate)},
          {"estimate_paper", json_number(rec.estimate_paper)},
          {"original_nll", json_number(rec.original_nll)},
          {"window_acc", array(rec.window_acc)},
          {"window_nll", array(rec.window_nll)},
          {"window_soft", array(rec.window_soft)},
          {"params", json_number(upto.params)},
          {"num_classes", upto.num_classes},
          {"scores", scores},
          {"lr", rec.lr},
          {"seconds", rec.seconds},
          {"estimate_seconds", rec.estimate_seconds}};
}

std::vector<std::string> space_names() {
  auto names = space::builtin_space_names();
  for (const char* n : {"nb201", "darts", "resnet-scale"}) names.push_back(n);
  return names;
}

space::SearchSpace load_space(const std::string& spec, const std::string& flops_cap, double width_mult) {
  if (spec == "nb201") return nas::nb201_space();
  if (spec == "darts") return nas::darts_space();
  if (spec == "resnet-scale") return resnet_scale_space(flops_cap, width_mult);
  const auto names = space::builtin_space_names();
  if (std::find(names.begin(), names.end(), spec) != names.end()) return space::builtin_space(spec);
  if (fs::exists(spec)) {
    auto space = space::SearchSpace::from_file(spec);
    check_space_params(space, spec);  // names and ranges, before any data is read
    return space;
  }
  throw InputError(fmt::format("--space '{}': neither a built-in space ({}) nor an existing JSON file", spec,
                               fmt::join(space_names(), ", ")));
}

void check_config_keys(const space::Config& cfg) {
  // Names other tools use for the same options: the suggestion a typo search would miss.
  const std::map<std::string, std::string> synonyms = {
      {"learning_rate", "lr"}, {"wd", "weight_decay"}, {"bs", "batch_size"}, {"width", "width_mult"}};
  for (const auto& [key, value] : cfg.values()) {
    if (is_known_param(key)) continue;
    const auto syn = synonyms.find(key);
    const auto hint = syn != synonyms.end() ? fmt::format(" (did you mean '{}'?)", syn->second)
                                            : did_you_mean(key, known_param_names());
    throw InputError(fmt::format("configuration key '{}' is not an option fhist knows{}; known: {}, and the cell "
                                 "parameters of the nb201 (edge_*) and darts (normal_*, reduce_*) spaces",
                                 key, hint, fmt::join(kKnownParams, ", ")));
  }
}

void apply_config(const space::Config& cfg, const StudyOptions& o, train::TrainOptions& t, models::ModelSpec& spec) {
  check_config_keys(cfg);
  t.lr = cfg.has("lr") ? cfg.get_double("lr") : o.lr;
  t.weight_decay = cfg.has("weight_decay") ? cfg.get_double("weight_decay") : o.weight_decay;
  if (cfg.has("momentum")) t.momentum = cfg.get_double("momentum");
  t.batch_size = cfg.has("batch_size") ? cfg.get_int("batch_size") : o.batch_size;
  t.window = o.window;
  t.augment = data::AugmentOptions::parse(data::resolve_augment(o.augment, o.data));
  if (cfg.has("ra_n")) t.augment.randaugment_n = static_cast<int>(cfg.get_int("ra_n"));
  if (cfg.has("ra_m")) t.augment.randaugment_m = static_cast<int>(cfg.get_int("ra_m"));
  // The paper searches RandAugment with flips, pad-and-crop and Cutout on (A.5); Cutout 16 unless --augment says.
  if (t.augment.randaugment_n > 0 && t.augment.cutout == 0) t.augment.cutout = 16;
  t.device = torch::Device(device_list(o.device).front());
  t.bf16 = o.bf16;
  t.channels_last = o.channels_last;
  t.sync_every = o.sync_every;
  t.data_on_device = t.device.is_cuda();
  spec.name = cfg.has("model") ? cfg.get_string("model") : o.model;
  spec.width_mult = cfg.has("width_mult") ? cfg.get_double("width_mult") : o.width_mult;
  spec.channels = o.channels;
  spec.cells = o.cells;
  spec.auxiliary = o.auxiliary;
  const auto& values = cfg.values();
  auto stage_mults = [&](const std::vector<std::string>& keys) {
    std::vector<double> m;
    for (const auto& k : keys) m.push_back(cfg.has(k) ? cfg.get_double(k) : 1.0);
    return m;
  };
  auto has_any = [&](const std::vector<std::string>& keys) {
    return std::any_of(keys.begin(), keys.end(), [&](const std::string& k) { return cfg.has(k); });
  };
  if (has_any(kDepthParams) || has_any(kWidthParams)) {
    spec.name = "resnet-scale";
    spec.depth_mults = stage_mults(kDepthParams);
    spec.width_mults = stage_mults(kWidthParams);
  } else if (std::any_of(values.begin(), values.end(), [](const auto& kv) { return is_nb201_param(kv.first); })) {
    spec.name = "nb201";
    spec.arch = nas::to_string(nas::nb201_arch_from_config(cfg));
  } else if (std::any_of(values.begin(), values.end(), [](const auto& kv) { return is_darts_param(kv.first); })) {
    spec.name = "darts";
    spec.arch = nas::to_string(nas::darts_genotype_from_config(cfg));
  }
}

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

std::string trial_dir(const std::string& journal, std::int64_t trial) {
  return fmt::format("{}.trials/trial_{:05d}", journal, trial);
}

void StudyOptions::validate() const {
  const std::vector<std::string> executors = {"auto", "inline", "thread", "mpi"};
  if (std::find(executors.begin(), executors.end(), executor) == executors.end()) {
    throw InputError(fmt::format("--executor '{}': expected one of {}", executor, fmt::join(executors, ", ")));
  }
  const std::vector<std::string> algos = {"random", "sh", "hyperband", "bohb", "asha"};
  if (std::find(algos.begin(), algos.end(), algo) == algos.end()) {
    throw InputError(fmt::format("--algo '{}': expected one of {}", algo, fmt::join(algos, ", ")));
  }
  try {
    score::make_estimator(estimator);
  } catch (const InputError& e) {
    throw InputError(fmt::format("--estimator: {}", e.what()));
  }
  if (objective != "train" && objective != "table") {
    throw InputError(fmt::format("--objective '{}': expected train or table", objective));
  }
  if (workers < 1) throw InputError(fmt::format("--workers must be >= 1 (got {})", workers));
  device_list(device);
  if (window < 1) throw InputError(fmt::format("--window must be >= 1 (got {})", window));
  if (sync_every < 0) throw InputError(fmt::format("--sync-every must be >= 0 (got {})", sync_every));
  if (train_size <= 0) throw InputError(fmt::format("--train-size must be positive (got {})", train_size));
  if (val_size <= 0) throw InputError(fmt::format("--val-size must be positive (got {})", val_size));
  sched::hyperband_plan(sched.min_budget, sched.max_budget, sched.eta);  // validates the budgets
  data::AugmentOptions::parse(data::resolve_augment(augment, data));
}

nlohmann::json StudyOptions::to_json() const {
  return {{"space", space},         {"data", data},
          {"model", model},         {"width_mult", width_mult},
          {"train_size", train_size}, {"val_size", val_size},
          {"augment", augment},     {"algo", algo},
          {"lr", lr},               {"weight_decay", weight_decay},
          {"batch_size", batch_size}, {"channels", channels},
          {"cells", cells},         {"auxiliary", auxiliary},
          {"flops_cap", flops_cap},   {"test_accuracy", test_accuracy},
          {"table", table},           {"objective", objective},
          {"estimator", estimator}, {"min_budget", sched.min_budget},
          {"max_budget", sched.max_budget}, {"eta", sched.eta},
          {"n_configs", sched.n_configs}, {"iterations", sched.iterations},
          {"window", window},       {"seed", seed},
          {"keep_checkpoints", keep_checkpoints}, {"device", device},
          {"bf16", bf16},           {"channels_last", channels_last},
          {"workers", workers},       {"sync_every", sync_every},
          {"threads", threads}};
}

StudyOptions StudyOptions::from_json(const nlohmann::json& j) {
  StudyOptions o;
  try {
    o.space = j.at("space").get<std::string>();
    o.data = j.at("data").get<std::string>();
    o.model = j.at("model").get<std::string>();
    o.width_mult = j.at("width_mult").get<double>();
    o.train_size = j.at("train_size").get<std::int64_t>();
    o.val_size = j.at("val_size").get<std::int64_t>();
    o.augment = j.at("augment").get<std::string>();
    o.lr = j.at("lr").get<double>();
    o.weight_decay = j.at("weight_decay").get<double>();
    o.batch_size = j.at("batch_size").get<std::int64_t>();
    o.channels = j.at("channels").get<std::int64_t>();
    o.cells = j.at("cells").get<std::int64_t>();
    o.auxiliary = j.at("auxiliary").get<bool>();
    o.flops_cap = j.at("flops_cap").get<std::string>();
    o.algo = j.at("algo").get<std::string>();
    o.estimator = j.at("estimator").get<std::string>();
    o.sched.min_budget = j.at("min_budget").get<std::int64_t>();
    o.sched.max_budget = j.at("max_budget").get<std::int64_t>();
    o.sched.eta = j.at("eta").get<int>();
    o.sched.n_configs = j.at("n_configs").get<std::int64_t>();
    o.sched.iterations = j.at("iterations").get<int>();
    o.window = j.at("window").get<int>();
    o.seed = j.at("seed").get<std::uint64_t>();
    o.keep_checkpoints = j.at("keep_checkpoints").get<bool>();
    o.device = j.at("device").get<std::string>();
    o.bf16 = j.at("bf16").get<bool>();
    o.channels_last = j.at("channels_last").get<bool>();
    o.threads = j.at("threads").get<int>();
    o.workers = j.value("workers", 1);  // journals written before --workers existed
    o.test_accuracy = j.value("test_accuracy", false);
    o.table = j.value("table", std::string());
    o.objective = j.value("objective", std::string("train"));
    o.sync_every = j.value("sync_every", std::int64_t{0});
  } catch (const nlohmann::json::exception& e) {
    throw store::StoreError(fmt::format("the journal's study record is incomplete: {}", e.what()));
  }
  return o;
}

}  // namespace fhist::study
