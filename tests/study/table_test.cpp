// Tables and replays without training: a table journal written by a fake objective, then the draws of a search on
// it (uniform over rows, ties at random), the incumbent rule, the regrets and the bootstrap interval.
#include "study/table.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <set>

#include "space/catalog.hpp"
#include "study/journal.hpp"
#include "test_study.hpp"
#include "test_util.hpp"

namespace fhist::study {
namespace {

constexpr std::int64_t kEpochs = 4;

// A row's measurements from its configuration alone. The final test accuracy is not the validation accuracy's
// order (the trial id shifts it), so the incumbent rule and the regret can be told apart.
class TableObjectiveFake : public exec::Objective {
 public:
  explicit TableObjectiveFake(exec::EpochSink& sink) : sink_(sink) {}
  static double val(const space::Config& c, std::int64_t e) {
    return 0.9 - 0.1 * std::abs(std::log10(c.get_double("lr") / 0.05)) - 0.3 / static_cast<double>(e);
  }
  exec::Outcome run(const sched::Job& job, const space::Config& config, const exec::Worker&) override {
    auto o = exec::Outcome::of(job);
    for (std::int64_t e = sink_.recorded(job.trial) + 1; e <= job.budget_epochs; ++e) {
      nlohmann::json rec = {{"original_val_acc", val(config, e)}, {"train_loss", 1.0 / static_cast<double>(e)}};
      if (e == kEpochs) rec["test_acc"] = val(config, e) + 0.01 * static_cast<double>(job.trial % 3);
      sink_.add(job.trial, e, rec);
    }
    o.value = val(config, job.budget_epochs);
    o.score = o.value;
    o.state = sched::TrialState::kComplete;
    return o;
  }

 private:
  exec::EpochSink& sink_;
};

// A table of `rows` configurations of the hparams space (or `space`, a file), each trained to kEpochs.
BenchmarkTable make_table(const testing::TempDir& dir, int rows, const std::string& space = "hparams") {
  auto o = testing::hyperband_options("original", kEpochs, kEpochs, 3, 7);
  o.space = space;
  o.algo = "random";
  o.sched.n_configs = rows;
  o.training.test_accuracy = true;
  run_study(o, dir.str("table.db"),
            [](const ObjectiveContext& ctx) { return std::make_unique<TableObjectiveFake>(*ctx.sink); });
  return BenchmarkTable::load(dir.str("table.db"));
}

StudyOptions replay_base(const BenchmarkTable& t, const std::string& algo, std::int64_t n_configs) {
  auto o = t.options();
  o.algo = algo;
  o.estimator = "original";
  o.sched.min_budget = 1;
  o.sched.max_budget = kEpochs;
  o.sched.eta = 2;
  o.sched.n_configs = n_configs;
  return o;
}

TEST(TableTest, NearestBreaksTiesAtRandomAndSkipsUsedRows) {
  testing::TempDir dir;
  const auto table = make_table(dir, 6);
  // Rows 0 and 1 of the resample are the same configuration: equally near to it.
  const auto t = table.resample({2, 2, 3, 4});
  const auto& c = t.rows()[0].config;
  EXPECT_EQ(t.nearest(c), 0u);  // without a generator: the lowest index, always
  std::map<std::size_t, int> picked;
  for (std::uint64_t s = 0; s < 400; ++s) {
    space::Rng rng(s);
    ++picked[t.nearest(c, nullptr, &rng)];
  }
  ASSERT_EQ(picked.size(), 2u);
  EXPECT_GT(picked[0], 150);
  EXPECT_GT(picked[1], 150);
  std::vector<bool> used = {true, false, false, false};
  space::Rng rng(1);
  EXPECT_EQ(t.nearest(c, &used, &rng), 1u);
  EXPECT_EQ(t.row_of(c, used), 1u);  // the first unused row holding it
  used[1] = true;
  EXPECT_NE(t.nearest(c, &used, &rng), 0u);  // both used: the nearest of the rest
  EXPECT_EQ(t.row_of(c, used), 0u);          // every holder used: the first
}

// Rows of a space with conditional parameters: an inactive parameter (NaN in the encoding) matches another inactive
// one, so every row is its own nearest and is found again by row_of; a row of one branch is nearer to its branch.
TEST(TableTest, RowsWithInactiveParametersAreFoundAgain) {
  testing::TempDir dir;
  const std::string path = dir.str("family.json");
  std::ofstream(path) << R"({"name": "family", "params": [
      {"name": "model", "type": "categorical", "choices": ["cnn", "mlp"]},
      {"name": "lr", "type": "float", "low": 0.001, "high": 1, "log": true},
      {"name": "width_mult", "type": "float", "low": 0.25, "high": 1, "condition": {"param": "model", "equals": "cnn"}},
      {"name": "depth", "type": "int", "low": 1, "high": 4, "condition": {"param": "model", "equals": "mlp"}}]})";
  const auto t = make_table(dir, 12, path);
  ASSERT_EQ(t.rows().size(), 12u);
  std::set<std::string> models;
  for (std::size_t i = 0; i < t.rows().size(); ++i) {
    const auto& c = t.rows()[i].config;
    models.insert(c.get_string("model"));
    EXPECT_EQ(c.has("depth"), c.get_string("model") == "mlp") << c.to_string();
    EXPECT_EQ(t.nearest(c), i);
    EXPECT_EQ(t.row_of(c, std::vector<bool>(t.rows().size(), false)), i);
    // Another branch's configuration with this row's lr lands on a row of that branch.
    space::Config other({{"lr", c.get("lr")}});
    if (c.get_string("model") == "cnn") {
      other.set("model", "mlp");
      other.set("depth", 2);
    } else {
      other.set("model", "cnn");
      other.set("width_mult", 0.5);
    }
    EXPECT_EQ(t.rows()[t.nearest(other)].config.get_string("model"), other.get_string("model"));
  }
  EXPECT_EQ(models.size(), 2u);
}

