#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <thread>

#include "store/trial_store.hpp"
#include "test_util.hpp"

namespace fhist::store {
namespace {

using fhist::testing::TempDir;
using nlohmann::json;

constexpr double kInf = std::numeric_limits<double>::infinity();

// Runs `sql` on the file directly, as another program would.
void raw_exec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "");
  sqlite3_free(err);
  sqlite3_close(db);
}

std::string raw_text(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr), SQLITE_OK);
  std::string out;
  if (sqlite3_step(s) == SQLITE_ROW) out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
  sqlite3_finalize(s);
  sqlite3_close(db);
  return out;
}

// The message of the StoreError that `f` throws ("" and a test failure if it throws none).
template <typename F>
std::string store_error(F&& f) {
  try {
    f();
  } catch (const StoreError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no StoreError";
  return "";
}

Event result_event(std::int64_t trial, double score, const std::string& message = "") {
  Event e;
  e.kind = "result";
  e.trial = trial;
  e.bracket = 1;
  e.rung = 2;
  e.budget_epochs = 9;
  e.score = score;
  e.state = "complete";
  e.seconds = 1.5;
  e.message = message;
  return e;
}

TEST(Store, RoundTripSurvivesReopen) {
  TempDir dir;
  const std::string path = dir.str("sub/journal.db");  // missing parent directory is created
  json big = json::object();
  for (int i = 0; i < 5000; ++i) {
    big["param_" + std::to_string(i)] = {{"value", i * 0.5}, {"tag", std::string(50, 'x')}};  // ~400 KB
  }
  const std::string unicode = "Verlust divergiert — λ=1e-3, 損失 🚀, \"quoted\"\nnewline";
  {
    auto store = open_sqlite_store(path, true);
    EXPECT_EQ(store->path(), path);
    EXPECT_FALSE(store->read_study().has_value());
    store->write_study({{"algorithm", "hyperband"}, {"seed", 7}});
    store->add_trial({0, 0, {{"lr", 0.1}}, "pending", ""});
    store->add_trial({1, 2, big, "failed", unicode});
    store->add_epoch({0, 1, {{"train_loss", 0.5}, {"score", 0.8}}});
    store->add_epoch({1, 1, {{"train_loss", 0.7}}});
    store->add_epoch({0, 2, {{"train_loss", 0.4}, {"note", unicode}}});
    Event start;
    start.kind = "start";
    start.trial = 0;
    start.budget_epochs = 3;
    EXPECT_EQ(store->add_event(start), 1);
    EXPECT_EQ(store->add_event(result_event(0, -kInf, unicode)), 2);
    EXPECT_EQ(store->add_event(result_event(1, std::nan(""))), 3);
    EXPECT_EQ(store->add_event(result_event(1, kInf)), 4);
    EXPECT_EQ(store->add_event(result_event(0, 0.25)), 5);
  }
  auto store = open_sqlite_store(path, false);
  EXPECT_EQ(*store->read_study(), (json{{"algorithm", "hyperband"}, {"seed", 7}}));

  const auto trials = store->trials();
  ASSERT_EQ(trials.size(), 2u);
  EXPECT_EQ(trials[0].trial, 0);
  EXPECT_EQ(trials[0].config, (json{{"lr", 0.1}}));
  EXPECT_EQ(trials[0].state, "pending");
  EXPECT_EQ(trials[1].bracket, 2);
  EXPECT_EQ(trials[1].config, big);
  EXPECT_EQ(trials[1].state, "failed");
  EXPECT_EQ(trials[1].message, unicode);
  EXPECT_EQ(store->trial(1)->config, big);
  EXPECT_FALSE(store->trial(2).has_value());

  const auto all = store->epochs();
  ASSERT_EQ(all.size(), 3u);  // insertion order, not grouped by trial
  EXPECT_EQ(all[0].trial, 0);
  EXPECT_EQ(all[1].trial, 1);
  EXPECT_EQ(all[2].record["note"], unicode);
  const auto of0 = store->epochs(0);
  ASSERT_EQ(of0.size(), 2u);
  EXPECT_EQ(of0[0].epoch, 1);
  EXPECT_EQ(of0[1].epoch, 2);
  EXPECT_EQ(of0[0].record, (json{{"train_loss", 0.5}, {"score", 0.8}}));
  EXPECT_TRUE(store->epochs(5).empty());

  const auto ev = store->events();
  ASSERT_EQ(ev.size(), 5u);
  EXPECT_EQ(ev[0].kind, "start");
  EXPECT_EQ(ev[0].budget_epochs, 3);
  EXPECT_EQ(ev[0].score, 0.0);
  EXPECT_EQ(ev[1].score, -kInf);
  EXPECT_EQ(ev[1].message, unicode);
  EXPECT_TRUE(std::isnan(ev[2].score));
  EXPECT_EQ(ev[3].score, kInf);
  EXPECT_EQ(ev[4].score, 0.25);
  EXPECT_EQ(ev[4].kind, "result");
  EXPECT_EQ(ev[4].bracket, 1);
  EXPECT_EQ(ev[4].rung, 2);
  EXPECT_EQ(ev[4].budget_epochs, 9);
  EXPECT_EQ(ev[4].state, "complete");
  EXPECT_EQ(ev[4].seconds, 1.5);
  for (std::size_t i = 0; i < ev.size(); ++i) EXPECT_EQ(ev[i].seq, static_cast<std::int64_t>(i + 1));
  store.reset();
  // Reporting tools read the file with plain SQL: +-inf are ordinary REALs there, NaN is NULL.
  EXPECT_EQ(raw_text(path, "SELECT group_concat(typeof(score)) FROM events"), "real,real,null,real,real");
}

TEST(Store, SeqNumbersAreOneToNInOrderAcrossThreads) {
  TempDir dir;
  auto store = open_sqlite_store(dir.str("j.db"), true);
  store->add_trial({0, 0, json::object(), "running", ""});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&store, t] {
      for (int i = 0; i < 50; ++i) {
        store->add_event(result_event(t, i));
        store->add_epoch({0, i, {{"t", t}}});
      }
    });
  }
  for (auto& th : threads) th.join();
  const auto ev = store->events();
  ASSERT_EQ(ev.size(), 200u);
  for (std::size_t i = 0; i < ev.size(); ++i) EXPECT_EQ(ev[i].seq, static_cast<std::int64_t>(i + 1));
  EXPECT_EQ(store->epochs().size(), 200u);
}

