#include <fcntl.h>
#include <fmt/format.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <mutex>
#include <optional>

#include "store/trial_store.hpp"

namespace fhist::store {

namespace {

using nlohmann::json;

// "fhis" in ASCII: PRAGMA application_id marks the file as an fhist journal (see https://sqlite.org/fileformat.html).
constexpr int kApplicationId = 0x66686973;

// Everything in one transaction with the version stamps, so a crash mid-creation leaves an empty database (which
// the next open initialises again), never a half-made journal.
constexpr const char* kSchema = R"sql(
BEGIN;
CREATE TABLE study (id INTEGER PRIMARY KEY CHECK (id = 1), definition TEXT NOT NULL);
CREATE TABLE trials (id INTEGER PRIMARY KEY, bracket INTEGER NOT NULL, config TEXT NOT NULL,
                     state TEXT NOT NULL, message TEXT NOT NULL);
CREATE TABLE epochs (id INTEGER PRIMARY KEY, trial INTEGER NOT NULL REFERENCES trials (id),
                     epoch INTEGER NOT NULL, record TEXT NOT NULL);
CREATE INDEX epochs_by_trial ON epochs (trial, id);
-- score/seconds: SQLite REAL holds +-inf exactly but turns NaN into NULL, so NULL reads back as NaN.
CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, trial INTEGER NOT NULL,
                     bracket INTEGER NOT NULL, rung INTEGER NOT NULL, budget_epochs INTEGER NOT NULL,
                     score REAL, state TEXT NOT NULL, seconds REAL, message TEXT NOT NULL);
PRAGMA application_id = 1718118771;
PRAGMA user_version = 1;
COMMIT;
)sql";
static_assert(kApplicationId == 1718118771 && kSchemaVersion == 1, "keep kSchema's PRAGMAs in step");

// The exclusive lock on "<path>.lock". flock belongs to the open file description, so it conflicts between two
// opens in one process too, and the kernel drops it when the process dies (kill -9 leaves no stale lock).
class LockFile {
 public:
  explicit LockFile(const std::string& journal) : path_(journal + ".lock") {
    // The holder unlinks the file when it closes (no leftover beside the journal). Another search may have opened
    // that file before it went, and then lock a file no longer at the path: such a lock is retried on the new file.
    for (int attempt = 0;; ++attempt) {
      if (try_lock(journal)) break;
      if (attempt == 10) throw StoreError(fmt::format("cannot lock {}: it keeps being replaced", path_));
    }
    // Only informational (the lock itself is the flock), so a failed write is not fatal.
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd_, 0) == 0) (void)!::pwrite(fd_, pid.data(), pid.size(), 0);
  }
  // Unlinked while still held, so no other search can take this file's lock once it is gone from the path.
  ~LockFile() {
    ::unlink(path_.c_str());
    ::close(fd_);
  }
  LockFile(const LockFile&) = delete;
  LockFile& operator=(const LockFile&) = delete;

 private:
  // True once this process holds the lock of the file now at path_.
  bool try_lock(const std::string& journal) {
    // Never through a symlink: in a shared folder one could point the pid write below at another file.
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd_ < 0 && errno == ELOOP) {
      throw StoreError(fmt::format("lock file {} is a symbolic link; fhist does not follow it (remove it, or use "
                                   "another --journal)",
                                   path_));
    }
    if (fd_ < 0) throw StoreError(fmt::format("cannot open lock file {}: {}", path_, std::strerror(errno)));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      std::string holder = read_pid();
      ::close(fd_);
      if (err == EWOULDBLOCK) {
        throw StoreError(fmt::format("{} is in use by another search (pid {})", journal,
                                     holder.empty() ? std::string("unknown") : holder));
      }
      throw StoreError(fmt::format("cannot lock {}: {}", path_, std::strerror(err)));
    }
    struct stat held {}, now {};
    if (::fstat(fd_, &held) == 0 && ::stat(path_.c_str(), &now) == 0 && held.st_dev == now.st_dev &&
        held.st_ino == now.st_ino) {
      return true;
    }
    ::close(fd_);  // the previous holder unlinked it meanwhile
    return false;
  }

  std::string read_pid() const {
    char buf[32] = {};
    const ssize_t n = ::pread(fd_, buf, sizeof buf - 1, 0);
    std::string s(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
  }
  std::string path_;
  int fd_ = -1;
};

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// Resets a cached statement when leaving scope, even on a throw, so it can be reused and holds no read snapshot.
class Use {
 public:
  explicit Use(const Stmt& s) : s_(s.get()) {}
  ~Use() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  Use(const Use&) = delete;
  Use& operator=(const Use&) = delete;
  sqlite3_stmt* get() const { return s_; }

