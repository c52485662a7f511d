#include "report/console.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include "core/progress.hpp"
#include "core/text.hpp"
#include "sched/scheduler.hpp"
#include "score/scores.hpp"

namespace fhist::report {

std::string score_text(double score, const study::StudyOptions& o) {
  if (!std::isfinite(score)) return "failed";
  // An accuracy estimator's score is a percentage; with a user's own --metric, original and best-acc are that metric
  // (negated to minimize), a plain number.
  if (o.metric == "val_acc" && score::make_estimator(o.estimator)->info().is_accuracy) {
    return fmt::format("{:.2f}%", 100.0 * score);
  }
  return fmt::format("{:.4g}", score);
}

std::string duration_text(double seconds) {
  if (seconds < 90) return fmt::format("{:.0f} s", seconds);
  if (seconds < 5400) return fmt::format("{:.0f} min", seconds / 60);
  return fmt::format("{:.1f} h", seconds / 3600);
}

namespace {

// The running jobs on one line of stderr (a terminal only): several workers report steps at once.
class JobsLine {
 public:
  void step(const sched::Job& job, std::int64_t epoch, std::int64_t step, std::int64_t steps, double loss) {
    std::lock_guard<std::mutex> lock(mu_);
    running_[job.trial] = fmt::format("t{} {}/{}ep {:>3}% {:.3f}", job.trial, epoch, job.budget_epochs,
                                      100 * step / std::max<std::int64_t>(steps, 1), loss);
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    std::string line;
    for (const auto& [t, s] : running_) line += (line.empty() ? "" : " | ") + s;
    fmt::print(stderr, "\r\033[K{}", line);
    std::fflush(stderr);
  }
  // Called before a result line is printed.
  void finished(std::int64_t trial) {
    std::lock_guard<std::mutex> lock(mu_);
    running_.erase(trial);
    if (enabled_) fmt::print(stderr, "\r\033[K");
  }

 private:
  std::mutex mu_;
  std::map<std::int64_t, std::string> running_;
  bool enabled_ = ProgressBar::stderr_is_terminal();
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace

// Where a search stands against its plan: job k/N, epochs e/E, the best so far and an ETA from this run's pace (wall
// seconds per epoch since it started, so several workers count). Warns once when the rest will take hours.
struct ConsoleReporter::State {
  State(const study::StudyOptions& o, int w, std::int64_t before, std::FILE* f)
      : options(o), workers(w), epochs_before(before), out(f), plan(sched::search_plan(o.algo, o.sched)),
        jobs(sched::total_jobs(plan)), epochs(sched::total_epochs(plan)) {}

  study::StudyOptions options;
  int workers;
  std::int64_t epochs_before;
  std::FILE* out;
  std::vector<sched::BracketPlan> plan;
  std::int64_t jobs, epochs;
  bool warned = false;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  std::unique_ptr<ProgressBar> bar;  // one job at a time: a bar per epoch
  std::int64_t last_step = 0;
  JobsLine running;                  // several at once: one line

  double elapsed() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); }
  std::optional<double> remaining_seconds(const study::StudySummary& s) const {
    const auto done = s.epochs_trained - epochs_before;
    if (done <= 0) return std::nullopt;
    const auto left = std::max<std::int64_t>(0, epochs - s.epochs_trained);
    return elapsed() / static_cast<double>(done) * static_cast<double>(left);
  }

  std::string line(const study::StudySummary& s) const {
    std::string text = fmt::format("job {}/{}, epochs {}/{}", s.jobs, jobs, s.epochs_trained, epochs);
    // The incumbent's score and measured accuracy: at the full budget the accuracy is what picks it.
    if (s.best) {
      text += fmt::format(", best trial {} ({}, {})", s.best->trial, score_text(s.best->score, options),
                          options.metric == "val_acc" ? "val " + study::metric_text(options, s.best->value)
                                                      : study::metric_text(options, s.best->value));
    }
    if (const auto eta = remaining_seconds(s)) text += ", ETA " + duration_text(*eta);
    return text;
  }