TEST(Store, SetTrialStateAndRefusals) {
  TempDir dir;
  const std::string path = dir.str("j.db");
  {
    auto store = open_sqlite_store(path, true);
    store->add_trial({3, 1, {{"a", 1}}, "pending", ""});
    store->set_trial_state(3, "running");
    EXPECT_EQ(store->trial(3)->state, "running");
    store->set_trial_state(3, "failed", "out of memory");
    const std::string dup = store_error([&] { store->add_trial({3, 0, json::object(), "pending", ""}); });
    EXPECT_NE(dup.find("trial 3 already exists"), std::string::npos) << dup;
    EXPECT_NE(store_error([&] { store->set_trial_state(9, "complete"); }).find("no trial 9"), std::string::npos);
    EXPECT_NE(store_error([&] { store->add_epoch({9, 1, json::object()}); }).find(path), std::string::npos);
    store->write_study({{"v", 1}});
    store->write_study({{"v", 2}});  // rewriting replaces: there is only ever one study row
  }
  auto store = open_sqlite_store(path, false);
  const auto t = store->trial(3);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->state, "failed");
  EXPECT_EQ(t->message, "out of memory");
  EXPECT_EQ(t->config, (json{{"a", 1}}));
  EXPECT_EQ(store->trials().size(), 1u);
  EXPECT_EQ(*store->read_study(), (json{{"v", 2}}));
}

TEST(Store, LockFileThatIsASymlinkIsRefusedNotFollowed) {
  testing::TempDir dir;
  std::ofstream(dir.str("victim")) << "precious";
  std::filesystem::create_symlink(dir.str("victim"), dir.str("j.db.lock"));
  try {
    open_sqlite_store(dir.str("j.db"), true);
    FAIL() << "opened a journal through a symlinked lock file";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("j.db.lock is a symbolic link"), std::string::npos) << e.what();
  }
  std::ifstream in(dir.str("victim"));
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "precious");  // the pid write went nowhere
}

TEST(Store, SecondOpenInSameProcessRefused) {
  TempDir dir;
  const std::string path = dir.str("j.db");
  {
    auto first = open_sqlite_store(path, true);
    const std::string msg = store_error([&] { open_sqlite_store(path, true); });
    EXPECT_EQ(msg, path + " is in use by another search (pid " + std::to_string(::getpid()) + ")");
    EXPECT_FALSE(store_error([&] { open_sqlite_store(path, false); }).empty());
    first->add_trial({0, 0, json::object(), "pending", ""});  // the refused opens did not disturb the holder
  }
  EXPECT_EQ(open_sqlite_store(path, false)->trials().size(), 1u);  // released by the destructor
}