 private:
  sqlite3_stmt* s_;
};

double column_real(sqlite3_stmt* s, int i) {
  return sqlite3_column_type(s, i) == SQLITE_NULL ? std::numeric_limits<double>::quiet_NaN()
                                                  : sqlite3_column_double(s, i);
}

std::string column_text(sqlite3_stmt* s, int i) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
  return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s, i))) : std::string();
}

// file:PATH?immutable=1, with the characters a URI gives meaning to escaped.
std::string immutable_uri(const std::string& path) {
  std::string uri = "file:";
  for (const char c : std::filesystem::absolute(path).string()) {
    if (c == '?' || c == '#' || c == '%') {
      uri += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    } else {
      uri += c;
    }
  }
  return uri + "?immutable=1";
}

// Refuses what cannot be a journal before SQLite says "disk I/O error" about it.
void check_journal_path(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw StoreError(fmt::format("{} is a directory; expected an fhist journal file (SQLite), e.g. runs/search.db",
                                 path));
  }
}

bool folder_writable(const std::string& path) {
  auto dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  return ::access(dir.c_str(), W_OK) == 0;
}

class SqliteStore final : public TrialStore {
 public:
  // read_only: no lock (a running search may hold it) and no writes; WAL lets it read while the search writes.
  // immutable (read-only only): the journal sits in a folder nobody can write, so no search can be changing it and
  // SQLite may read it without the -shm file it cannot create there.
  SqliteStore(const std::string& path, bool create, bool read_only, bool immutable = false) : path_(path) {
    if (!read_only) lock_.emplace(path);
    sqlite3* raw = nullptr;
    const int flags = (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) | (create ? SQLITE_OPEN_CREATE : 0) |
                      SQLITE_OPEN_NOMUTEX | (immutable ? SQLITE_OPEN_URI : 0);
    // "file:x.db" is a file of that name to fhist (the existence checks, the lock); SQLite, whose URI filenames may be
    // on by default, would open x.db instead. "./file:x.db" is never a URI.
    const std::string literal = path.rfind("file:", 0) == 0 ? "./" + path : path;
    const int rc = sqlite3_open_v2(immutable ? immutable_uri(path).c_str() : literal.c_str(), &raw, flags, nullptr);
    db_.reset(raw);  // owned even on failure: sqlite3_open_v2 allocates a handle to carry the message
    if (rc != SQLITE_OK) fail(rc, "cannot open");
    sqlite3_extended_result_codes(db_.get(), 1);
    // A reader may hold the journal for a moment as a search switches it to WAL (or back, as it closes).
    sqlite3_busy_timeout(db_.get(), 5000);

    // Inspect before changing anything: a foreign database must not be switched to WAL or given our tables.
    const int app_id = query_int("PRAGMA application_id");
    const int version = query_int("PRAGMA user_version");
    const bool empty = app_id == 0 && version == 0 && query_int("SELECT count(*) FROM sqlite_master") == 0;
    if (!empty && app_id != kApplicationId) {
      throw StoreError(fmt::format("{} is not an fhist journal: an SQLite database with application_id {:#x}, "
                                   "expected {:#x}",
                                   path_, static_cast<unsigned>(app_id), kApplicationId));
    }
    if (!empty && version != kSchemaVersion) {
      throw StoreError(fmt::format("{} has journal schema version {}, but this fhist reads version {}", path_,
                                   version, kSchemaVersion));
    }
    if (empty && !create) throw StoreError(fmt::format("{} is empty, not an fhist journal", path_));

    // WAL: a commit is one append to the -wal file; NORMAL syncs at checkpoints, which survives any process crash
    // (kill -9) and keeps the database consistent on power loss, where only the last commits may be lost.
    // journal_mode answers with the mode it ended up in: some file systems (no shared memory) cannot do WAL.
    if (!read_only && query_text("PRAGMA journal_mode = WAL") != "wal") {
      throw StoreError(fmt::format("{}: cannot switch the journal to WAL mode", path_));
    }
    if (!read_only) exec("PRAGMA synchronous = NORMAL");
    exec("PRAGMA foreign_keys = ON");
    if (empty) exec(kSchema);

    put_study_ = prepare("INSERT INTO study (id, definition) VALUES (1, ?1) "
                         "ON CONFLICT (id) DO UPDATE SET definition = excluded.definition");
    get_study_ = prepare("SELECT definition FROM study WHERE id = 1");
    add_trial_ = prepare("INSERT INTO trials (id, bracket, config, state, message) VALUES (?1, ?2, ?3, ?4, ?5)");
    set_state_ = prepare("UPDATE trials SET state = ?2, message = ?3 WHERE id = ?1");
    add_epoch_ = prepare("INSERT INTO epochs (trial, epoch, record) VALUES (?1, ?2, ?3)");
    add_event_ = prepare("INSERT INTO events (kind, trial, bracket, rung, budget_epochs, score, state, seconds, "
                         "message) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    all_trials_ = prepare("SELECT id, bracket, config, state, message FROM trials ORDER BY id");
    one_trial_ = prepare("SELECT id, bracket, config, state, message FROM trials WHERE id = ?1");
    all_epochs_ = prepare("SELECT trial, epoch, record FROM epochs ORDER BY id");
    trial_epochs_ = prepare("SELECT trial, epoch, record FROM epochs WHERE trial = ?1 ORDER BY id");
    all_events_ = prepare("SELECT seq, kind, trial, bracket, rung, budget_epochs, score, state, seconds, message "
                          "FROM events ORDER BY seq");
  }

  void write_study(const nlohmann::json& study) override {
    std::lock_guard<std::mutex> g(mu_);
    Use s(put_study_);
    bind_text(s, 1, dump(study, "study"));
    step_done(s, "cannot write the study");
  }

  std::optional<nlohmann::json> read_study() const override {
    std::lock_guard<std::mutex> g(mu_);
    Use s(get_study_);
    if (!step_row(s, "cannot read the study")) return std::nullopt;
    return parse(column_text(s.get(), 0), "the study");
  }

  void add_trial(const TrialRow& t) override {
    std::lock_guard<std::mutex> g(mu_);
    Use s(add_trial_);
    sqlite3_bind_int64(s.get(), 1, t.trial);
    sqlite3_bind_int(s.get(), 2, t.bracket);
    bind_text(s, 3, dump(t.config, "trial config"));
    bind_text(s, 4, t.state);
    bind_text(s, 5, t.message);
    const int rc = sqlite3_step(s.get());
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
      throw StoreError(fmt::format("{}: trial {} already exists", path_, t.trial));
    }
    if (rc != SQLITE_DONE) fail(rc, fmt::format("cannot add trial {}", t.trial));
  }

