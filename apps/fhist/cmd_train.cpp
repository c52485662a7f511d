// fhist train: one network, its per-epoch original accuracy next to the feature-history estimate.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "core/errors.hpp"
#include "core/fs.hpp"
#include "core/progress.hpp"
#include "core/text.hpp"
#include "data/augment.hpp"
#include "data/dataset.hpp"
#include "input/input.hpp"
#include "models/model.hpp"
#include "nas/network.hpp"
#include "objective/train_run.hpp"
#include "objective/training.hpp"
#include "space/catalog.hpp"
#include "space/darts.hpp"
#include "space/nb201.hpp"
#include "space/space.hpp"
#include "study/study.hpp"
#include "train/trainer.hpp"

namespace fhist::cli {
namespace {

struct TrainCmd {
  std::string data = "fashion-mnist";
  std::string model = "resnet18";
  double width_mult = 0.25;  // as search
  std::int64_t train_size = 8000;
  std::int64_t val_size = 2000;
  std::int64_t test_size = 0;
  std::string augment = "auto";
  std::string feature_dtype = "float16";
  std::string run_dir;    // empty: a new folder runs/train, runs/train-2, ...
  bool resume = false;
  bool no_checkpoint = false;
  JsonOutput out;
  std::string arch;       // nb201 arch string or DARTS genotype
  std::int64_t channels = 0;
  std::int64_t cells = 0;
  bool auxiliary = false;
  std::string space;      // validates --config
  std::string config;     // a configuration (JSON text or file) applied on top of the flags
  std::string config_from;  // JOURNAL[:TRIAL]: a search's best configuration (or trial TRIAL's), as --config
  train::TrainOptions opts;
  RuntimeOptions rt;
  DataFlags dflags;
  const CLI::App* app = nullptr;  // to tell the flags given on this command line from defaults
};

nlohmann::json read_config(const std::string& config);

// The flags that define a run, stored in RUN_DIR/run.json: --resume takes them from there, so a run continues with
// `fhist train --resume --run-dir DIR` alone, and a flag given with a different value is refused by name.
struct Setting {
  std::string flag;
  std::function<nlohmann::json(TrainCmd&)> get;
  std::function<void(TrainCmd&, const nlohmann::json&)> set;
};

template <class Ref>
Setting setting(std::string flag, Ref ref) {
  return {std::move(flag), [ref](TrainCmd& c) { return nlohmann::json(ref(c)); },
          [ref](TrainCmd& c, const nlohmann::json& j) { j.get_to(ref(c)); }};
}

const std::vector<Setting>& run_settings() {
  static const std::vector<Setting> all = {
      setting("data", [](TrainCmd& c) -> auto& { return c.data; }),
      setting("target", [](TrainCmd& c) -> auto& { return c.dflags.target; }),
      setting("skip-rows", [](TrainCmd& c) -> auto& { return c.dflags.skip_rows; }),
      setting("no-header", [](TrainCmd& c) -> auto& { return c.dflags.no_header; }),
      setting("image-size", [](TrainCmd& c) -> auto& { return c.dflags.image_size; }),
      setting("image-channels", [](TrainCmd& c) -> auto& { return c.dflags.image_channels; }),
      setting("skip-bad-images", [](TrainCmd& c) -> auto& { return c.dflags.skip_bad_images; }),
      setting("holdout", [](TrainCmd& c) -> auto& { return c.dflags.holdout; }),
      setting("model", [](TrainCmd& c) -> auto& { return c.model; }),
      setting("arch", [](TrainCmd& c) -> auto& { return c.arch; }),
      setting("channels", [](TrainCmd& c) -> auto& { return c.channels; }),
      setting("cells", [](TrainCmd& c) -> auto& { return c.cells; }),
      setting("auxiliary", [](TrainCmd& c) -> auto& { return c.auxiliary; }),
      setting("space", [](TrainCmd& c) -> auto& { return c.space; }),
      setting("config", [](TrainCmd& c) -> auto& { return c.config; }),
      setting("width-mult", [](TrainCmd& c) -> auto& { return c.width_mult; }),
      setting("epochs", [](TrainCmd& c) -> auto& { return c.opts.epochs; }),
      setting("max-budget", [](TrainCmd& c) -> auto& { return c.opts.max_epochs; }),
      setting("batch-size", [](TrainCmd& c) -> auto& { return c.opts.batch_size; }),
      setting("lr", [](TrainCmd& c) -> auto& { return c.opts.lr; }),
      setting("weight-decay", [](TrainCmd& c) -> auto& { return c.opts.weight_decay; }),
      setting("train-size", [](TrainCmd& c) -> auto& { return c.train_size; }),
      setting("val-size", [](TrainCmd& c) -> auto& { return c.val_size; }),
      setting("test-size", [](TrainCmd& c) -> auto& { return c.test_size; }),
      setting("augment", [](TrainCmd& c) -> auto& { return c.augment; }),
      setting("window", [](TrainCmd& c) -> auto& { return c.opts.window; }),
      setting("feature-storage", [](TrainCmd& c) -> auto& { return c.feature_dtype; }),
      setting("refit-epochs", [](TrainCmd& c) -> auto& { return c.opts.refit.epochs; }),
      setting("seed", [](TrainCmd& c) -> auto& { return c.opts.seed; }),
      setting("compare-impl", [](TrainCmd& c) -> auto& { return c.opts.compare_impl; }),
      setting("save-features", [](TrainCmd& c) -> auto& { return c.opts.save_features_dir; }),
      setting("precision", [](TrainCmd& c) -> auto& { return c.rt.precision; }),
      setting("channels-last", [](TrainCmd& c) -> auto& { return c.rt.channels_last; }),
  };
  return all;
}

std::string settings_file(const std::string& run_dir) { return (std::filesystem::path(run_dir) / "run.json").string(); }

// --resume: the stored settings replace the defaults; a flag given with another value is a mistake (it would train a
// different run on top of this one), so every such flag is named with its stored value. --epochs may grow the budget.
void apply_stored_settings(TrainCmd& c) {
  const auto path = settings_file(c.run_dir);
  if (!std::filesystem::exists(path)) return;  // a run of an older fhist: the checkpoint's fingerprint still checks
  nlohmann::json stored;
  {
    std::ifstream in(path);
    stored = space::parse_user_json({std::istreambuf_iterator<char>(in), {}}, path + " (the run's settings)");
  }
  std::vector<std::string> differ;
  for (const auto& s : run_settings()) {
    if (!stored.contains(s.flag)) continue;
    const auto& value = stored.at(s.flag);
    const bool given = c.app->count("--" + s.flag) > 0 || (s.flag == "config" && c.app->count("--config-from") > 0);
    if (!given) {
      try {
        s.set(c, value);
      } catch (const nlohmann::json::exception&) {
        throw InputError(
            fmt::format("{}: '{}' should be like {}, got {}", path, s.flag, s.get(c).dump(), value.dump()));
      }
    } else if (s.flag == "config" ? value.get<std::string>().empty() ||
                                        read_config(c.config) != read_config(value.get<std::string>())
                                  : s.flag != "epochs" && s.get(c) != value) {
      differ.push_back(fmt::format("--{} {} (stored: {})", s.flag, s.get(c).dump(), value.dump()));
    }
  }
  if (!differ.empty()) {
    throw InputError(fmt::format("--resume continues {} with the settings it started with ({}), and these differ: "
                                 "{}. Drop them to continue that run (only --epochs may change, to train further up to --max-budget), "
                                 "or start a new run without --resume",
                                 c.run_dir, path, fmt::join(differ, ", ")));
  }
}

// runs/train, then runs/train-2, runs/train-3, ...: a plain `fhist train` never collides with an earlier run.
std::string new_run_dir() {
  for (int i = 1;; ++i) {
    const auto dir = i == 1 ? std::string("runs/train") : fmt::format("runs/train-{}", i);
    if (!std::filesystem::exists(dir)) return dir;
  }
}

// --config: one configuration of a search space (e.g. {"ra_n": 2, "ra_m": 9} or an NB-201 cell's edges), applied
// over the flags exactly as a search would apply it to a trial.
// --config-from JOURNAL[:TRIAL]: the configuration of TRIAL, or of the search's incumbent.
nlohmann::json config_from_journal(const std::string& spec) {
  std::string journal = spec;
  std::optional<std::int64_t> trial;
  const auto colon = spec.rfind(':');
  if (colon != std::string::npos && colon + 1 < spec.size() &&
      spec.find_first_not_of("0123456789", colon + 1) == std::string::npos) {
    journal = spec.substr(0, colon);
    trial = std::stoll(spec.substr(colon + 1));
  }
  space::Config config;
  if (trial) {
    config = study::trial_config(journal, *trial);
  } else {
    const auto s = study::summarize_journal(journal);
    if (!s.best) throw InputError(fmt::format("--config-from {}: no trial of that search has finished yet", journal));
    trial = s.best->trial;
    config = s.best_config;
  }
  fmt::print("configuration of trial {} of {}: {}\n", *trial, journal, config.to_string());
  return config.to_json();
}

// --config TEXT|FILE as JSON (a file is read now, so run.json keeps the configuration itself).
nlohmann::json read_config(const std::string& config) {
  // JSON text unless it names a file: any text that starts like JSON ({, [, a quote, a digit) and is no file.
  const auto first = config.find_first_not_of(" \t\r\n");
  const bool inline_json = config.find('{') != std::string::npos ||
                           (!std::filesystem::exists(config) && first != std::string::npos &&
                            std::string("[\"-0123456789tfn").find(config[first]) != std::string::npos);
  if (inline_json) return space::parse_user_json(config, "--config text");
  std::ifstream in(config);
  if (!in) throw InputError(fmt::format("--config {}: no such file (pass JSON text or a file)", config));
  return space::parse_user_json({std::istreambuf_iterator<char>(in), {}}, "--config " + config);
}

void apply_config_flag(TrainCmd& c, models::ModelSpec& spec) {
  const auto j = read_config(c.config);
  if (!j.is_object()) {
    throw InputError(fmt::format("--config {}: expected a JSON object such as {{\"lr\": 0.05}}, got {}", c.config,
                                 j.dump()));
  }
  const auto config = space::Config::from_json(j);
  // The parameters are checked, not resnet-scale's FLOPs cap: that constrains a search; train trains what it is given.
  if (!c.space.empty()) {
    const auto sp = space::load_space(c.space, "none");
    space::check_space_params(sp, space::is_builtin_space(c.space) ? "" : c.space);
    sp.validate(config);
  }
  study::StudyOptions o;
  o.training.model = spec.name;
  o.training.width_mult = spec.width_mult;
  o.training.lr = c.opts.lr;
  o.training.weight_decay = c.opts.weight_decay;
  o.training.batch_size = c.opts.batch_size;
  o.training.augment = c.augment;
  o.training.window = c.opts.window;
  o.device = c.opts.device.str();
  o.training.channels = spec.channels;
  o.training.cells = spec.cells;
  o.training.auxiliary = spec.auxiliary;
  const double momentum = c.opts.momentum;
  objective::apply_config(config, o, c.opts, spec);
  if (!config.has("momentum")) c.opts.momentum = momentum;
}

std::string pct(double v) { return std::isfinite(v) ? fmt::format("{:6.2f}", 100.0 * v) : "     -"; }

void run_train(TrainCmd& c) {
  if (c.resume && c.no_checkpoint) {
    throw InputError("--resume needs a checkpoint; it cannot be combined with --no-checkpoint");
  }
  if (c.resume && c.run_dir.empty()) {
    throw InputError("--resume needs --run-dir: the folder of the run to continue (each fhist train prints its "
                     "folder; plain runs go to runs/train, runs/train-2, ...)");
  }
  // Stored as the configuration itself: the journal or the file may change or move.
  if (!c.config_from.empty()) {
    c.config = config_from_journal(c.config_from).dump();
    c.config_from.clear();
  } else if (!c.config.empty()) {
    c.config = read_config(c.config).dump();
  }
  // A user's data: sizes fhist chooses (0 = auto) and, for a table, the mlp, unless the flags say otherwise.
  if (input::is_user_data(c.data)) {
    if (c.app->count("--train-size") == 0) c.train_size = 0;
    if (c.app->count("--val-size") == 0) c.val_size = 0;
    if (c.app->count("--model") == 0 && input::parse_source(c.data).kind == input::SourceKind::kCsv) c.model = "mlp";
  }
  if (c.resume) {
    apply_stored_settings(c);
    // --epochs grows the budget within the learning-rate schedule the run started with; a longer one is another run.
    if (c.opts.epochs > c.opts.max_epochs) {
      throw InputError(fmt::format("--epochs {}: {} was started with --max-budget {}, the length of its learning-rate "
                                   "schedule, so --resume trains it up to {} epochs. To train for {} epochs, start a "
                                   "new run with --max-budget {} (without --resume)",
                                   c.opts.epochs, c.run_dir, c.opts.max_epochs, c.opts.max_epochs, c.opts.epochs,
                                   c.opts.epochs));
    }
  }
  check_data_flags(*c.app, c.data);
  if (c.run_dir.empty() && !c.no_checkpoint) c.run_dir = new_run_dir();
  c.augment = data::resolve_augment(c.augment, c.data);
  nlohmann::json settings = nlohmann::json::object();
  for (const auto& s : run_settings()) settings[s.flag] = s.get(c);

  const std::string device = apply_runtime(c.rt);
  c.opts.device = torch::Device(device);
  c.opts.bf16 = c.rt.precision == "bf16";
  c.opts.channels_last = c.rt.channels_last;
  c.opts.data_on_device = c.opts.device.is_cuda();  // small datasets: keep every image on the GPU
  c.opts.augment = data::AugmentOptions::parse(c.augment);
  if (c.feature_dtype != "float16" && c.feature_dtype != "float32") {
    throw InputError(fmt::format("--feature-storage '{}': expected float16 or float32", c.feature_dtype));
  }
  c.opts.feature_dtype = c.feature_dtype == "float16" ? torch::kFloat16 : torch::kFloat32;

  models::ModelSpec spec;
  spec.name = c.model;
  spec.width_mult = c.width_mult;
  if (!c.arch.empty() && c.model != "nb201" && c.model != "darts") {
    throw InputError(fmt::format("--arch: only the nb201 and darts models have a cell to set (--model is {})", c.model));
  }
  spec.arch = c.model == "nb201" || c.model == "darts" ? c.arch : "";
  if (c.model == "nb201") space::parse_nb201_arch(c.arch);  // a bad string fails before any data is read
  if (c.model == "darts" && !c.arch.empty()) space::parse_genotype(c.arch);
  spec.channels = c.channels;
  spec.cells = c.cells;
  spec.auxiliary = c.auxiliary;
  if (!c.config.empty()) apply_config_flag(c, spec);
  c.opts.validate();  // before any data is read

  const std::string ckpt =
      c.no_checkpoint ? std::string() : (std::filesystem::path(c.run_dir) / "checkpoint.pt").string();
  if (!c.no_checkpoint && !c.resume && std::filesystem::exists(ckpt)) {
    throw InputError(fmt::format("{} already exists: pass --resume to continue that run, or choose another "
                                 "--run-dir (nothing was overwritten)",
                                 ckpt));
  }
  // Epoch files of an older run would survive past this run's last epoch, and `estimate` would read them as this run.
  const auto& feats = c.opts.save_features_dir;
  if (!feats.empty() && !c.resume && std::filesystem::is_directory(feats) &&
      !std::filesystem::is_empty(feats)) {
    throw InputError(fmt::format("--save-features {}: the folder is not empty (an earlier run's epochs would mix with "
                                 "this run's); choose an empty or new folder, or pass --resume to continue that run",
                                 feats));
  }
  // With --json, stdout carries the JSON only; the table goes to stderr.
  std::FILE* human = c.out.json ? stderr : stdout;

  objective::TrainRunOptions run;
  run.data = c.data;
  run.data_options = c.dflags.options();
  run.decode_progress = decoding_progress();
  run.train_size = c.train_size;
  run.val_size = c.val_size;
  run.test_size = c.test_size;
  run.model = spec;
  run.train = c.opts;
  run.checkpoint = ckpt;
  run.resume = c.resume;
  const bool paper = c.opts.compare_impl;
  auto print_record = [&](const train::EpochRecord& r) {
    fmt::print(human, "{:>5}  {:8.4f}  {:>8}  {:>8}  {:>8}{}  {:7.1f}  {:8.3f}{}\n", r.epoch, r.train_loss,
               pct(r.original_val_acc), pct(r.refit_val_acc), pct(r.estimate),
               paper ? "  " + fmt::format("{:>8}", pct(r.estimate_paper)) : "", r.seconds, r.estimate_seconds,
               paper ? fmt::format("  {:7.3f}", r.estimate_paper_seconds) : "");
    std::fflush(human);
  };
  nlohmann::json out = {{"fhist_version", FHIST_VERSION},
                        {"data", c.data},
                        {"model", c.model},
                        {"width_mult", c.width_mult},
                        {"epochs_budget", c.opts.epochs},
                        {"max_epochs", c.opts.max_epochs},
                        {"batch_size", c.opts.batch_size},
                        {"lr", c.opts.lr},
                        {"weight_decay", c.opts.weight_decay},
                        {"augment", c.opts.augment.to_string()},
                        {"window", c.opts.window},
                        {"feature_dtype", c.feature_dtype},
                        {"seed", c.opts.seed},
                        {"device", device},
                        {"precision", c.rt.precision},
                        {"channels_last", c.rt.channels_last},
                        {"threads", at::get_num_threads()},
                        {"run_dir", c.run_dir}};
  objective::TrainRunProgress progress;
  progress.started = [&](const objective::TrainRunInfo& info) {
    // The folder is made once the data and the network are known to work, so bad input leaves nothing behind.
    if (!c.no_checkpoint && !c.resume) {
      std::filesystem::create_directories(c.run_dir);
      write_file_atomically(settings_file(c.run_dir), [&](std::ostream& os) { os << settings.dump(2) << "\n"; });
    }
    if (!c.no_checkpoint) {
      fmt::print(human, "run folder: {} (continue it with: fhist train --resume --run-dir {})\n", c.run_dir,
                 c.run_dir);
    }
    if (c.resume) fmt::print(human, "resumed from {} after epoch {}\n", ckpt, info.resumed_epochs);
    fmt::print(human,
               "fhist train: {} on {} ({} train / {} val / {} test, {}x{}x{}), {:.3f} M parameters, feature dim {}, "
               "device {}, {} threads, seed {}\n",
               c.model, info.dataset, info.train_images, info.val_images, info.test_images, info.channels,
               info.height, info.width, static_cast<double>(info.parameters) / 1e6, info.feature_dim, device,
               at::get_num_threads(), c.opts.seed);
    fmt::print(human,
               "schedule: lr {} linear to 0 over {}, budget {}, batch {}, window K={}, features {}\n",
               c.opts.lr, count_of(c.opts.max_epochs, "epoch"), count_of(c.opts.epochs, "epoch"), c.opts.batch_size, c.opts.window, c.feature_dtype);
    fmt::print(human, "{:>5}  {:>8}  {:>8}  {:>8}  {:>8}{}  {:>7}  {:>8}{}\n", "epoch", "loss", "orig%", "refit%",
               "fh%", paper ? fmt::format("  {:>8}", "fh-pap%") : "", "sec", "est_sec", paper ? "  pap_sec" : "");
  };
  const InterruptGuard interrupt;
  struct Stop {};
  std::unique_ptr<ProgressBar> bar;
  std::int64_t stopped_in = 0;
  progress.step = [&](std::int64_t epoch, std::int64_t step, std::int64_t steps, double loss) {
    if (interrupt.signal() != 0) {
      stopped_in = epoch;
      throw Stop{};
    }
    if (!bar) bar = std::make_unique<ProgressBar>(steps, fmt::format("epoch {}/{}", epoch, c.opts.epochs));
    bar->update(step, fmt::format("loss {:.4f}", loss));
  };
  // -o is rewritten after every epoch (a crash keeps what finished); --json prints once, at the end.
  progress.epoch = [&](const train::EpochRecord& r, const nlohmann::json& so_far) {
    if (bar) bar->finish();
    bar.reset();
    print_record(r);
    if (c.out.output.empty()) return;
    auto j = out;
    j.update(so_far);
    JsonOutput{false, c.out.output}.write(j);
  };
  nlohmann::json result;
  try {
    result = objective::train_run(run, progress);
  } catch (const Stop&) {
    if (bar) bar->finish();
    fmt::print(human, "\ninterrupted by {} in epoch {}: {} epoch(s) done{}\n", interrupt.name(), stopped_in,
               stopped_in - 1,
               c.no_checkpoint || stopped_in == 1
                   ? std::string(" (no checkpoint to resume from)")
                   : fmt::format("; resume with: fhist train --resume --run-dir {}", c.run_dir));
    std::fflush(human);
    throw Interrupted{interrupt.signal()};
  }
  out.update(result);
  const auto& last = result.at("epochs").back();
  const auto number = [](const nlohmann::json& v) { return v.is_number() ? v.get<double>() : std::nan(""); };
  const auto& test_acc = result.at("test_acc");
  fmt::print(human, "final: test accuracy {} after {} | last original val {:.2f}%, last fh estimate {}%\n",
             test_acc.is_number() ? fmt::format("{:.2f}%", 100.0 * test_acc.get<double>()) : "- (the data has no test split)",
             count_of(result.at("epochs_done").get<std::int64_t>(), "epoch"),
             100.0 * number(last.at("original_val_acc")), pct(number(last.at("fh_val_acc"))));
  c.out.write(out);
  if (!c.out.output.empty()) fmt::print(human, "results: {}\n", c.out.output);
  if (!c.opts.save_features_dir.empty()) fmt::print(human, "feature history: {}\n", c.opts.save_features_dir);
}

}  // namespace

void register_train(CLI::App& app) {
  auto c = std::make_shared<TrainCmd>();
  auto* sub = app.add_subcommand("train", "train one network; print original accuracy vs. feature-history estimate");
  sub->add_option("--data", c->data,
                  "fashion-mnist | fashion-mnist:DIR | mnist:DIR | cifar10:DIR | cifar100:DIR; your data: folder:DIR "
                  "(one subfolder per class), npy:DIR (x_train.npy, y_train.npy, ...), csv:FILE (with --target)")
      ->capture_default_str();
  add_data_flags(*sub, c->dflags);
  sub->add_option("--model", c->model, "network (a csv table: mlp)")
      ->check(CLI::IsMember(space::network_names()))
      ->capture_default_str();
  sub->add_option("--arch,--genotype", c->arch,
                  "nb201: the cell, e.g. '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|"
                  "nor_conv_3x3~1|skip_connect~2|'; darts: Genotype(normal=[...], ...) text (default DARTS_V2)");
  sub->add_option("--channels", c->channels, "nb201/darts: initial channels (0 = 16 / 36)")->capture_default_str();
  sub->add_option("--cells", c->cells, "nb201: cells per stage (0 = 5); darts: layers (0 = 20)")->capture_default_str();
  sub->add_flag("--auxiliary", c->auxiliary, "darts: auxiliary head (loss weight 0.4)");
  sub->add_option("--space", c->space, "check --config against this space (hparams, randaugment, nb201, darts, FILE)");
  auto* config = sub->add_option("--config", c->config,
                                 "a configuration as JSON text or a JSON file, applied over the flags");
  sub->add_option("--config-from", c->config_from,
                  "JOURNAL[:TRIAL]: the best configuration of a search (or trial TRIAL's), applied as --config")
      ->excludes(config);
  sub->add_option("--width-mult", c->width_mult, "channel width multiplier")->capture_default_str();
  sub->add_option("--epochs", c->opts.epochs, "budget: epochs to train")->capture_default_str();
  sub->add_option("--max-budget,--max-epochs", c->opts.max_epochs, "the lr schedule's length, epochs (linear to 0)")
      ->capture_default_str();
  sub->add_option("--batch-size", c->opts.batch_size, "training batch size")->capture_default_str();
  sub->add_option("--lr", c->opts.lr, "initial learning rate (SGD, momentum 0.9)")->capture_default_str();
  sub->add_option("--weight-decay", c->opts.weight_decay, "weight decay")->capture_default_str();
  sub->add_option("--train-size", c->train_size,
                  "examples drawn from the training set for training (0 = auto; your data: auto unless given)")
      ->capture_default_str();
  sub->add_option("--val-size", c->val_size,
                  "examples drawn for validation (0 = auto: your data's val split, or 20% of its train split)")
      ->capture_default_str();
  sub->add_option("--test-size", c->test_size,
                  "test on this many test examples, the same draw for every seed (0 = all of the test split)")
      ->capture_default_str();
  sub->add_option("--augment", c->augment, "auto (none on Fashion-MNIST and MNIST, crop,flip on CIFAR: measured, see README) or a comma list of "
                  "crop[N], flip, cutout[N], or none")->capture_default_str();
  sub->add_option("--window", c->opts.window, "K: epochs of feature history in the ensemble")->capture_default_str();
  sub->add_option("--feature-storage,--feature-dtype", c->feature_dtype,
                  "float16 | float32: the precision feature histories are held in (the re-fits compute in float32)")
      ->capture_default_str();
  sub->add_option("--refit-epochs", c->opts.refit.epochs, "epochs of head re-fitting (paper: 5)")
      ->capture_default_str();
  sub->add_option("--sync-every", c->opts.sync_every,
                  "training steps between reading the loss back (progress, divergence check); 0 = 1 on CPU, 20 on CUDA")
      ->check(at_least(0));
  sub->add_option("--seed", c->opts.seed, "seed for the split, init, shuffling, augmentation, refits")
      ->capture_default_str();
  sub->add_flag("--compare-impl", c->opts.compare_impl,
                "also run the paper-faithful estimator each epoch and print it beside the fast one");
  sub->add_option("--save-features", c->opts.save_features_dir, "write each epoch's feature history as .npy here");
  sub->add_option("--run-dir", c->run_dir,
                  "the run's folder: run.json (settings) and checkpoint.pt, replaced after every epoch (default: a "
                  "new folder runs/train, runs/train-2, ...)");
  sub->add_flag("--resume", c->resume, "continue the run in --run-dir with its stored settings");
  sub->add_flag("--no-checkpoint", c->no_checkpoint, "do not write checkpoints");
  add_json_output_flags(*sub, c->out, "the settings, per-epoch results and the test accuracy");
  add_runtime_flags(*sub, c->rt);
  add_speed_flags(*sub, c->rt);
  c->app = sub;
  sub->callback([c]() { run_train(*c); });
}

}  // namespace fhist::cli
