#pragma once
// Executors: where a search's jobs run. The study's loop hands jobs to an Executor and takes finished ones back; the
// Objective says what running a job means (training with checkpoints, reading a table, a test's fake). Failures of a
// configuration are data (an Outcome with state failed / diverged); an exception out of Objective::run means the
// machine or the journal cannot go on, and reaches the loop through Finished::error. No Torch.
#include <cstdint>
#include <exception>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "sched/scheduler.hpp"
#include "space/space.hpp"

namespace fhist::exec {

// One finished job.
struct Outcome {
  std::int64_t trial = 0;
  int bracket = 0;
  int rung = 0;
  std::int64_t budget_epochs = 0;
  double score = 0.0;                // the estimator's score (-inf: failed / diverged)
  // The metric at the end of the job, higher is better: the validation accuracy, or a user's --metric (negated for
  // --direction minimize; study::metric_text prints it as given).
  double value = 0.0;
  // complete, failed or diverged (sched::state_name gives the journal's word); an outcome never marked complete is not.
  sched::TrialState state = sched::TrialState::kFailed;
  std::string message;
  double seconds = 0.0;              // wall seconds the job took
  int worker = 0;                    // the executor's worker that ran it

  // The outcome of `job` before it ran: its trial, bracket, rung and budget filled in.
  static Outcome of(const sched::Job& job) {
    Outcome o;
    o.trial = job.trial;
    o.bracket = job.bracket;
    o.rung = job.rung;
    o.budget_epochs = job.budget_epochs;
    return o;
  }
};

// A worker slot of an executor: the objective sets it up (intra-op threads, a CUDA stream) on the thread that runs
// the job.
struct Worker {
  int index = 0;
  std::string device = "cpu";
  int threads = 0;                   // intra-op threads for its jobs; 0 = leave as they are
};

// Where a running job records its epochs: the journal in this process, or (MPI workers) a message to rank 0, the
// journal's only writer. Thread-safe.
class EpochSink {
 public:
  virtual ~EpochSink() = default;
  // Epochs of `trial` the journal already holds (a continued or rerun job records only the ones after them).
  virtual std::int64_t recorded(std::int64_t trial) = 0;
  virtual void add(std::int64_t trial, std::int64_t epoch, const nlohmann::json& record) = 0;
};

// Thrown out of Objective::run when the job was abandoned (an interrupt, another job's fatal error): not a failure
// of the configuration; the job stays started in the journal and a resume reruns it. Not a std::exception, so
// handlers of configuration failures let it through.
struct Cancelled {};

class Objective {
 public:
  virtual ~Objective() = default;
  // Runs `job` for `config` on `worker` and returns its outcome. Called from the executor's threads, several at once
  // when it has several workers: must be thread-safe. Throws only when the search cannot go on (machine, journal,
  // cancellation): the executor passes the exception to the loop.
  virtual Outcome run(const sched::Job& job, const space::Config& config, const Worker& worker) = 0;
  // Called on the thread that will run jobs for `worker`, before it runs one.
  virtual void prepare_thread(const Worker& worker) {}
  // The scheduler will run no more jobs of `trial` (finished, failed, or not promoted): what the objective keeps for
  // it (a checkpoint) may go. Called on the loop's thread, never while a job of `trial` runs; again for the same
  // trial when a resume replays the journal.
  virtual void release(std::int64_t trial) {}
};

// A job that ended: its outcome, or the exception that ended it.
struct Finished {
  std::optional<Outcome> outcome;
  std::exception_ptr error;
  sched::Job job;
  int worker = 0;
  double busy_seconds = 0.0;         // wall seconds the worker spent on it
};

class Executor {
 public:
  virtual ~Executor() = default;
  virtual int capacity() const = 0;  // jobs it runs at once
  virtual int running() const = 0;   // jobs submitted and not yet returned by wait_any
  // Starts `job` (requires running() < capacity()). The executor keeps its own copy of `config`.
  virtual void submit(const sched::Job& job, const space::Config& config) = 0;
  // Waits for one submitted job to end and returns it (requires running() > 0); jobs end in any order.
  virtual Finished wait_any() = 0;
  // Asks running jobs to stop early (they end with Cancelled); in-process objectives watch their own flag instead.
  virtual void cancel() {}
  virtual std::string name() const = 0;
};

// Runs each job on the calling thread, inside wait_any: one at a time, in submission order.
std::unique_ptr<Executor> make_inline_executor(Objective& objective, Worker worker = {});
// One thread per running job, up to workers.size() at once; job k of a worker slot runs on a fresh thread prepared by
// Objective::prepare_thread. The destructor waits for running jobs (the objective's own cancellation ends them).
std::unique_ptr<Executor> make_thread_executor(Objective& objective, std::vector<Worker> workers);

// Job and outcome on the wire (MPI messages), as JSON.
nlohmann::json to_json(const sched::Job& job);
sched::Job job_from_json(const nlohmann::json& j);
nlohmann::json to_json(const Outcome& o);
Outcome outcome_from_json(const nlohmann::json& j);

}  // namespace fhist::exec