  void set_trial_state(std::int64_t trial, const std::string& state, const std::string& message) override {
    std::lock_guard<std::mutex> g(mu_);
    Use s(set_state_);
    sqlite3_bind_int64(s.get(), 1, trial);
    bind_text(s, 2, state);
    bind_text(s, 3, message);
    step_done(s, fmt::format("cannot set the state of trial {}", trial));
    if (sqlite3_changes(db_.get()) == 0) throw StoreError(fmt::format("{}: no trial {}", path_, trial));
  }

  void add_epoch(const EpochRow& row) override {
    std::lock_guard<std::mutex> g(mu_);
    Use s(add_epoch_);
    sqlite3_bind_int64(s.get(), 1, row.trial);
    sqlite3_bind_int64(s.get(), 2, row.epoch);
    bind_text(s, 3, dump(row.record, "epoch record"));
    const int rc = sqlite3_step(s.get());
    if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) {
      throw StoreError(fmt::format("{}: epoch {} of trial {}, which was never added", path_, row.epoch, row.trial));
    }
    if (rc != SQLITE_DONE) fail(rc, fmt::format("cannot add epoch {} of trial {}", row.epoch, row.trial));
  }

  std::int64_t add_event(Event e) override {
    std::lock_guard<std::mutex> g(mu_);
    Use s(add_event_);
    bind_text(s, 1, e.kind);
    sqlite3_bind_int64(s.get(), 2, e.trial);
    sqlite3_bind_int(s.get(), 3, e.bracket);
    sqlite3_bind_int(s.get(), 4, e.rung);
    sqlite3_bind_int64(s.get(), 5, e.budget_epochs);
    sqlite3_bind_double(s.get(), 6, e.score);  // NaN binds as NULL; +-inf are stored as REAL
    bind_text(s, 7, e.state);
    sqlite3_bind_double(s.get(), 8, e.seconds);
    bind_text(s, 9, e.message);
    step_done(s, fmt::format("cannot add a {} event of trial {}", e.kind, e.trial));
    return sqlite3_last_insert_rowid(db_.get());
  }

  std::vector<TrialRow> trials() const override {
    std::lock_guard<std::mutex> g(mu_);
    Use s(all_trials_);
    std::vector<TrialRow> out;
    while (step_row(s, "cannot read trials")) out.push_back(trial_row(s));
    return out;
  }

  std::optional<TrialRow> trial(std::int64_t id) const override {
    std::lock_guard<std::mutex> g(mu_);
    Use s(one_trial_);
    sqlite3_bind_int64(s.get(), 1, id);
    if (!step_row(s, fmt::format("cannot read trial {}", id))) return std::nullopt;
    return trial_row(s);
  }

  std::vector<EpochRow> epochs(std::optional<std::int64_t> trial) const override {
    std::lock_guard<std::mutex> g(mu_);
    Use s(trial ? trial_epochs_ : all_epochs_);
    if (trial) sqlite3_bind_int64(s.get(), 1, *trial);
    std::vector<EpochRow> out;
    while (step_row(s, "cannot read epochs")) {
      EpochRow r;
      r.trial = sqlite3_column_int64(s.get(), 0);
      r.epoch = sqlite3_column_int64(s.get(), 1);
      r.record = parse(column_text(s.get(), 2), fmt::format("epoch {} of trial {}", r.epoch, r.trial));
      out.push_back(std::move(r));
    }
    return out;
  }

  std::vector<Event> events() const override {
    std::lock_guard<std::mutex> g(mu_);
    Use s(all_events_);
    std::vector<Event> out;
    while (step_row(s, "cannot read events")) {
      sqlite3_stmt* q = s.get();
      Event e;
      e.seq = sqlite3_column_int64(q, 0);
      e.kind = column_text(q, 1);
      e.trial = sqlite3_column_int64(q, 2);
      e.bracket = sqlite3_column_int(q, 3);
      e.rung = sqlite3_column_int(q, 4);
      e.budget_epochs = sqlite3_column_int64(q, 5);
      e.score = column_real(q, 6);
      e.state = column_text(q, 7);
      e.seconds = column_real(q, 8);
      e.message = column_text(q, 9);
      out.push_back(std::move(e));
    }
    return out;
  }

  std::string path() const override { return path_; }

  // A search that ends leaves the journal in rollback mode: its -wal and -shm files go, and readers (report,
  // export) open it without creating them. The next search switches it back to WAL. Best effort: a reader still
  // open keeps WAL, and the files go with the last connection.
  ~SqliteStore() override {
    if (!lock_ || !db_) return;
    for (auto* stmt : {&put_study_, &get_study_, &add_trial_, &set_state_, &add_epoch_, &add_event_, &all_trials_,
                       &one_trial_, &all_epochs_, &trial_epochs_, &all_events_}) {
      stmt->reset();
    }
    sqlite3_busy_timeout(db_.get(), 0);
    sqlite3_exec(db_.get(), "PRAGMA journal_mode = DELETE", nullptr, nullptr, nullptr);
  }
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

 private:
  [[noreturn]] void fail(int rc, const std::string& what) const {
    if ((rc & 0xff) == SQLITE_NOTADB) {
      throw StoreError(fmt::format("{} is not an fhist journal: not an SQLite database (expected an SQLite file "
                                   "with application_id {:#x})",
                                   path_, kApplicationId));
    }
    const std::string why = db_ ? sqlite3_errmsg(db_.get()) : sqlite3_errstr(rc);
    if ((rc & 0xff) == SQLITE_FULL || (rc & 0xff) == SQLITE_IOERR) {
      throw StoreError(fmt::format("{}: {}: {} (disk full or a write error?). Every earlier commit is kept: free "
                                   "space, then resume",
                                   path_, what, why));
    }
    throw StoreError(fmt::format("{}: {}: {}", path_, what, why));
  }

  Stmt prepare(const char* sql) const {
    sqlite3_stmt* s = nullptr;
    const int rc = sqlite3_prepare_v3(db_.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
    if (rc != SQLITE_OK) fail(rc, fmt::format("cannot prepare \"{}\"", sql));
    return Stmt(s);
  }

  void exec(const char* sql) const {
    const int rc = sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);  // harmless when no transaction is open
      fail(rc, "cannot initialise the journal");
    }
  }

  int query_int(const char* sql) const {
    Stmt s = prepare(sql);
    const int rc = sqlite3_step(s.get());
    if (rc != SQLITE_ROW) fail(rc, fmt::format("cannot run \"{}\"", sql));
    return sqlite3_column_int(s.get(), 0);
  }

  std::string query_text(const char* sql) const {
    Stmt s = prepare(sql);
    const int rc = sqlite3_step(s.get());
    if (rc != SQLITE_ROW) fail(rc, fmt::format("cannot run \"{}\"", sql));
    return column_text(s.get(), 0);
  }

  void step_done(const Use& s, const std::string& what) const {
    const int rc = sqlite3_step(s.get());
    if (rc != SQLITE_DONE) fail(rc, what);
  }

  bool step_row(const Use& s, const std::string& what) const {
    const int rc = sqlite3_step(s.get());
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) fail(rc, what);
    return false;
  }

  static void bind_text(const Use& s, int i, const std::string& v) {
    sqlite3_bind_text(s.get(), i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }

  std::string dump(const json& j, const char* what) const {
    try {
      return j.dump();  // NB: JSON has no inf/NaN; nlohmann writes non-finite numbers inside `j` as null
    } catch (const json::exception& e) {
      throw StoreError(fmt::format("{}: cannot store the {}: {}", path_, what, e.what()));
    }
  }

  json parse(const std::string& text, const std::string& what) const {
    try {
      return json::parse(text);
    } catch (const json::exception& e) {
      throw StoreError(fmt::format("{}: {} is not valid JSON: {}", path_, what, e.what()));
    }
  }

  TrialRow trial_row(const Use& s) const {
    sqlite3_stmt* q = s.get();
    TrialRow t;
    t.trial = sqlite3_column_int64(q, 0);
    t.bracket = sqlite3_column_int(q, 1);
    t.config = parse(column_text(q, 2), fmt::format("the config of trial {}", t.trial));
    t.state = column_text(q, 3);
    t.message = column_text(q, 4);
    return t;
  }

  // Declaration order is destruction order reversed: statements, then the connection, then (last) the lock.
  std::string path_;
  std::optional<LockFile> lock_;
  std::unique_ptr<sqlite3, DbCloser> db_;
  Stmt put_study_, get_study_, add_trial_, set_state_, add_epoch_, add_event_;
  Stmt all_trials_, one_trial_, all_epochs_, trial_epochs_, all_events_;
  mutable std::mutex mu_;  // one connection, one thread at a time (opened SQLITE_OPEN_NOMUTEX)
};

}  // namespace

