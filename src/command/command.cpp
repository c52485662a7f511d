#include "command/command.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <deque>
#include <filesystem>
#include <fstream>
#include <limits>
#include <mutex>

#include "command/metrics.hpp"
#include "command/process.hpp"
#include "core/errors.hpp"
#include "core/rng.hpp"
#include "score/scores.hpp"

namespace fhist::command {

namespace fs = std::filesystem;

void CommandOptions::validate() const {
  if (command.find_first_not_of(" \t") == std::string::npos) {
    throw InputError("--objective command needs --command 'CMD' (e.g. --command 'python3 train.py'): the program "
                     "fhist runs for each job");
  }
  if (!(job_timeout >= 0.0) || !std::isfinite(job_timeout)) {
    throw InputError(fmt::format("--job-timeout must be >= 0 seconds (0 = none; got {})", job_timeout));
  }
}

nlohmann::json CommandOptions::to_json() const { return {{"command", command}, {"job_timeout", job_timeout}}; }

CommandOptions CommandOptions::from_json(const nlohmann::json& j) {
  CommandOptions o;
  if (!j.is_object()) return o;
  o.command = j.value("command", std::string());
  o.job_timeout = j.value("job_timeout", 0.0);
  return o;
}

namespace {

constexpr double kFailedScore = -std::numeric_limits<double>::infinity();
constexpr std::size_t kStderrTail = 8;

double now_epoch_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

class CommandObjective final : public exec::Objective {
 public:
  explicit CommandObjective(const study::ObjectiveContext& ctx)
      : o_(ctx.options),
        c_(CommandOptions::from_json(ctx.options.objective_options)),
        journal_(ctx.journal),
        sink_(*ctx.sink),
        cancelled_(ctx.cancelled),
        on_step_(ctx.on_step),
        needed_(study::keys_needed(ctx.options.estimator, ctx.options.metric)),
        estimator_(score::make_estimator(ctx.options.estimator)) {
    c_.validate();
  }

  // A finished trial's folder keeps its log and metrics; the script's own files (checkpoints) go, unless
  // --keep-checkpoints.
  void release(std::int64_t trial) override {
    if (!o_.keep_checkpoints) study::clear_trial_dir(journal_, trial);
  }

