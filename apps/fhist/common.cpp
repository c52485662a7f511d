#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <regex>
#include <thread>

#include "command/command.hpp"
#include "commands.hpp"
#include "core/cpus.hpp"
#include "core/errors.hpp"
#include "core/fs.hpp"
#include "core/progress.hpp"
#include "core/text.hpp"
#include "input/input.hpp"
#include "space/catalog.hpp"
#include "study/devices.hpp"
#include "study/study.hpp"
#include "torch_runtime.hpp"

namespace fhist::cli {

namespace {

// The one mutable global: a signal handler can reach nothing else. Lock-free, so safe to write from the handler.
std::atomic<int> g_signal{0};
static_assert(std::atomic<int>::is_always_lock_free, "the signal flag must be lock-free");

void on_signal(int sig) {
  if (g_signal.exchange(sig) != 0) std::_Exit(128 + sig);  // a second Ctrl-C: stop now
}

}  // namespace

MinutesLimit::MinutesLimit(double minutes) : minutes_(minutes), start_(std::chrono::steady_clock::now()) {}

double MinutesLimit::elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count() / 60.0;
}

std::function<bool()> MinutesLimit::should_stop() {
  if (minutes_ <= 0) return {};
  return [this] { return asked_++ > 0 && elapsed() >= minutes_; };
}

InterruptGuard::InterruptGuard() {
  g_signal = 0;
  previous_int_ = std::signal(SIGINT, on_signal);
  previous_term_ = std::signal(SIGTERM, on_signal);
}

InterruptGuard::~InterruptGuard() {
  std::signal(SIGINT, previous_int_ == SIG_ERR ? SIG_DFL : previous_int_);
  std::signal(SIGTERM, previous_term_ == SIG_ERR ? SIG_DFL : previous_term_);
}

int InterruptGuard::signal() const { return g_signal.load(); }

const char* InterruptGuard::name() const { return signal() == SIGTERM ? "SIGTERM" : "SIGINT (Ctrl-C)"; }

CLI::Validator at_least(long long min) {
  return CLI::Validator(
      [min](std::string& s) -> std::string {
        try {
          std::size_t used = 0;
          const long long v = std::stoll(s, &used);
          if (used == s.size() && v >= min) return {};
        } catch (const std::exception&) {
        }
        return fmt::format("expected a whole number >= {}, got '{}'", min, s);
      },
      fmt::format("INT>={}", min));
}

CLI::Validator output_path() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        const auto parent = std::filesystem::path(s).parent_path();
        if (s.empty() || s == "-" || parent.empty() || std::filesystem::is_directory(parent)) return {};
        return fmt::format("the folder '{}' does not exist (create it first)", parent.string());
      },
      "FILE");
}

void JsonOutput::write(const nlohmann::json& j) const {
  if (!output.empty()) write_file_atomically(output, [&](std::ostream& os) { os << j.dump(2) << "\n"; });
  if (json) fmt::print("{}\n", j.dump(2));
}

void add_json_output_flags(CLI::App& app, JsonOutput& o, const std::string& what) {
  app.add_flag("--json", o.json, fmt::format("print {} as JSON on standard output", what));
  app.add_option("-o,--output", o.output, fmt::format("write {} as JSON to this file", what))->check(output_path());
}

namespace {

std::vector<std::string> long_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const auto* opt : app.get_options()) {
    for (const auto& n : opt->get_lnames()) names.push_back("--" + n);
  }
  return names;
}

std::vector<std::string> command_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; })) names.push_back(sub->get_name());
  return names;
}

// The command that was parsed, or the app itself before one is.
const CLI::App& parsed_command(const CLI::App& app) {
  const auto parsed = app.get_subcommands();
  return parsed.empty() ? app : *parsed.back();
}

}  // namespace

std::string unknown_command(const CLI::App& app, int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') return {};
  const std::string cmd = argv[1];
  const auto names = command_names(app);
  if (std::find(names.begin(), names.end(), cmd) != names.end()) return {};
  return fmt::format("unknown command '{}'{}; commands: {}", cmd, did_you_mean(cmd, names), fmt::join(names, ", "));
}

