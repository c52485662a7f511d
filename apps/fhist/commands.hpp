#pragma once
// Subcommand registration. Each subcommand parses into an options struct, then runs; errors propagate as typed
// exceptions and main() maps them to exit codes.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <exception>
#include <string>
#include <vector>

#include "study/study.hpp"

namespace fhist::input {
struct DataOptions;
}

namespace fhist::cli {

// Exit codes: 0 ok, 1 runtime failure (data, I/O, divergence), 2 usage or bad input.
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// A whole number >= `min`, with a message a user can read (CLI11's own prints its 300-digit upper bound).
CLI::Validator at_least(long long min);

// An output file (-o) whose folder exists: fhist creates no folders the user did not ask for.
CLI::Validator output_path();

// Every command that has results to give: --json prints them as JSON on stdout, -o FILE writes them to FILE.
struct JsonOutput {
  bool json = false;
  std::string output;
  bool any() const { return json || !output.empty(); }
  // Writes `j` where asked; the file atomically (a crash leaves the old file or the new one).
  void write(const nlohmann::json& j) const;
};
void add_json_output_flags(CLI::App& app, JsonOutput& o, const std::string& what);
// What `fhist report --json` prints for a journal (its `top_n` best configurations); search -o writes it too. The
// scheduler's decisions are replayed from the journal, or taken from `page_facts` (page_data's facts) when it has them.
nlohmann::json journal_report_json(const std::string& journal, int top_n,
                                   const nlohmann::json& page_facts = nlohmann::json());

// Prints a command-line parse error as "fhist CMD: error: ...", with a suggestion for an unknown option or command
// ("unknown option --epoch (did you mean --epochs?)"). Returns the exit code (kExitUsage).
int report_parse_error(CLI::App& app, const CLI::ParseError& e);
// "fhist CMD" for the command being run (errors name it), "fhist" before one is parsed.
std::string error_prefix(const CLI::App& app);
// The first argument names no command: the error, with the nearest command, or "" when the command line is fine.
std::string unknown_command(const CLI::App& app, int argc, char** argv);

// --minutes M of search and table: no new job after M minutes of this run, but always a first one, so every rerun
// makes progress. `elapsed()` is in minutes since construction.
class MinutesLimit {
 public:
  explicit MinutesLimit(double minutes);
  double elapsed() const;
  // For study::Callbacks::should_stop (none when the limit is 0); the limit must outlive the run.
  std::function<bool()> should_stop();

 private:
  double minutes_;
  std::chrono::steady_clock::time_point start_;
  int asked_ = 0;
};

// Ctrl-C / SIGTERM while a search or table runs: the handlers only set a flag that the run polls at every step; a
// second signal exits at once. Restores the previous handlers when destroyed.
class InterruptGuard {
 public:
  InterruptGuard();
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;
  int signal() const;  // the signal received, 0 if none
  const char* name() const;

 private:
  void (*previous_int_)(int) = nullptr;
  void (*previous_term_)(int) = nullptr;
};

// Thrown after an interrupted command has said what finished and how to resume; main() exits with 128 + signal.
struct Interrupted {
  int signal;
};

struct RuntimeOptions {
  int threads = 0;              // 0 = default_threads() (core/cpus.hpp)
  std::string device = "auto";  // auto | cpu | cuda | cuda:N
  std::string precision = "fp32";  // fp32 | bf16 (autocast)
  bool channels_last = false;
};

void add_runtime_flags(CLI::App& app, RuntimeOptions& o);
// Adds --precision and --channels-last (for commands that train).
void add_speed_flags(CLI::App& app, RuntimeOptions& o);
// --threads (0 = default_threads()) and --device resolved ("auto" -> cuda or cpu). With `allow_list`, --device may list
// several devices ("cuda:0,cuda:1"), returned resolved and comma-joined. Loads LibTorch only to ask about CUDA (a
// cuda device, or auto where LibTorch was built with CUDA).
struct ResolvedRuntime {
  std::string device;
  int threads = 1;
};
ResolvedRuntime resolve_runtime(const RuntimeOptions& o, bool allow_list = false);
// resolve_runtime, and the process's intra-op threads set (LibTorch defaults to 1 here): for commands that train in
// this process. Returns the device.
std::string apply_runtime(const RuntimeOptions& o, bool allow_list = false);
// The objective a search's options name: fhist's training (LibTorch, loaded when the first job needs it, with
// `threads` intra-op threads) or a user's script (--objective command, no LibTorch). A journal of the ask-and-tell
// API is refused: its own loop continues it.
study::MakeObjective search_objective(int threads);

// How a user's data is read (--target, --image-size, ...): train, search, table and data share these flags.
struct DataFlags {
  std::string target;
  std::string image_size;  // HxW
  int image_channels = 0;
  bool skip_bad_images = false;
  int skip_rows = 0;
  bool no_header = false;
  std::string cache_dir;
  double holdout = 0.0;
  input::DataOptions options() const;  // InputError naming the flag for a bad value
};
void add_data_flags(CLI::App& app, DataFlags& d);
// While an image folder is decoded: a progress bar on a terminal ("decoding images"), erased when it is done.
std::function<void(std::int64_t, std::int64_t)> decoding_progress();
// Throws InputError when a flag for one kind of data is given with another (--target without csv:FILE, ...).
void check_data_flags(const CLI::App& app, const std::string& data);

// The flags of a study's space, data, network and training defaults (search and table share them).
void add_study_flags(CLI::App& app, study::StudyOptions& o, DataFlags& d);
// After parsing: the data options into `o`, and the defaults a user's data changes where the flag was not given
// (--train-size / --val-size 0 = auto; a csv table searches the mlp-hparams space).
void resolve_study_flags(const CLI::App& app, const DataFlags& d, study::StudyOptions& o);
// A new search or table on a user's data: reads it once before the journal exists (an image folder is decoded into
// its cache here, with a progress bar on a terminal, so no trial decodes), and stores the class names with the
// options (data_options.classes: class index -> the folder name, CSV value or original label).
void prepare_user_data(study::StudyOptions& o);

// The program: `commands` registered, the command line parsed and run, errors mapped to exit codes and messages (an
// MPI job aborted on a rank's error). `describe` words an exception that is none of fhist's (default: its what()).
using Registrar = void (*)(CLI::App&);
int run_program(int argc, char** argv, const std::vector<Registrar>& commands,
                const std::function<std::string(const std::exception&)>& describe = {});
// The commands that run without LibTorch: the launcher runs these itself and hands every other command line to
// LibTorch's part of the program (torch_runtime().main), which registers all of them.
const std::vector<std::string>& launcher_commands();
void register_launcher_commands(CLI::App& app);
void register_all_commands(CLI::App& app);  // in LibTorch's part (torch_main.cpp)

void register_train(CLI::App& app);
void register_estimate(CLI::App& app);
void register_search(CLI::App& app);  // plan, search
void register_evaluate(CLI::App& app);
void register_model_info(CLI::App& app);
void register_report(CLI::App& app);  // report, export
void register_table(CLI::App& app);  // rank, table, replay
void register_data(CLI::App& app);
void register_space(CLI::App& app);

}  // namespace fhist::cli