// A uniform draw of the space becomes a uniform draw of the rows: every row is equally likely (chi-square over
// 3,000 searches of 3 draws each), not "the row with the most empty space around it" as snapping made it.
TEST(TableTest, RandomSearchDrawsEveryRowEquallyOften) {
  testing::TempDir dir;
  const auto table = make_table(dir, 12);
  const std::shared_ptr<const BenchmarkTable> shared(&table, [](const BenchmarkTable*) {});
  std::vector<double> count(12, 0.0);
  constexpr int kSearches = 3000;
  for (int s = 0; s < kSearches; ++s) {
    auto o = replay_base(table, "random", 3);
    o.sched.min_budget = kEpochs;
    o.seed = static_cast<std::uint64_t>(s);
    const auto summary = run_table_search(o, shared);
    ASSERT_EQ(summary.table_rows.size(), 3u);
    EXPECT_EQ(std::set<std::int64_t>(summary.table_rows.begin(), summary.table_rows.end()).size(), 3u);
    for (const auto r : summary.table_rows) count[static_cast<std::size_t>(r)] += 1;
  }
  const double expected = kSearches * 3.0 / 12.0;
  double chi2 = 0;
  for (const double c : count) chi2 += (c - expected) * (c - expected) / expected;
  EXPECT_LT(chi2, 31.26) << "chi-square, 11 degrees of freedom, p = 0.001";
}

// The incumbent of a finished search is the best measured validation accuracy among its full-budget trials, whatever
// the ranking score; its regret is against the table's best test accuracy, and the drawn regret against the best
// row the search drew.
TEST(TableTest, ReplayRegretsFollowTheIncumbentRule) {
  testing::TempDir dir;
  const auto table = make_table(dir, 12);
  auto base = replay_base(table, "random", 5);
  base.sched.min_budget = kEpochs;
  ReplayOptions replay;
  replay.rounds = 1;
  const std::vector<std::uint64_t> seeds = {0, 1, 2, 3, 4, 5, 6, 7};
  const auto runs = replay_table(table, base, {"sh"}, {"tse-e", "original"}, seeds, replay);
  ASSERT_EQ(runs.size(), 16u);
  for (const auto& r : runs) {
    ASSERT_GE(r.trial, 0);
    std::size_t row = 0;
    while (table.rows()[row].trial != r.table_trial) ++row;
    const double val = TableObjectiveFake::val(table.rows()[row].config, kEpochs);
    // Re-run the search to see which rows it drew: the incumbent has the best validation accuracy among them.
    auto o = base;
    o.algo = "sh";
    o.estimator = r.estimator;
    o.seed = r.seed;
    const std::shared_ptr<const BenchmarkTable> shared(&table, [](const BenchmarkTable*) {});
    const auto s = run_table_search(o, shared);
    double best_val = -1, best_test = -1;
    for (const auto d : s.table_rows) {
      const auto& drawn = table.rows()[static_cast<std::size_t>(d)];
      best_val = std::max(best_val, TableObjectiveFake::val(drawn.config, kEpochs));
      best_test = std::max(best_test, drawn.test_acc);
    }
    EXPECT_DOUBLE_EQ(val, best_val);
    EXPECT_DOUBLE_EQ(r.regret, table.best_test() - table.rows()[row].test_acc);
    EXPECT_DOUBLE_EQ(r.drawn_regret, best_test - table.rows()[row].test_acc);
    EXPECT_LE(r.drawn_regret, r.regret + 1e-15);
  }
}