std::string error_prefix(const CLI::App& app) {
  const auto& cmd = parsed_command(app);
  return &cmd == &app ? std::string("fhist") : "fhist " + cmd.get_name();
}

int report_parse_error(CLI::App& app, const CLI::ParseError& e) {
  const CLI::App* cmd = &parsed_command(app);
  const std::string who = error_prefix(app);
  if (cmd == &app && dynamic_cast<const CLI::RequiredError*>(&e) != nullptr && app.get_subcommands().empty()) {
    fmt::print(stderr, "fhist: error: a command is required: {} (fhist --help)\n", fmt::join(command_names(app), ", "));
    return kExitUsage;
  }
  if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr) {
    const auto extras = cmd->remaining();
    const auto known = long_names(*cmd);
    for (const auto& arg : extras) {
      if (arg.rfind("--", 0) == 0) {
        const auto name = arg.substr(0, arg.find('='));
        const auto near = nearest_name(name, known);
        fmt::print(stderr, "{}: error: unknown option {}{}\n", who, name,
                   near.empty() ? std::string() : fmt::format(" (did you mean {}?)", near));
        fmt::print(stderr, "run '{} --help' for the options\n", who);
        return kExitUsage;
      }
    }
    fmt::print(stderr, "{}: error: unexpected argument{} {}\n", who, extras.size() == 1 ? "" : "s",
               fmt::join(extras, " "));
  } else {
    fmt::print(stderr, "{}: error: {}\n", who, e.what());
  }
  fmt::print(stderr, "run '{} --help' for the options\n", who);
  return kExitUsage;
}

void add_runtime_flags(CLI::App& app, RuntimeOptions& o) {
  app.add_option("--threads", o.threads,
                 "intra-op CPU threads of this process in all (0 = OMP_NUM_THREADS if set, else the cores this process "
                 "may use); search and table give each of their --workers an equal share (a command gets its share "
                 "in FHIST_THREADS)")
      ->check(at_least(0));
  app.add_option("--device", o.device, "auto | cpu | cuda | cuda:N (search: a list such as cuda:0,cuda:1 for --workers)")->capture_default_str();
}

void add_speed_flags(CLI::App& app, RuntimeOptions& o) {
  app.add_option("--precision", o.precision, "fp32 | bf16 (bfloat16 autocast for forward and loss)")
      ->check(CLI::IsMember({"fp32", "bf16"}))
      ->capture_default_str();
  app.add_flag("--channels-last", o.channels_last, "NHWC memory format (faster convolutions on GPUs)");
}

input::DataOptions DataFlags::options() const {
  input::DataOptions o;
  o.target = target;
  if (!image_size.empty()) std::tie(o.image_height, o.image_width) = input::parse_image_size(image_size);
  if (image_channels != 0 && image_channels != 1 && image_channels != 3) {
    throw InputError(fmt::format("--image-channels {}: expected 1 (grey) or 3 (colour)", image_channels));
  }
  o.image_channels = image_channels;
  o.skip_bad_images = skip_bad_images;
  o.csv_skip_rows = skip_rows;
  o.csv_header = !no_header;
  o.cache_dir = cache_dir;
  o.holdout = holdout;
  return o;
}

void add_data_flags(CLI::App& app, DataFlags& d) {
  app.add_option("--target", d.target, "csv:FILE: the column holding the classes (a name, a 1-based number, or last)");
  app.add_option("--skip-rows", d.skip_rows, "csv:FILE: lines before the header (or the data)")->check(at_least(0));
  app.add_flag("--no-header", d.no_header, "csv:FILE: the first row is data; columns are named 1, 2, ...");
  app.add_option("--image-size", d.image_size, "folder:DIR: HxW every image is resized to (default: the most common)");
  app.add_option("--image-channels", d.image_channels, "folder:DIR: 1 or 3 (default: 3 if any image has colour)");
  app.add_flag("--skip-bad-images", d.skip_bad_images,
               "folder:DIR: skip (and count) undecodable and non-image files instead of stopping");
  app.add_option("--holdout", d.holdout,
                 "your data without a test split: set this fraction aside as one (a fixed draw), e.g. 0.2");
  app.add_option("--cache-dir", d.cache_dir, "folder:DIR: where the decoded images are cached (default DIR/.fhist-cache)");
}

