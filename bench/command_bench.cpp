// What the command objective costs over an in-process objective, measured in one run, like against like: the same
// search (random search, --jobs configurations, one job each), the same epoch rows into the same SQLite journal.
//   1. in-process: an objective that writes each epoch's row (loss, accuracy, every score) straight to the journal;
//   2. command: a shell script that prints the same epochs as JSON lines, read, checked and recorded by fhist;
//   3. the script alone: /bin/sh started and waited for, its output discarded (the user's own start-up, which the
//      overhead leaves out).
// Per job start: (2 - 1 - 3) with one epoch per job; per epoch record: (2 - 1) / epochs, with --epochs per job.
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "command/command.hpp"
#include "command/process.hpp"
#include "score/scores.hpp"
#include "study/study.hpp"

namespace {

using namespace fhist;

double accuracy(std::int64_t e) { return 0.9 - 0.3 / static_cast<double>(e); }

class InProcess : public exec::Objective {
 public:
  explicit InProcess(exec::EpochSink& sink) : sink_(sink) {}
  exec::Outcome run(const sched::Job& job, const space::Config&, const exec::Worker&) override {
    score::TrialHistory h;
    h.final_epoch = job.budget_epochs;  // as the command objective's (the search's max budget)
    for (std::int64_t e = 1; e <= job.budget_epochs; ++e) {
      nlohmann::json row = {{"train_loss", 1.0 / e}, {"original_val_acc", accuracy(e)}};
      score::append_epoch(h, e, row);
      nlohmann::json scores = nlohmann::json::object();
      for (const auto& [k, v] : score::score_all(h)) scores[k] = study::json_number(v);
      row["scores"] = scores;
      sink_.add(job.trial, e, row);
    }
    exec::Outcome o;
    o.trial = job.trial;
    o.budget_epochs = job.budget_epochs;
    o.value = o.score = accuracy(job.budget_epochs);
    o.state = fhist::sched::TrialState::kComplete;
    return o;
  }

 private:
  exec::EpochSink& sink_;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fhist command-objective benchmark: overhead per job start and per epoch record"};
  int jobs = 200, long_jobs = 20;
  std::int64_t epochs = 100;
  std::string dir = "bench-command";
  app.add_option("--jobs", jobs, "jobs (one epoch each) for the per-job figure")->capture_default_str();
  app.add_option("--epochs", epochs, "epochs per job for the per-record figure")->capture_default_str();
  app.add_option("--long-jobs", long_jobs, "jobs of --epochs epochs for the per-record figure")->capture_default_str();
  app.add_option("--dir", dir, "scratch folder (emptied)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  namespace fs = std::filesystem;
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string script = (fs::path(dir) / "curve.sh").string();
  // The same learning curve as InProcess, printed with %.17g (round trip exact).
  std::ofstream(script) << "awk -v s=$FHIST_START_EPOCH -v b=$FHIST_BUDGET 'BEGIN { for (e = s; e <= b; e++) "
                           "printf \"{\\\"epoch\\\": %d, \\\"train_loss\\\": %.17g, \\\"val_acc\\\": %.17g}\\n\", "
                           "e, 1.0 / e, 0.9 - 0.3 / e }'\n";
  auto search = [&](bool command, int n, std::int64_t budget, const std::string& name) {
    study::StudyOptions o;
    o.algo = "random";
    o.estimator = "tse-ema";
    o.sched.n_configs = n;
    o.sched.min_budget = o.sched.max_budget = budget;
    o.keep_checkpoints = true;
    study::MakeObjective make = [](const study::ObjectiveContext& ctx) {
      return std::make_unique<InProcess>(*ctx.sink);
    };
    if (command) {
      o.objective = "command";
      o.objective_options = command::CommandOptions{"sh " + script, 0.0}.to_json();
      make = command::make_command_objective;
    }
    const auto t0 = std::chrono::steady_clock::now();
    study::run_study(o, (fs::path(dir) / (name + ".db")).string(), make);
    return seconds_since(t0);
  };
  // The script alone, with the same environment a job gets (FHIST_START_EPOCH=1, FHIST_BUDGET=1).
  auto script_alone = [&](int n) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) {
      command::ProcessOptions p;
      p.command = "sh " + script;
      p.env = {{"FHIST_START_EPOCH", "1"}, {"FHIST_BUDGET", "1"}};
      command::run_process(p, [](const std::string&) { return command::LineAction::kContinue; },
                           [](const std::string&) {}, {}, 0.0);
    }
    return seconds_since(t0);
  };
  search(false, 5, 1, "warm-a");  // SQLite, the page cache, the shell: warmed up, untimed
  search(true, 5, 1, "warm-b");
  const double in_jobs = search(false, jobs, 1, "in-jobs");
  const double cmd_jobs = search(true, jobs, 1, "cmd-jobs");
  const double alone = script_alone(jobs);
  const double in_epochs = search(false, long_jobs, epochs, "in-epochs");
  const double cmd_epochs = search(true, long_jobs, epochs, "cmd-epochs");
  const double per_job = (cmd_jobs - in_jobs - alone) / jobs;
  const double per_record = (cmd_epochs - in_epochs) / static_cast<double>(epochs * long_jobs);
  fmt::print("{} jobs of 1 epoch: in-process {:.3f} s, command {:.3f} s, the script alone {:.3f} s\n", jobs, in_jobs,
             cmd_jobs, alone);
  fmt::print("{} jobs of {} epochs: in-process {:.3f} s, command {:.3f} s\n", long_jobs, epochs, in_epochs, cmd_epochs);
  fmt::print("overhead per job start: {:.2f} ms (target < 50 ms), per epoch record: {:.3f} ms (target < 5 ms)\n",
             1e3 * per_job, 1e3 * per_record);
  fmt::print("command / in-process: {:.2f}x per 1-epoch job (script start-up included), {:.2f}x per epoch record\n",
             cmd_jobs / in_jobs, cmd_epochs / in_epochs);
  return 0;
}
