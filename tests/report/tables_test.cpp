// Journal tables for plots: rows, flattened configuration columns, CSV quoting, read-only access beside a running
// search (which holds the journal's lock).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/errors.hpp"
#include "store/trial_store.hpp"
#include "report/tables.hpp"
#include "test_util.hpp"

namespace fhist::report {
namespace {

// Two trials: trial 0 trained 2 epochs and was promoted to 4; trial 1 failed with a message that needs quoting.
std::unique_ptr<store::TrialStore> write_journal(const std::string& path) {
  auto s = store::open_sqlite_store(path, true);
  s->write_study({{"options", nlohmann::json::object()}});
  s->add_trial({0, 1, {{"lr", 0.1}, {"width_mult", 0.25}}, "complete", ""});
  s->add_trial({1, 1, {{"lr", 0.5}}, "failed", "loss is nan, \"diverged\""});
  auto ev = [&](const char* kind, std::int64_t trial, int rung, std::int64_t budget, double score, const char* state) {
    store::Event e;
    e.kind = kind;
    e.trial = trial;
    e.bracket = 1;
    e.rung = rung;
    e.budget_epochs = budget;
    e.score = score;
    e.state = state;
    e.seconds = 1.5;
    if (std::string(state) == "failed") e.message = "loss is nan, \"diverged\"";
    s->add_event(e);
  };
  const double inf = std::numeric_limits<double>::infinity();
  ev("start", 0, 0, 2, 0, "");
  for (int epoch = 1; epoch <= 2; ++epoch) {
    s->add_epoch({0, epoch, {{"train_loss", 1.0 / epoch}, {"original_val_acc", 0.5 + 0.1 * epoch},
                             {"estimate", 0.55 + 0.1 * epoch}, {"lr", 0.1}}});
  }
  ev("result", 0, 0, 2, 0.75, "complete");
  ev("start", 1, 0, 2, 0, "");
  ev("result", 1, 0, 2, -inf, "failed");
  ev("start", 0, 1, 4, 0, "");
  for (int epoch = 3; epoch <= 4; ++epoch) {
    s->add_epoch({0, epoch, {{"train_loss", 1.0 / epoch}, {"original_val_acc", 0.5 + 0.1 * epoch},
                             {"estimate", nullptr}, {"lr", 0.1}}});
  }
  ev("result", 0, 1, 4, 0.95, "complete");
  return s;
}

std::size_t col(const Table& t, const std::string& name) {
  const auto it = std::find(t.columns.begin(), t.columns.end(), name);
  EXPECT_NE(it, t.columns.end()) << name;
  return static_cast<std::size_t>(it - t.columns.begin());
}

TEST(Report, TablesReadWhileTheJournalIsHeld) {
  testing::TempDir dir;
  const auto path = dir.str("j.db");
  auto held = write_journal(path);  // still open and locked, as by a running search

  const auto epochs = journal_table(path, "epochs");
  ASSERT_EQ(epochs.rows.size(), 4u);
  EXPECT_EQ(epochs.rows[2][col(epochs, "epoch")], 3);
  EXPECT_DOUBLE_EQ(epochs.rows[1][col(epochs, "original_val_acc")].get<double>(), 0.7);
  // Rows written before fh_val_acc was named so ("estimate") export under the name new rows have.
  EXPECT_DOUBLE_EQ(epochs.rows[1][col(epochs, "fh_val_acc")].get<double>(), 0.75);
  EXPECT_TRUE(epochs.rows[3][col(epochs, "fh_val_acc")].is_null());
  EXPECT_EQ(std::find(epochs.columns.begin(), epochs.columns.end(), "estimate"), epochs.columns.end());
  EXPECT_EQ(epochs.rows[0][col(epochs, "params_width_mult")], 0.25);
  EXPECT_EQ(epochs.rows[0][col(epochs, "lr")], 0.1);
  // The network's parameter count is "parameters", apart from the configuration's params_* columns.
  EXPECT_NE(std::find(epochs.columns.begin(), epochs.columns.end(), "parameters"), epochs.columns.end());
  EXPECT_EQ(std::find(epochs.columns.begin(), epochs.columns.end(), "params"), epochs.columns.end());

  const auto results = journal_table(path, "results");
  ASSERT_EQ(results.rows.size(), 3u);
  EXPECT_TRUE(results.rows[1][col(results, "score")].is_null());  // -inf: failed
  EXPECT_EQ(results.rows[1][col(results, "state")], "failed");
  EXPECT_TRUE(results.rows[1][col(results, "params_width_mult")].is_null());  // not in trial 1's config
  EXPECT_EQ(results.rows[2][col(results, "budget_epochs")], 4);

  const auto trials = journal_table(path, "trials");
  ASSERT_EQ(trials.rows.size(), 2u);
  EXPECT_EQ(trials.rows[0][col(trials, "budget_epochs")], 4);  // the largest budget reached
  EXPECT_DOUBLE_EQ(trials.rows[0][col(trials, "score")].get<double>(), 0.95);
  EXPECT_DOUBLE_EQ(trials.rows[0][col(trials, "original_val_acc")].get<double>(), 0.9);
  EXPECT_EQ(trials.rows[1][col(trials, "state")], "failed");

  // Read-only: the reader cannot write.
  auto ro = store::open_sqlite_store_readonly(path);
  EXPECT_THROW(ro->add_epoch({0, 9, nlohmann::json::object()}), store::StoreError);
  EXPECT_THROW(journal_table(path, "bogus"), InputError);
  EXPECT_THROW(journal_table(dir.str("missing.db"), "epochs"), InputError);
}

TEST(Report, CsvQuotesWhatNeedsQuotingAndLeavesGapsEmpty) {
  testing::TempDir dir;
  const auto path = dir.str("j.db");
  write_journal(path);
  const auto csv = to_csv(journal_table(path, "results"));
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "seq,trial,bracket,rung,budget_epochs,score,state,seconds,message,params_lr,params_width_mult");
  EXPECT_NE(csv.find("\n4,1,1,0,2,,failed,1.5,\"loss is nan, \"\"diverged\"\"\",0.5,\n"), std::string::npos) << csv;
  const auto json = to_json(journal_table(path, "results"));
  ASSERT_EQ(json.size(), 3u);
  EXPECT_EQ(json[2]["score"], 0.95);
  EXPECT_EQ(json[0]["params_lr"], 0.1);
}

TEST(Report, TopConfigurationsAreRankedAsTheIncumbentIsChosen) {
  const double nan = std::nan("");
  // Trials 1 and 3 reached the full budget 9: ranked by validation accuracy there, not by score; trial 4 failed at
  // 9 and trial 0 stopped at 3. Trial 5 has no accuracy recorded: last.
  const std::vector<LastResult> last = {{0, 3, 0.99, 0.99, true},   {1, 9, 0.50, 0.80, true},
                                        {3, 9, 0.90, 0.70, true},   {4, 9, -INFINITY, 0.95, false},
                                        {5, 9, 0.95, nan, true}};
  auto top = top_configurations(last, 9, 10);
  EXPECT_EQ(top.budget_epochs, 9);
  EXPECT_TRUE(top.by_val_acc);
  ASSERT_EQ(top.rows.size(), 3u);
  EXPECT_EQ(top.rows[0].trial, 1);
  EXPECT_EQ(top.rows[1].trial, 3);
  EXPECT_EQ(top.rows[2].trial, 5);
  EXPECT_EQ(top_configurations(last, 9, 1).rows.size(), 1u);
  // Below the full budget (max 27 here) the score ranks: trial 5 first.
  top = top_configurations(last, 27, 2);
  EXPECT_FALSE(top.by_val_acc);
  ASSERT_EQ(top.rows.size(), 2u);
  EXPECT_EQ(top.rows[0].trial, 5);
  EXPECT_EQ(top.rows[1].trial, 3);
  // Nothing complete: nothing listed.
  EXPECT_TRUE(top_configurations({{4, 9, -INFINITY, 0.9, false}}, 9, 10).rows.empty());
}

}  // namespace
}  // namespace fhist::report