void check_data_flags(const CLI::App& app, const std::string& data) {
  const auto kind = input::parse_source(data).kind;
  auto refuse = [&](const char* flag, input::SourceKind want, const char* example) {
    const auto* opt = app.get_option_no_throw(flag);
    if (opt == nullptr || opt->count() == 0 || kind == want) return;
    throw InputError(fmt::format("{} is for {} data, and --data is '{}'", flag, example, data));
  };
  for (const char* f : {"--target", "--skip-rows", "--no-header"}) refuse(f, input::SourceKind::kCsv, "csv:FILE");
  const auto* holdout = app.get_option_no_throw("--holdout");
  if (holdout != nullptr && holdout->count() > 0 && kind == input::SourceKind::kBuiltin) {
    throw InputError(fmt::format("--holdout is for your own data (folder:, npy:, csv:); {} has its test set", data));
  }
  for (const char* f : {"--image-size", "--image-channels", "--skip-bad-images", "--cache-dir"}) {
    refuse(f, input::SourceKind::kFolder, "folder:DIR");
  }
}

void resolve_study_flags(const CLI::App& app, const DataFlags& d, study::StudyOptions& o) {
  check_data_flags(app, o.training.data);
  o.training.data_options = d.options().to_json();
  const auto kind = input::parse_source(o.training.data).kind;
  if (kind == input::SourceKind::kBuiltin) return;
  if (app.get_option("--train-size")->count() == 0) o.training.train_size = 0;
  if (app.get_option("--val-size")->count() == 0) o.training.val_size = 0;
  if (kind == input::SourceKind::kCsv && app.get_option("--space")->count() == 0) o.space = "mlp-hparams";
  if (kind == input::SourceKind::kCsv && app.get_option("--model")->count() == 0) o.training.model = "mlp";
}

std::function<void(std::int64_t, std::int64_t)> decoding_progress() {
  auto bar = std::make_shared<std::unique_ptr<ProgressBar>>();
  return [bar](std::int64_t done, std::int64_t total) {
    if (!*bar) *bar = std::make_unique<ProgressBar>(total, "decoding images");
    (*bar)->update(done);
    if (done == total) (*bar)->finish();
  };
}

void prepare_user_data(study::StudyOptions& o) {
  if (!input::is_user_data(o.training.data)) return;
  const auto loaded =
      input::load(o.training.data, input::DataOptions::from_json(o.training.data_options), decoding_progress());
  o.training.data_options["classes"] = loaded.classes;
}