std::unique_ptr<TrialStore> open_sqlite_store(const std::string& path, bool create) {
  check_journal_path(path);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    if (!create) throw StoreError("no journal at " + path);
    const auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);  // a failure shows up on open below
  }
  if (std::filesystem::exists(path, ec) && !folder_writable(path)) {
    throw StoreError(fmt::format("{}: its folder is not writable ({}), and a search writes the journal's -wal, -shm "
                                 "and .lock files beside it; copy the journal to a writable folder (fhist report "
                                 "reads it where it is)",
                                 path, std::strerror(errno)));
  }
  return std::make_unique<SqliteStore>(path, create, false);
}

bool journal_in_use(const std::string& path) {
  const std::string lock_path = path + ".lock";
  const int fd = ::open(lock_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool held = ::flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);  // releases the lock if this probe took it
  return held;
}

bool journal_unstarted(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec) || journal_in_use(path)) return false;
  if (std::filesystem::file_size(path, ec) == 0 && !ec) {
    // The schema may still sit in the -wal file of a connection killed before its first checkpoint.
    return !std::filesystem::exists(path + "-wal", ec) || std::filesystem::file_size(path + "-wal", ec) == 0;
  }
  try {
    const auto store = open_sqlite_store_readonly(path);
    return !store->read_study() && store->trials().empty();
  } catch (const StoreError&) {
    return false;  // not a journal at all, or another version: not ours to replace
  }
}

std::unique_ptr<TrialStore> open_sqlite_store_readonly(const std::string& path) {
  check_journal_path(path);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw StoreError("no journal at " + path);
  return std::make_unique<SqliteStore>(path, false, true, !folder_writable(path));
}

}  // namespace fhist::store