  exec::Outcome run(const sched::Job& job, const space::Config& config, const exec::Worker& worker) override {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = exec::Outcome::of(job);
    r.score = kFailedScore;
    const fs::path dir = fs::absolute(study::trial_dir(journal_, job.trial));
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw EnvironmentError(fmt::format("trial {}: cannot create {}: {}", job.trial, dir.string(), ec.message()));

    // The trial's epochs so far: metrics.jsonl holds every accepted row, written before the journal's, so rows a
    // crash kept out of the journal are added now and none is added twice.
    score::TrialHistory history;
    history.final_epoch = o_.sched.max_budget;
    const auto metrics_path = dir / "metrics.jsonl";
    std::int64_t have = 0;
    const std::int64_t recorded = sink_.recorded(job.trial);
    {
      std::ifstream in(metrics_path);
      std::string line;
      std::uintmax_t good = 0;  // bytes of whole, in-order rows
      bool cut = false;
      while (std::getline(in, line)) {
        nlohmann::json row;
        try {
          row = nlohmann::json::parse(line);
        } catch (const nlohmann::json::exception&) {
          cut = true;  // a row cut short by a crash: the script reports that epoch again
          break;
        }
        const auto epoch = row.value("epoch", std::int64_t{0});
        if (epoch != have + 1 || in.eof()) {
          cut = true;  // (a last line without its newline was cut short too)
          break;
        }
        row.erase("epoch");
        score::append_epoch(history, epoch, row);
        if (epoch > recorded) sink_.add(job.trial, epoch, row);
        have = epoch;
        good += line.size() + 1;
      }
      in.close();
      // Rows appended after a cut one would never be read: the file keeps only the whole rows before it.
      if (cut) fs::resize_file(metrics_path, good, ec);
    }
    if (have < recorded) {
      throw EnvironmentError(fmt::format("trial {}: the journal holds {} epochs of it, and {} only {}: the trial "
                                         "folder was changed under the search; resume with the folder as it was",
                                         job.trial, recorded, metrics_path.string(), have));
    }

    std::ofstream log(dir / "log.txt", std::ios::app);
    log << fmt::format("--- fhist: trial {} epochs {}..{}, worker {}\n", job.trial, have + 1, job.budget_epochs,
                       worker.index);
    log.flush();
    const std::int64_t start_epoch = have + 1;
    const auto seed = derive_seed(o_.seed, Stream::kTrial, static_cast<std::uint64_t>(job.trial));
    nlohmann::json job_json = {{"trial", job.trial},           {"config", config.to_json()},
                               {"budget", job.budget_epochs},  {"start_epoch", start_epoch},
                               {"max_budget", o_.sched.max_budget}, {"trial_dir", dir.string()},
                               {"seed", seed},                 {"worker", worker.index},
                               {"device", worker.device},      {"threads", worker.threads}};
    {
      std::ofstream jf(dir / "job.json", std::ios::trunc);
      jf << job_json.dump(2) << "\n";
      if (!jf) throw EnvironmentError(fmt::format("trial {}: cannot write {}", job.trial, (dir / "job.json").string()));
    }
    ProcessOptions p;
    p.command = c_.command;
    p.env = {{"FHIST_TRIAL", std::to_string(job.trial)},
             {"FHIST_CONFIG", config.to_string()},
             {"FHIST_BUDGET", std::to_string(job.budget_epochs)},
             {"FHIST_START_EPOCH", std::to_string(start_epoch)},
             {"FHIST_MAX_BUDGET", std::to_string(o_.sched.max_budget)},
             {"FHIST_TRIAL_DIR", dir.string()},
             {"FHIST_SEED", std::to_string(seed)},
             {"FHIST_WORKER", std::to_string(worker.index)},
             {"FHIST_DEVICE", worker.device},
             {"FHIST_THREADS", std::to_string(worker.threads)}};

    std::string reason;  // why the job failed, once known
    std::deque<std::string> stderr_tail;
    std::ofstream rows(metrics_path, std::ios::app);
    auto last_line = std::chrono::steady_clock::now();
    auto on_stdout = [&](const std::string& line) {
      std::optional<study::EpochRecord> m;
      try {
        m = parse_metrics_line(line);
        if (m && m->epoch > have) m->check_has(needed_, o_.estimator);
      } catch (const InputError& e) {
        reason = e.what();
        return LineAction::kStop;
      }
      if (!m) {
        log << line << "\n";
        return LineAction::kContinue;
      }
      if (m->epoch <= have) return LineAction::kContinue;  // recorded before (a restart from an older checkpoint)
      if (m->epoch != have + 1) {
        reason = fmt::format("the command reported epoch {} after epoch {}: epochs must come in order, one each, "
                             "from FHIST_START_EPOCH ({})",
                             m->epoch, have, start_epoch);
        return LineAction::kStop;
      }
      if (m->epoch > job.budget_epochs) {
        reason = fmt::format("the command reported epoch {}, beyond the job's budget FHIST_BUDGET={}", m->epoch,
                             job.budget_epochs);
        return LineAction::kStop;
      }
      const auto now = std::chrono::steady_clock::now();
      auto row = study::epoch_row(*m, history, std::chrono::duration<double>(now - last_line).count(), o_.metric,
                                  o_.minimize());
      last_line = now;
      row["worker"] = worker.index;
      row["finished_at"] = now_epoch_seconds();
      nlohmann::json stored = row;
      stored["epoch"] = m->epoch;
      rows << stored.dump() << "\n";
      rows.flush();
      if (!rows) {
        throw EnvironmentError(fmt::format("trial {}: cannot write {}", job.trial, metrics_path.string()));
      }
      sink_.add(job.trial, m->epoch, row);
      have = m->epoch;
      if (on_step_) on_step_(job, m->epoch, 1, 1, m->train_loss.value_or(score::kNaN));
      return LineAction::kContinue;
    };
    auto on_stderr = [&](const std::string& line) {
      log << line << "\n";
      stderr_tail.push_back(line);
      if (stderr_tail.size() > kStderrTail) stderr_tail.pop_front();
    };
    ProcessResult pr;
    if (have < job.budget_epochs) {
      pr = run_process(p, on_stdout, on_stderr, cancelled_, c_.job_timeout);
      log.flush();
      if (cancelled_()) throw exec::Cancelled{};
    } else {
      pr.exited = true;  // every epoch was recorded before a crash: nothing to run
    }
    auto tail = [&]() {
      std::string t;
      for (const auto& l : stderr_tail) t += (t.empty() ? "" : " / ") + l;
      return t.empty() ? std::string() : fmt::format("; its last lines on stderr: {}", t);
    };
    if (reason.empty()) {
      if (pr.timed_out) {
        reason = fmt::format("no result within --job-timeout {} s (reached epoch {} of {})", c_.job_timeout, have,
                             job.budget_epochs);
      } else if (!pr.exited || pr.status != 0) {
        reason = fmt::format("the command ended with {}{} {}{}", describe(pr),
                             pr.exited && pr.status == 127 ? " (command not found)" : "",
                             have < start_epoch ? fmt::format("before reporting epoch {}", start_epoch)
                                                : fmt::format("after epoch {} of {}", have, job.budget_epochs),
                             tail());
      } else if (have < job.budget_epochs) {
        reason = have < start_epoch
                     ? fmt::format("the command exited without printing a metrics line (expected one JSON object "
                                   "per epoch on stdout, e.g. {{\"epoch\": {}, \"train_loss\": 0.5, \"val_acc\": "
                                   "0.8}}){}",
                                   start_epoch, tail())
                     : fmt::format("the command exited after reporting epoch {} of its budget {}{}", have,
                                   job.budget_epochs, tail());
      }
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!reason.empty()) {
      r.state = sched::TrialState::kFailed;
      r.message = reason;
      log << "--- fhist: failed: " << reason << "\n";
      return r;
    }
    study::score_outcome(r, history, *estimator_, o_.estimator);
    return r;
  }

 private:
  study::StudyOptions o_;
  CommandOptions c_;
  std::string journal_;
  exec::EpochSink& sink_;
  std::function<bool()> cancelled_;
  study::StepCallback on_step_;
  std::vector<std::string> needed_;
  std::unique_ptr<score::Estimator> estimator_;
};

}  // namespace

std::unique_ptr<exec::Objective> make_command_objective(const study::ObjectiveContext& ctx) {
  return std::make_unique<CommandObjective>(ctx);
}

}  // namespace fhist::command