// A real crash: a child process holds the journal and commits events as fast as it can, reporting every
// committed seq through a pipe; the parent kill -9s it mid-stream. The lock must be free afterwards, and every
// event the child reported committed must be in the journal, numbered 1..n without gaps.
TEST(Journal, KilledWriterLeavesLockFreeAndCommittedRowsIntact) {
  TempDir dir;
  const std::string path = dir.str("j.db");
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(fds[0]);
    try {
      auto store = open_sqlite_store(path, true);
      store->write_study({{"by", "child"}});
      for (int t = 0; t < 10; ++t) store->add_trial({t, 0, {{"t", t}}, "running", ""});
      for (std::int64_t i = 0;; ++i) {
        std::int64_t seq = store->add_event(result_event(i % 10, -kInf));
        store->add_epoch({i % 10, i, {{"i", i}}});
        if (::write(fds[1], &seq, sizeof seq) != sizeof seq) ::_exit(3);
      }
    } catch (...) {
      ::_exit(2);  // never return into the test framework from the child
    }
  }
  ::close(fds[1]);
  std::int64_t seq = 0, last = 0;
  ASSERT_EQ(::read(fds[0], &seq, sizeof seq), static_cast<ssize_t>(sizeof seq));
  EXPECT_EQ(store_error([&] { open_sqlite_store(path, false); }),
            path + " is in use by another search (pid " + std::to_string(child) + ")");
  while (last < 2000 && ::read(fds[0], &seq, sizeof seq) == static_cast<ssize_t>(sizeof seq)) last = seq;
  ASSERT_EQ(::kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "child exited early: " << status;
  while (::read(fds[0], &seq, sizeof seq) == static_cast<ssize_t>(sizeof seq)) last = seq;  // drain to EOF
  ::close(fds[0]);
  ASSERT_GE(last, 2000);  // the child really was writing when it died

  auto store = open_sqlite_store(path, false);
  EXPECT_EQ(*store->read_study(), (json{{"by", "child"}}));
  EXPECT_EQ(store->trials().size(), 10u);
  const auto ev = store->events();
  ASSERT_GE(static_cast<std::int64_t>(ev.size()), last);
  for (std::size_t i = 0; i < ev.size(); ++i) {
    ASSERT_EQ(ev[i].seq, static_cast<std::int64_t>(i + 1));
    ASSERT_EQ(ev[i].score, -kInf);
  }
  // Each event's epoch is its own transaction: at most the one in flight at the kill is missing.
  EXPECT_GE(store->epochs().size() + 1, ev.size());
  store->add_event(result_event(0, 1.0));  // and the journal is writable again
}

TEST(Journal, SchemaVersionMismatchRefused) {
  TempDir dir;
  const std::string path = dir.str("j.db");
  open_sqlite_store(path, true)->add_trial({0, 0, json::object(), "pending", ""});
  raw_exec(path, "PRAGMA user_version = 7");
  const std::string msg = store_error([&] { open_sqlite_store(path, false); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("version 7"), std::string::npos) << msg;
  EXPECT_NE(msg.find("version " + std::to_string(kSchemaVersion)), std::string::npos) << msg;
}

TEST(Journal, TextFileRefused) {
  TempDir dir;
  const std::string path = dir.str("notes.txt");
  std::ofstream(path) << "this is not a database, just some text that is long enough to have a header\n";
  for (bool create : {false, true}) {
    const std::string msg = store_error([&] { open_sqlite_store(path, create); });
    EXPECT_NE(msg.find(path + " is not an fhist journal"), std::string::npos) << msg;
    EXPECT_NE(msg.find("not an SQLite database"), std::string::npos) << msg;
  }
}

TEST(Journal, OtherApplicationsDatabaseRefusedAndUntouched) {
  TempDir dir;
  const std::string path = dir.str("other.db");
  raw_exec(path, "CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner TEXT); INSERT INTO accounts VALUES (1, 'x')");
  const std::string msg = store_error([&] { open_sqlite_store(path, true); });
  EXPECT_NE(msg.find(path + " is not an fhist journal"), std::string::npos) << msg;
  EXPECT_NE(msg.find("application_id"), std::string::npos) << msg;
  EXPECT_EQ(raw_text(path, "PRAGMA journal_mode"), "delete");  // not switched to WAL
  EXPECT_EQ(raw_text(path, "SELECT count(*) FROM sqlite_master"), "1");

  // A database with someone else's application_id but no tables yet is not ours to initialise either.
  const std::string tagged = dir.str("tagged.db");
  raw_exec(tagged, "PRAGMA application_id = 42");
  EXPECT_NE(store_error([&] { open_sqlite_store(tagged, true); }).find("0x2a"), std::string::npos);
}

TEST(Journal, MissingFileWithoutCreateRefused) {
  TempDir dir;
  const std::string path = dir.str("absent.db");
  EXPECT_EQ(store_error([&] { open_sqlite_store(path, false); }), "no journal at " + path);
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(path + ".lock"));
}

