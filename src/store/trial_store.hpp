#pragma once
// The trial journal: an append-only SQLite database (WAL) holding everything a search did, so that a search can be
// resumed after a crash by replaying it, and reported on afterwards. No Torch.
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/errors.hpp"

namespace fhist::store {

// The journal cannot be opened (in use by another search, newer/older schema, not an fhist journal, I/O error).
class StoreError : public Error {
 public:
  using Error::Error;
};

constexpr int kSchemaVersion = 1;

struct TrialRow {
  std::int64_t trial = 0;        // ids are assigned by the caller (0, 1, 2, ... in creation order)
  int bracket = 0;
  nlohmann::json config;         // the configuration, as Config::to_json
  std::string state = "pending"; // pending | running | paused | complete | failed | diverged | deleted
  std::string message;           // failure message, if any
};

// One row per epoch trained by any trial (what `fhist train` prints per epoch), in insertion order.
struct EpochRow {
  std::int64_t trial = 0;
  std::int64_t epoch = 0;
  nlohmann::json record;         // {"train_loss", "original_val_acc", "refit_val_acc", "estimate", "score", ...}
};

// The scheduler-level history. Replaying these in `seq` order into a fresh scheduler restores its state.
struct Event {
  std::int64_t seq = 0;          // assigned by the store on append: 1, 2, 3, ...
  std::string kind;              // "start" (a job handed out) | "result" (a job reported)
  std::int64_t trial = 0;
  int bracket = 0;
  int rung = 0;
  std::int64_t budget_epochs = 0;
  double score = 0.0;            // result: the score (may be -inf; stored so it reads back as -inf)
  std::string state;             // result: complete | failed | diverged
  double seconds = 0.0;          // result: wall seconds the job took
  std::string message;           // result: failure message
};

// Every method may be called from several threads at once (a search's workers write epochs while the scheduling
// thread writes events); calls are serialized.
class TrialStore {
 public:
  virtual ~TrialStore() = default;

  // The study's definition (space, algorithm, estimator, seeds, flags, fhist version); written once at creation.
  virtual void write_study(const nlohmann::json& study) = 0;
  virtual std::optional<nlohmann::json> read_study() const = 0;

  virtual void add_trial(const TrialRow& trial) = 0;                         // throws StoreError on a duplicate id
  virtual void set_trial_state(std::int64_t trial, const std::string& state, const std::string& message = "") = 0;
  virtual void add_epoch(const EpochRow& row) = 0;
  virtual std::int64_t add_event(Event event) = 0;                         // returns the assigned seq

  virtual std::vector<TrialRow> trials() const = 0;                        // by id
  virtual std::optional<TrialRow> trial(std::int64_t id) const = 0;
  virtual std::vector<EpochRow> epochs(std::optional<std::int64_t> trial = std::nullopt) const = 0;
  virtual std::vector<Event> events() const = 0;                           // by seq
  virtual std::string path() const = 0;
};

// Opens (create = true: creates if missing) the SQLite journal at `path`. Holds an exclusive lock for the lifetime
// of the object: a second open of the same journal, from this or another process, throws StoreError naming the path
// ("... is in use by another search (pid N)"); the lock dies with the process, so kill -9 leaves no stale lock.
// Throws StoreError if the file is not an fhist journal or its schema version differs from kSchemaVersion
// (naming both versions). Every write is its own transaction, durable once the call returns.
std::unique_ptr<TrialStore> open_sqlite_store(const std::string& path, bool create);
// Opens an existing journal for reading only, without the lock: reports and exports work while a search runs (WAL
// readers see the last committed state). Writes throw StoreError.
std::unique_ptr<TrialStore> open_sqlite_store_readonly(const std::string& path);
// True while a process holds the journal's lock (a search or table is running on it). A journal whose runs were
// interrupted or killed holds no lock: its "running" trials are the ones a resume reruns.
bool journal_in_use(const std::string& path);
// True for a journal whose search never started: killed while creating it, before the study record was written
// (an empty file, or the schema without a study). Nothing is in it to resume or to lose.
bool journal_unstarted(const std::string& path);

// A journal that lives in memory only (`name` is what path() returns): the same contract, no file, no lock. For
// replays over a table, where many whole searches run in one process.
std::unique_ptr<TrialStore> open_memory_store(const std::string& name = ":memory:");

}  // namespace fhist::store
