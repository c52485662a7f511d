#pragma once
// The command objective: a user's own training script, in any language, as a search's objective
// (`fhist search --objective command --command 'python3 train.py'`). For each job fhist runs the command with the
// job in environment variables and in $FHIST_TRIAL_DIR/job.json, and reads one JSON object per epoch from its
// standard output. No Torch.
//
// The job, as environment variables (and the same keys, lower-case without the prefix, in job.json):
//   FHIST_TRIAL        the trial id
//   FHIST_CONFIG       the configuration as JSON text ({"lr": 0.01, ...})
//   FHIST_BUDGET       train up to this epoch (inclusive)
//   FHIST_START_EPOCH  the first epoch not yet recorded (> 1 for a promoted trial: continue from your checkpoint)
//   FHIST_MAX_BUDGET   the search's largest budget (lay a learning-rate schedule over it)
//   FHIST_TRIAL_DIR    an absolute folder for the trial's checkpoints, kept across its jobs
//   FHIST_SEED         a seed for the trial (derived from the search's seed and the trial id)
//   FHIST_WORKER, FHIST_DEVICE, FHIST_THREADS   the worker slot, its device and intra-op threads
// The script prints {"epoch": E, "train_loss": ..., "val_acc": ..., "val_loss": ..., "params": ...} per epoch
// (other keys are stored as the trial's own metrics); other lines are its log, kept in $FHIST_TRIAL_DIR/log.txt with
// its standard error. Epochs come in order from FHIST_START_EPOCH (epochs already recorded are skipped, so a script
// that restarts from an older checkpoint, or from scratch, is fine). A non-zero exit, a bad metrics line, fewer
// epochs than the budget, or --job-timeout is a failed trial with the reason stored, never a crashed search.
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "exec/executor.hpp"
#include "study/study.hpp"

namespace fhist::command {

// The objective's own options: StudyOptions::objective_options of a search whose objective is "command".
struct CommandOptions {
  std::string command;        // run with /bin/sh -c in fhist's working directory
  double job_timeout = 0.0;   // seconds per job; 0 = none

  // Throws InputError naming the flag.
  void validate() const;
  nlohmann::json to_json() const;
  static CommandOptions from_json(const nlohmann::json& j);
};

// Throws InputError for an estimator that needs what a script does not report (the network's features: fh, refit,
// ...), or bad options; before the journal exists.
std::unique_ptr<exec::Objective> make_command_objective(const study::ObjectiveContext& ctx);

}  // namespace fhist::command