TEST(Journal, EmptyFileIsInitialisedOnlyWithCreate) {
  TempDir dir;
  const std::string path = dir.str("empty.db");
  std::ofstream(path).close();
  EXPECT_NE(store_error([&] { open_sqlite_store(path, false); }).find(path), std::string::npos);
  open_sqlite_store(path, true)->add_trial({0, 0, json::object(), "pending", ""});
  EXPECT_EQ(open_sqlite_store(path, false)->trials().size(), 1u);
}

// WAL while a search holds the journal (readers see its commits as it runs); once it closes, nothing is left beside
// the journal (no -wal, -shm or .lock), and a reader leaves nothing either.
TEST(Journal, AClosedJournalLeavesNoFilesBesideIt) {
  TempDir dir;
  const std::string path = dir.str("j.db");
  auto beside = [&] {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) names.push_back(e.path().filename());
    std::sort(names.begin(), names.end());
    return names;
  };
  {
    auto store = open_sqlite_store(path, true);
    store->add_trial({0, 0, json::object(), "pending", ""});
    EXPECT_EQ(raw_text(path, "PRAGMA journal_mode"), "wal");
    EXPECT_EQ(beside(), (std::vector<std::string>{"j.db", "j.db-shm", "j.db-wal", "j.db.lock"}));
    EXPECT_EQ(open_sqlite_store_readonly(path)->trials().size(), 1u);
  }
  EXPECT_EQ(beside(), std::vector<std::string>{"j.db"});
  EXPECT_EQ(open_sqlite_store_readonly(path)->trials().size(), 1u);
  EXPECT_EQ(beside(), std::vector<std::string>{"j.db"});
  // Opened again for writing: WAL again, and the trial is still there.
  auto again = open_sqlite_store(path, false);
  EXPECT_EQ(again->trials().size(), 1u);
  EXPECT_EQ(raw_text(path, "PRAGMA journal_mode"), "wal");
}

// The in-memory journal keeps the same contract as the SQLite one for what a study does with it.
TEST(MemoryStore, SameContractAsTheJournal) {
  auto store = open_memory_store("mem");
  EXPECT_EQ(store->path(), "mem");
  EXPECT_FALSE(store->read_study());
  store->write_study({{"options", {{"seed", 3}}}});
  EXPECT_EQ(store->read_study()->at("options").at("seed"), 3);
  store->add_trial({1, 0, {{"lr", 0.1}}, "pending", ""});
  store->add_trial({0, 2, {{"lr", 0.2}}, "pending", ""});
  EXPECT_THROW(store->add_trial({1, 0, json::object(), "pending", ""}), StoreError);
  EXPECT_THROW(store->set_trial_state(7, "running"), StoreError);
  EXPECT_THROW(store->add_epoch({7, 1, json::object()}), StoreError);
  store->set_trial_state(1, "failed", "boom");
  const auto trials = store->trials();
  ASSERT_EQ(trials.size(), 2u);
  EXPECT_EQ(trials[0].trial, 0);  // by id
  EXPECT_EQ(store->trial(1)->state, "failed");
  EXPECT_EQ(store->trial(1)->message, "boom");
  EXPECT_FALSE(store->trial(5));
  store->add_epoch({1, 1, {{"x", 1}}});
  store->add_epoch({0, 1, {{"x", 2}}});
  store->add_epoch({1, 2, {{"x", 3}}});
  EXPECT_EQ(store->epochs().size(), 3u);
  ASSERT_EQ(store->epochs(1).size(), 2u);
  EXPECT_EQ(store->epochs(1)[1].record.at("x"), 3);
  Event e;
  e.kind = "start";
  EXPECT_EQ(store->add_event(e), 1);
  EXPECT_EQ(store->add_event(e), 2);
  EXPECT_EQ(store->events().back().seq, 2);
}

}  // namespace
}  // namespace fhist::store