void add_study_flags(CLI::App& app, study::StudyOptions& o, DataFlags& d) {
  app.add_option("--space", o.space,
                 "built-in space (hparams, randaugment, mlp-hparams, nb201, darts, resnet-scale) or a JSON file")
      ->capture_default_str();
  app.add_option("--data", o.training.data, "dataset spec, as for train (folder:DIR, npy:DIR, csv:FILE: your data)")
      ->capture_default_str();
  add_data_flags(app, d);
  app.add_option("--model", o.training.model, "network, unless the space chooses it")
      ->check(CLI::IsMember(space::network_names()))
      ->capture_default_str();
  app.add_option("--width-mult", o.training.width_mult, "width, unless the space chooses it")->capture_default_str();
  app.add_option("--train-size", o.training.train_size, "training examples (0 = auto; your data: auto unless given)")
      ->capture_default_str();
  app.add_option("--val-size", o.training.val_size,
                 "validation examples, every score is measured on these (0 = auto: your data's val split, or 20%)")
      ->capture_default_str();
  app.add_option("--augment", o.training.augment, "as for train")->capture_default_str();
  app.add_option("--lr", o.training.lr, "initial lr, unless the space sets it")->capture_default_str();
  app.add_option("--weight-decay", o.training.weight_decay, "unless the space sets it")->capture_default_str();
  app.add_option("--batch-size", o.training.batch_size, "unless the space sets it")->capture_default_str();
  app.add_option("--channels", o.training.channels, "nb201/darts: initial channels (0 = 16 / 36)")
      ->capture_default_str();
  app.add_option("--cells", o.training.cells, "nb201: cells per stage (0 = 5); darts: layers (0 = 20)")
      ->capture_default_str();
  app.add_flag("--auxiliary", o.training.auxiliary, "darts: auxiliary head (loss weight 0.4)");
  app.add_option(
      "--flops-cap", o.training.flops_cap,
      "resnet-scale: MACs at most 2x (default; 1.12 G at width 1) or 4x ResNet-18's at the same --width-mult, "
      "or none");
  app.add_option("--window", o.training.window, "K: re-fit heads kept for fh and the window estimators")
      ->capture_default_str();
  app.add_option("--seed", o.seed, "seed of the split, the sampler and every trial")->capture_default_str();
  app.add_option("--sync-every", o.training.sync_every,
                 "training steps between reading the loss back (progress, divergence check); 0 = 1 on CPU, 20 on CUDA")
      ->check(at_least(0));
}

namespace {
std::string resolve_device(const std::string& requested, const std::string& flag) {
  std::string device = requested;
#if FHIST_TORCH_CUDA
  if (device == "auto") device = torch_runtime().cuda_device_count() > 0 ? "cuda" : "cpu";
#else
  if (device == "auto") device = "cpu";  // this LibTorch has no CUDA: no need to load it to ask
#endif
  static const std::regex name(R"(cpu|cuda(:[0-9]{1,4})?)");
  if (!std::regex_match(device, name)) {
    throw InputError(fmt::format("--device '{}': expected auto, cpu, cuda or cuda:N", flag));
  }
  if (device == "cpu") return device;
  const int gpus = torch_runtime().cuda_device_count();
  if (gpus == 0) {
    throw InputError(fmt::format("--device {}: this LibTorch build sees no CUDA device (use --device cpu)", device));
  }
  // The index rule a resume applies too (study::check_device_indices), in one place.
  study::check_device_indices(device, gpus, false, "");
  return device;
}
}  // namespace

ResolvedRuntime resolve_runtime(const RuntimeOptions& o, bool allow_list) {
  ResolvedRuntime r;
  r.threads = o.threads > 0 ? o.threads : default_threads();
  if (o.device.find(',') == std::string::npos) {
    r.device = resolve_device(o.device, o.device);
    return r;
  }
  if (!allow_list) throw InputError(fmt::format("--device '{}': this command uses one device", o.device));
  for (const auto& d : study::device_list(o.device)) {
    r.device += (r.device.empty() ? "" : ",") + resolve_device(d, o.device);
  }
  return r;
}

std::string apply_runtime(const RuntimeOptions& o, bool allow_list) {
  auto r = resolve_runtime(o, allow_list);
  torch_runtime().set_threads(r.threads);
  return r.device;
}

study::MakeObjective search_objective(int threads) {
  return [threads](const study::ObjectiveContext& ctx) -> std::unique_ptr<exec::Objective> {
    if (ctx.options.objective == "ask-tell") {
      throw InputError(fmt::format("{} is driven by your own loop (ask and tell): continue it with "
                                   "fhist::Study::open, not fhist search --resume",
                                   ctx.journal));
    }
    if (ctx.options.objective == "custom") {
      throw InputError(fmt::format("{} was made by {} (objective custom), which fhist search cannot run: continue it "
                                   "from that program (study::resume_study)",
                                   ctx.journal, study::objective_text(ctx.options)));
    }
    if (ctx.options.objective == "command") return command::make_command_objective(ctx);
    return torch_runtime().training_objective(threads)(ctx);
  };
}

}  // namespace fhist::cli