// Random search compute-matched to rounds of HyperBand: at each mark, the incumbent among the trials finished by then.
TEST(TableTest, AnytimeRegretCountsOnlyTheEpochsSpentByEachMark) {
  testing::TempDir dir;
  const auto table = make_table(dir, 30);
  auto base = replay_base(table, "random", 0);
  ReplayOptions replay;
  replay.rounds = 3;
  const auto round = hyperband_round_epochs(base.sched);
  const auto matched = matched_options(base, "random", 3);
  EXPECT_EQ(matched.sched.n_configs, (3 * round + kEpochs - 1) / kEpochs);
  const auto runs = replay_table(table, base, {"random", "top-k", "hyperband"}, {"original"}, {0, 1, 2}, replay);
  for (const auto& r : runs) {
    ASSERT_EQ(r.anytime.size(), 3u) << r.algo;
    EXPECT_GE(r.epochs, 3 * round - kEpochs) << r.algo;  // each spends about three rounds
    EXPECT_LE(r.epochs, 3 * round) << r.algo;
    EXPECT_DOUBLE_EQ(r.anytime[2], r.regret) << r.algo;  // finished by the last mark: its final incumbent
  }
  // Random: the first mark sees floor(round / kEpochs) finished trials, the first drawn.
  auto o = matched;
  o.estimator = "original";
  o.seed = 0;
  const std::shared_ptr<const BenchmarkTable> shared(&table, [](const BenchmarkTable*) {});
  const auto s = run_table_search(o, shared);
  double best_val = -1, test = 0;
  for (std::int64_t i = 0; i < round / kEpochs; ++i) {
    const auto& row = table.rows()[static_cast<std::size_t>(s.table_rows[static_cast<std::size_t>(i)])];
    const double v = TableObjectiveFake::val(row.config, kEpochs);
    if (v > best_val) best_val = v, test = row.test_acc;
  }
  EXPECT_DOUBLE_EQ(runs[0].anytime[0], table.best_test() - test);
}

TEST(TableTest, BootstrapIntervalIncludesTheTablesNoise) {
  testing::TempDir dir;
  const auto table = make_table(dir, 12);
  const auto base = replay_base(table, "hyperband", 0);
  ReplayOptions replay;
  const std::vector<std::uint64_t> seeds = {0, 1, 2, 3};
  const auto a = bootstrap_replay(table, base, {"hyperband"}, {"original"}, seeds, replay, 20, 5);
  // The point runs the caller has already (fhist replay's own) give the same cells as running them again.
  const auto point = replay_table(table, base, {"hyperband"}, {"original"}, seeds, replay);
  const auto b = bootstrap_replay(table, base, {"hyperband"}, {"original"}, seeds, replay, 20, 5, &point);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].mean, b[0].mean);
  EXPECT_EQ(a[0].anytime_mean, b[0].anytime_mean);
  EXPECT_EQ(a[0].low, b[0].low);  // deterministic, however the replicates were spread over threads
  EXPECT_EQ(a[0].high, b[0].high);
  EXPECT_LE(a[0].low, a[0].high);
  EXPECT_LT(a[0].low, a[0].high);  // rows differ: resampling them moves the regret
  // A table of one row repeated has no noise left: the interval is a point at 0.
  const auto flat = table.resample(std::vector<std::size_t>(12, 3));
  const auto c = bootstrap_replay(flat, base, {"hyperband"}, {"original"}, seeds, replay, 5, 5);
  EXPECT_EQ(c[0].mean, 0.0);
  EXPECT_EQ(c[0].low, 0.0);
  EXPECT_EQ(c[0].high, 0.0);
}

}  // namespace
}  // namespace fhist::study

namespace fhist::study {
namespace {

// A journal's space is the one it searched: a built-in space defined differently today is read from the journal,
// unless it has constraints (code, not JSON), which is refused with the reason.
TEST(JournalSpace, TheStoredDefinitionWinsOverTodaysBuiltInSpace) {
  StudyOptions o;
  o.space = "hparams";
  auto today = space::load_space("hparams", o.training.flops_cap, o.training.width_mult);
  nlohmann::json record = {{"space_definition", today.to_json()}, {"fhist_version", "0.0.9"}};
  EXPECT_EQ(detail::space_of(o, record, "j.db").to_json(), today.to_json());
  EXPECT_EQ(detail::space_of(o, nlohmann::json::object(), "j.db").to_json(), today.to_json());  // older journals
  auto& lr = record["space_definition"]["params"][0];
  ASSERT_EQ(lr["name"], "lr");
  lr["low"] = 0.2;
  lr["high"] = 0.3;
  const auto stored = detail::space_of(o, record, "j.db");
  EXPECT_EQ(stored.param("lr").low, 0.2);
  EXPECT_EQ(stored.param("lr").high, 0.3);
  space::Rng rng(3);
  for (int i = 0; i < 20; ++i) EXPECT_GE(stored.sample(rng).get_double("lr"), 0.2);

  o.space = "resnet-scale";
  auto scale = space::load_space("resnet-scale", o.training.flops_cap, o.training.width_mult);
  ASSERT_FALSE(scale.constraints().empty());
  nlohmann::json changed = {{"space_definition", scale.to_json()}, {"fhist_version", "0.0.9"}};
  changed["space_definition"]["params"][0]["choices"] = nlohmann::json::array({1.0, 2.0});
  FHIST_EXPECT_INPUT_ERROR(detail::space_of(o, changed, "j.db"), "cannot be rebuilt from the stored definition");
  FHIST_EXPECT_INPUT_ERROR(detail::space_of(o, changed, "j.db"), "0.0.9");
}

}  // namespace
}  // namespace fhist::study