  // A note, once, when the epochs left will take more than an hour at this pace.
  std::string warning(const study::StudySummary& s) {
    const auto eta = remaining_seconds(s);
    if (warned || !eta || *eta < 3600) return {};
    warned = true;
    return fmt::format("note: at this pace ({:.1f} s per epoch) the {} epochs left take about {}. A smaller plan: "
                       "--max-budget, --n-configs, --train-size, more --workers on a GPU (fhist plan prints a plan's "
                       "size); Ctrl-C stops cleanly and --resume goes on later.",
                       elapsed() / static_cast<double>(s.epochs_trained - epochs_before),
                       std::max<std::int64_t>(0, epochs - s.epochs_trained), duration_text(*eta));
  }
};

ConsoleReporter::ConsoleReporter(const study::StudyOptions& options, int workers, std::int64_t epochs_before,
                                 std::FILE* out)
    : state_(std::make_unique<State>(options, workers, epochs_before, out)) {}

ConsoleReporter::~ConsoleReporter() = default;

void ConsoleReporter::started(const std::string& journal, bool resuming, int threads,
                              const std::string& device) const {
  const auto& o = state_->options;
  state_->start = std::chrono::steady_clock::now();  // the ETA counts training from here, not data loading
  if (resuming) {
    fmt::print(state_->out, "resuming {}: {} + {} estimator on {}, seed {}, {} threads, {} worker(s)\n", journal,
               o.algo, o.estimator, o.objective == "command" ? study::objective_text(o) : o.training.data, o.seed,
               threads, state_->workers);
  } else if (!o.table.empty()) {
    // The table's data, network and training settings apply (study::run_study), not this command's defaults.
    fmt::print(state_->out,
               "search: {} + {} estimator over the configurations of table {} ({}), budgets {}..{} eta {}, seed {}, "
               "{} threads, {} worker(s) on {}\n",
               o.algo, o.estimator, o.table, o.objective == "table" ? "read from the table" : "trained as the table did",
               o.sched.min_budget, o.sched.max_budget, o.sched.eta, o.seed, threads, state_->workers, device);
  } else {
    fmt::print(state_->out,
               "search: {} + {} estimator, space {}, {}, budgets {}..{} eta {}, seed {}, {} threads, {} worker(s) "
               "on {}\n",
               o.algo, o.estimator, o.space, study::objective_text(o), o.sched.min_budget, o.sched.max_budget,
               o.sched.eta, o.seed, threads, state_->workers, device);
  }
  const auto& plan = state_->plan;
  fmt::print(state_->out, "plan: {} configurations, {} jobs, {} epochs ({} {}..{} eta {}{})\n",
             sched::total_configs(plan), sched::total_jobs(plan), sched::total_epochs(plan), o.algo,
             o.sched.min_budget, o.sched.max_budget, o.sched.eta,
             o.algo == "asha" ? "; ASHA's count is its synchronous equivalent" : "");
  std::fflush(state_->out);
}

study::Callbacks ConsoleReporter::callbacks() {
  study::Callbacks cb;
  State& st = *state_;
  cb.on_step = [&st](const sched::Job& job, std::int64_t epoch, std::int64_t step, std::int64_t steps, double loss) {
    if (st.workers > 1) return st.running.step(job, epoch, step, steps, loss);
    // A new bar for each epoch. The trainer reports every few steps (every 20 on CUDA), so step 1 may never come.
    if (!st.bar || step <= st.last_step) {
      if (st.bar) st.bar->finish();
      st.bar = std::make_unique<ProgressBar>(steps, fmt::format("[bracket {} rung {}] trial {} epoch {}/{}",
                                                                job.bracket, job.rung, job.trial, epoch,
                                                                job.budget_epochs));
    }
    st.last_step = step;
    st.bar->update(step, fmt::format("loss {:.4f}", loss));
  };
  cb.on_result = [&st](const study::TrialResult& r, const study::StudySummary& s) {
    if (st.bar) st.bar->finish();
    st.bar.reset();
    st.last_step = 0;
    st.running.finished(r.trial);
    // A scheduler that chooses its plan (top-k-auto) has chosen one other than the plan counted: the totals follow it.
    if (!s.plan.empty() && (sched::total_jobs(s.plan) != st.jobs || sched::total_epochs(s.plan) != st.epochs)) {
      st.plan = s.plan;
      st.jobs = sched::total_jobs(s.plan);
      st.epochs = sched::total_epochs(s.plan);
      fmt::print(st.out, "plan: now {} configurations, {} jobs, {} epochs ({}: {})\n", sched::total_configs(s.plan),
                 st.jobs, st.epochs, st.options.algo, s.plan_name);
    }
    fmt::print(st.out, "[bracket {} rung {}] trial {:>3} {:>3} {:<7} score {:>7} ({} {}) {:6.1f} s | {}{}\n",
               r.bracket, r.rung, r.trial, r.budget_epochs, r.budget_epochs == 1 ? "epoch:" : "epochs:",
               score_text(r.score, st.options), st.options.metric == "val_acc" ? "original" : "metric",
               study::metric_text(st.options, r.value), r.seconds, st.line(s),
               r.message.empty() ? "" : " | " + r.message);
    const auto note = st.warning(s);
    if (!note.empty()) fmt::print(st.out, "{}\n", note);
    std::fflush(st.out);
  };
  return cb;
}

void ConsoleReporter::interrupted(const study::StudySummary& s, const std::string& signal) const {
  if (state_->bar) state_->bar->finish();
  fmt::print(state_->out,
             "\ninterrupted by {}: {} trials, {} epochs recorded in {}; {} running job(s) stopped and will continue "
             "from their last checkpoint.\nresume with: fhist search --resume --journal {}\n",
             signal, s.trials, s.epochs_trained, s.journal, s.abandoned, s.journal);
  std::fflush(state_->out);
}

std::vector<std::string> journal_plan_lines(const study::StudyOptions& o, const std::string& journal) {
  if (o.algo != "top-k-auto" && o.estimator != score::kAdaptive && !score::hedge_pair(o.estimator)) return {};
  return plan_lines(o, study::replay_journal(journal));
}

std::vector<std::string> plan_lines(const study::StudyOptions& o, const study::StudySummary& s) {
  std::vector<std::string> out;
  if (!s.ranked_by.empty()) {
    // What --estimator auto learned: per budget, the score that best predicted the next rung, and on how much.
    std::string text;
    for (const auto& [budget, r] : s.ranked_by) {
      text += fmt::format("{}{} by {} ({})", text.empty() ? "" : "; ", count_of(budget, "epoch"), r.score,
                          r.pairs == 0 ? std::string("no pairs yet: the fallback")
                                       : fmt::format("{}: tau {:.2f} over {} pairs", r.basis, r.tau, r.pairs));
    }
    out.push_back(fmt::format("auto: rungs at {}", text));
  }
  if (!s.decision.empty()) out.push_back(fmt::format("top-k-auto: {}", s.decision));
  if (const auto pair = score::hedge_pair(o.estimator); pair && s.hedge) {
    // Which ranking the study's own evidence lets pick first, so a reader can tell why the finalists are those.
    auto best = [&](std::size_t i) {
      return std::isfinite(s.hedge->best[i]) ? study::metric_text(o, s.hedge->best[i]) : std::string("none yet");
    };
    out.push_back(fmt::format(
        "hedge: {}'s ranking picks first at the next promotion (the best {} at the full budget of the trials each "
        "ranking promoted: {} {}, {} {})",
        s.hedge->first == 0 ? pair->first : pair->second, study::metric_name(o), pair->first, best(0), pair->second,
        best(1)));
  }
  return out;
}

void ConsoleReporter::finished(const study::StudySummary& s) const {
  std::FILE* out = state_->out;
  fmt::print(out, "\n");
  if (!s.best) {
    fmt::print(out, "no trial finished successfully\n");
  } else {
    const auto& o = state_->options;
    fmt::print(out, "best: trial {} {} | {} score {}, {} {} at {}\n", s.best->trial, s.best_config.to_string(),
               study::score_name(o), score_text(s.best->score, o),
               o.metric == "val_acc" ? "validation accuracy" : "metric", study::metric_text(o, s.best->value),
               count_of(s.best->budget_epochs, "epoch"));
  }
  fmt::print(out, "spent: {} trials, {} jobs, {} epochs, {:.0f} s of training\n", s.trials, s.jobs, s.epochs_trained,
             s.seconds);
  for (const auto& line : plan_lines(state_->options, s)) fmt::print(out, "{}\n", line);
  if (s.wall_seconds > 0 && !s.worker_busy_seconds.empty()) {
    std::string u;
    for (std::size_t w = 0; w < s.worker_busy_seconds.size(); ++w) {
      u += fmt::format("{}{:.0f}%", w == 0 ? "" : ", ", 100.0 * s.worker_busy_seconds[w] / s.wall_seconds);
    }
    fmt::print(out, "workers: {} busy of {:.1f} s wall (utilisation per worker, this run)\n", u, s.wall_seconds);
  }
  fmt::print(out, "journal: {}\n", s.journal);
}

}  // namespace fhist::report
