// The command objective: the metrics-line protocol, each way a script can fail (a failed trial with the reason,
// never a crashed search), continuation of promoted trials in their folder, and a whole HyperBand search through a
// shell script that gives the same trials, promotions and incumbent as the same learning curve computed in-process.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "command/command.hpp"
#include "command/metrics.hpp"
#include "core/errors.hpp"
#include "score/scores.hpp"
#include "space/catalog.hpp"
#include "store/trial_store.hpp"
#include "study/epoch_record.hpp"
#include "test_study.hpp"
#include "test_util.hpp"

namespace fhist::command {
namespace {

// ---- the protocol

TEST(MetricsLine, ReadsKnownKeysAndKeepsTheRestAsUserMetrics) {
  const auto m = parse_metrics_line(R"({"epoch": 3, "train_loss": 0.41, "val_acc": 0.87, "f1": 0.5, "note": "x"})");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->epoch, 3);
  EXPECT_DOUBLE_EQ(*m->train_loss, 0.41);
  EXPECT_DOUBLE_EQ(*m->val_acc, 0.87);
  EXPECT_FALSE(m->val_loss);
  EXPECT_EQ(m->metrics, (nlohmann::json{{"f1", 0.5}, {"note", "x"}}));
  EXPECT_FALSE(m->seconds);
  EXPECT_FALSE(m->num_classes);
  const auto c = parse_metrics_line(R"({"epoch": 1, "train_loss": 2.0, "val_acc": 0.3, "num_classes": 10})");
  ASSERT_TRUE(c && c->num_classes);
  EXPECT_EQ(*c->num_classes, 10);
  EXPECT_TRUE(c->metrics.empty());
}

// acc-tse compares the training loss with ln(C): a script that reports its classes gets it scored, as fhist's own
// trainer does (its rows carry num_classes).
TEST(MetricsLine, NumClassesReachesTheScores) {
  const auto m = parse_metrics_line(R"({"epoch": 1, "train_loss": 1.0, "val_acc": 0.5, "num_classes": 10})");
  ASSERT_TRUE(m);
  score::TrialHistory with, without;
  with.final_epoch = without.final_epoch = 4;
  const auto row = study::epoch_row(*m, with, 0.0);
  EXPECT_EQ(row.at("num_classes"), 10);
  EXPECT_DOUBLE_EQ(row.at("scores").at("acc-tse").get<double>(), 0.5 + 0.1 * 0.75 * (std::log(10.0) - 1.0));
  auto plain = *m;
  plain.num_classes.reset();
  EXPECT_TRUE(study::epoch_row(plain, without, 0.0).at("scores").at("acc-tse").is_null());
}

TEST(MetricsLine, PythonsNonFiniteFloatsAreNotFinite) {
  const auto m = parse_metrics_line(R"({"epoch": 2, "train_loss": NaN, "val_acc": 0.1, "x": -Infinity, "s": "NaN"})");
  ASSERT_TRUE(m);
  ASSERT_TRUE(m->train_loss);
  EXPECT_TRUE(std::isnan(*m->train_loss));
  EXPECT_TRUE(m->metrics["x"].is_null());
  EXPECT_EQ(m->metrics["s"], "NaN");  // inside a string: left alone
}

TEST(MetricsLine, OtherLinesAreTheScriptsLog) {
  EXPECT_FALSE(parse_metrics_line("epoch 3: loss 0.4"));
  EXPECT_FALSE(parse_metrics_line(""));
  EXPECT_FALSE(parse_metrics_line("{'epoch': 3}"));  // a Python dict printed with print(): not JSON, no "epoch"
  EXPECT_FALSE(parse_metrics_line("[1, 2]"));
  EXPECT_FALSE(parse_metrics_line("{ not json at all"));
}

TEST(MetricsLine, BadMetricsLinesSayWhatIsWrong) {
  FHIST_EXPECT_INPUT_ERROR(parse_metrics_line(R"({"train_loss": 0.4, "val_acc": 0.8})"), "has no \"epoch\"");
  FHIST_EXPECT_INPUT_ERROR(parse_metrics_line(R"({"epoch": 0, "val_acc": 0.8})"), "integer >= 1 (got 0)");
  FHIST_EXPECT_INPUT_ERROR(parse_metrics_line(R"({"epoch": 1.5})"), "integer >= 1 (got 1.5)");
  FHIST_EXPECT_INPUT_ERROR(parse_metrics_line(R"({"epoch": 1, "val_acc": "high"})"), "\"val_acc\" must be a number");
  FHIST_EXPECT_INPUT_ERROR(parse_metrics_line(R"({"epoch": 1, "val_acc": 87.5})"), "a percentage? divide by 100");
  FHIST_EXPECT_INPUT_ERROR(parse_metrics_line(R"({"epoch": 1, "seconds": -2})"), "\"seconds\" must be a number >= 0");
  FHIST_EXPECT_INPUT_ERROR(parse_metrics_line(R"({"epoch": 1, "val_acc": 0.8)"), "not valid JSON");
  FHIST_EXPECT_INPUT_ERROR(parse_metrics_line(R"({"epoch": 1, "num_classes": 2.5})"),
                           "\"num_classes\" must be a whole number >= 2 (got 2.5)");
  FHIST_EXPECT_INPUT_ERROR(parse_metrics_line(R"({"epoch": 1, "num_classes": 1})"),
                           "\"num_classes\" must be a whole number >= 2 (got 1)");
}

TEST(CommandOptions, ValidatesAndRoundTrips) {
  FHIST_EXPECT_INPUT_ERROR(CommandOptions{}.validate(), "needs --command");
  FHIST_EXPECT_INPUT_ERROR((CommandOptions{"x", -1.0}.validate()), "--job-timeout must be >= 0");
  const CommandOptions o{"python3 train.py --x 'a b'", 30.0};
  const auto back = CommandOptions::from_json(o.to_json());
  EXPECT_EQ(back.command, o.command);
  EXPECT_EQ(back.job_timeout, 30.0);
  EXPECT_EQ(study::keys_needed("tse-ema:0.5"), (std::vector<std::string>{"val_acc", "train_loss"}));
  EXPECT_EQ(study::keys_needed("original"), (std::vector<std::string>{"val_acc"}));
  FHIST_EXPECT_INPUT_ERROR(study::keys_needed("fh"), "needs the network's features");
}

// ---- one job, directly

class MemorySink : public exec::EpochSink {
 public:
  std::int64_t recorded(std::int64_t trial) override {
    const auto it = rows.find(trial);
    return it == rows.end() || it->second.empty() ? 0 : it->second.rbegin()->first;
  }
  void add(std::int64_t trial, std::int64_t epoch, const nlohmann::json& record) override {
    EXPECT_EQ(rows[trial].count(epoch), 0u) << "epoch " << epoch << " of trial " << trial << " recorded twice";
    rows[trial][epoch] = record;
  }
  std::map<std::int64_t, std::map<std::int64_t, nlohmann::json>> rows;
};

struct Fixture {
  fhist::testing::TempDir dir;
  MemorySink sink;
  bool cancel = false;
  study::StudyOptions options;
  Fixture() {
    options.objective = "command";
    options.estimator = "tse-ema";
    options.sched.max_budget = 9;
  }
  std::string script(const std::string& name, const std::string& text) {
    std::ofstream(dir.str(name)) << text;
    return dir.str(name);
  }
  exec::Outcome run(const std::string& command, std::int64_t budget, double timeout = 0.0, std::int64_t trial = 0) {
    options.objective_options = CommandOptions{command, timeout}.to_json();
    study::ObjectiveContext ctx{options, space::load_space("hparams"), dir.str("j.db"), nullptr, &sink,
                                [this] { return cancel; }, {}, false};
    auto objective = make_command_objective(ctx);
    sched::Job job;
    job.trial = trial;
    job.budget_epochs = budget;
    return objective->run(job, space::Config({{"lr", 0.1}}), exec::Worker{2, "cpu", 1});
  }
  std::string log(std::int64_t trial = 0) {
    std::ifstream in(study::trial_dir(dir.str("j.db"), trial) + "/log.txt");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
};

// Prints epochs FHIST_START_EPOCH..FHIST_BUDGET of a fixed curve, and its job in the log.
const char* kCurve = R"(echo "job $FHIST_TRIAL $FHIST_START_EPOCH..$FHIST_BUDGET of $FHIST_MAX_BUDGET config $FHIST_CONFIG seed $FHIST_SEED worker $FHIST_WORKER $FHIST_DEVICE $FHIST_THREADS"
test -f "$FHIST_TRIAL_DIR/job.json" || exit 9
e=$FHIST_START_EPOCH
while [ "$e" -le "$FHIST_BUDGET" ]; do
  echo "{\"epoch\": $e, \"train_loss\": 1.$e, \"val_acc\": 0.$e, \"val_loss\": 2.$e, \"f1\": 0.5}"
  echo "a warning on stderr" >&2
  e=$((e + 1))
done
)";

TEST(CommandObjective, RecordsEachEpochAndContinuesPromotedTrialsInTheirFolder) {
  Fixture f;
  const auto curve = "sh " + f.script("curve.sh", kCurve);
  const auto a = f.run(curve, 3);
  EXPECT_EQ(a.state, sched::TrialState::kComplete) << a.message;
  ASSERT_EQ(f.sink.rows[0].size(), 3u);
  const auto& row = f.sink.rows[0][3];
  EXPECT_DOUBLE_EQ(row["train_loss"].get<double>(), 1.3);
  EXPECT_DOUBLE_EQ(row["original_val_acc"].get<double>(), 0.3);
  EXPECT_DOUBLE_EQ(row["original_nll"].get<double>(), 2.3);
  EXPECT_EQ(row["metrics"], (nlohmann::json{{"f1", 0.5}}));
  EXPECT_EQ(row["worker"], 2);
  EXPECT_TRUE(row["scores"]["tse-ema"].is_number());
  EXPECT_TRUE(row["scores"]["fh"].is_null());
  EXPECT_DOUBLE_EQ(a.value, 0.3);
  EXPECT_DOUBLE_EQ(a.score, row["scores"]["tse-ema"].get<double>());
  // Promoted: the same folder, from epoch 4.
  const auto b = f.run(curve, 9);
  EXPECT_EQ(b.state, sched::TrialState::kComplete) << b.message;
  EXPECT_EQ(f.sink.rows[0].size(), 9u);
  const auto log = f.log();
  EXPECT_NE(log.find("job 0 1..3 of 9 config {\"lr\":0.1} seed "), std::string::npos) << log;
  EXPECT_NE(log.find("job 0 4..9 of 9"), std::string::npos) << log;
  EXPECT_NE(log.find("worker 2 cpu 1"), std::string::npos) << log;
  EXPECT_NE(log.find("a warning on stderr"), std::string::npos) << log;
}

TEST(CommandObjective, AScriptThatRestartsFromScratchIsFine) {
  Fixture f;
  f.run("sh " + f.script("curve.sh", kCurve), 3);
  // Ignores FHIST_START_EPOCH: epochs 1..3 again are skipped, not recorded twice (MemorySink checks).
  const auto b = f.run("sh " + f.script("again.sh", "FHIST_START_EPOCH=1 sh " + f.dir.str("curve.sh")), 9);
  EXPECT_EQ(b.state, sched::TrialState::kComplete) << b.message;
  EXPECT_EQ(f.sink.rows[0].size(), 9u);
}

TEST(CommandObjective, ACrashBetweenItsRowsAndTheJournalsLosesNothing) {
  Fixture f;
  f.run("sh " + f.script("curve.sh", kCurve), 3);
  f.sink.rows[0].erase(3);  // the journal missed epoch 3: the next job adds it from metrics.jsonl
  const auto b = f.run("sh " + f.dir.str("curve.sh"), 9);
  EXPECT_EQ(b.state, sched::TrialState::kComplete) << b.message;
  EXPECT_EQ(f.sink.rows[0].size(), 9u);
}

TEST(CommandObjective, ARowCutShortByACrashIsDroppedAndTheEpochReportedAgain) {
  Fixture f;
  f.run("sh " + f.script("curve.sh", kCurve), 2);
  const auto rows = study::trial_dir(f.dir.str("j.db"), 0) + "/metrics.jsonl";
  std::ofstream(rows, std::ios::app) << R"({"epoch": 3, "train_lo)";  // the crash
  const auto b = f.run("sh " + f.dir.str("curve.sh"), 3);
  EXPECT_EQ(b.state, sched::TrialState::kComplete) << b.message;
  const auto c = f.run("sh " + f.dir.str("curve.sh"), 9);  // reads every row back: none lost behind the cut one
  EXPECT_EQ(c.state, sched::TrialState::kComplete) << c.message;
  EXPECT_EQ(f.sink.rows[0].size(), 9u);
}

struct Failure {
  std::string script;
  std::string message;
  double timeout = 0.0;
};

TEST(CommandObjective, EveryWayAScriptFailsIsAFailedTrialWithItsReason) {
  const std::vector<Failure> cases = {
      {"echo starting; echo 'Traceback: boom' >&2; exit 1", "ended with exit status 1 before reporting epoch 1; its last lines on stderr: Traceback: boom"},
      {"fhist-no-such-command", "exit status 127 (command not found)"},
      {"echo just a log line", "exited without printing a metrics line"},
      {R"(echo '{"epoch": 1, "train_loss": 1, "val_acc": 0.5}')", "exited after reporting epoch 1 of its budget 3"},
      {R"(echo '{"train_loss": 1, "val_acc": 0.5}')", "has no \"epoch\""},
      {R"(echo '{"epoch": 2, "train_loss": 1, "val_acc": 0.5}')", "reported epoch 2 after epoch 0"},
      {R"(for e in 1 2 3 4; do echo "{\"epoch\": $e, \"train_loss\": 1, \"val_acc\": 0.5}"; done)",
       "epoch 4, beyond the job's budget FHIST_BUDGET=3"},
      {R"(echo '{"epoch": 1, "val_acc": 0.5}')", "record has no \"train_loss\", which --estimator tse-ema ranks by"},
      {R"(echo '{"epoch": 1, "train_loss": 1}')", "record has no \"val_acc\", which every epoch record needs"},
      {R"(echo '{"epoch": 1, "train_loss": 1, "val_acc": 0.5}'; sleep 30)", "no result within --job-timeout 0.5 s (reached epoch 1 of 3)", 0.5},
      {"kill -9 $$", "exit status 137 (signal 9: Killed)"},
  };
  for (const auto& c : cases) {
    Fixture f;
    const auto r = f.run("sh " + f.script("s.sh", c.script), 3, c.timeout);
    EXPECT_EQ(r.state, sched::TrialState::kFailed) << c.script;
    EXPECT_NE(r.message.find(c.message), std::string::npos) << c.script << "\n  got: " << r.message;
    EXPECT_TRUE(std::isinf(r.score) && r.score < 0);
    EXPECT_NE(f.log().find("--- fhist: failed: "), std::string::npos);
  }
}

TEST(CommandObjective, ANonFiniteLossIsADivergedTrial) {
  Fixture f;
  const auto r = f.run("sh " + f.script("s.sh", R"(echo '{"epoch": 1, "train_loss": NaN, "val_acc": 0.1}')"), 1);
  EXPECT_EQ(r.state, sched::TrialState::kDiverged);
  EXPECT_NE(r.message.find("tse-ema score is not finite"), std::string::npos) << r.message;
}

TEST(CommandObjective, CancellingStopsTheScript) {
  Fixture f;
  f.cancel = true;
  EXPECT_THROW(f.run("sh " + f.script("s.sh", "sleep 30"), 3), exec::Cancelled);
}

TEST(CommandObjective, RefusesFeatureEstimatorsAndAMissingCommand) {
  Fixture f;
  f.options.estimator = "fh";
  FHIST_EXPECT_INPUT_ERROR(f.run("true", 1), "--estimator fh needs the network's features");
  f.options.estimator = "original";
  FHIST_EXPECT_INPUT_ERROR(f.run("  ", 1), "needs --command");
}

// ---- a whole search: the script against the same curve computed in-process

double accuracy(double lr, std::int64_t epoch) {
  return 0.9 - 0.1 * std::abs(std::log10(lr / 0.05)) - 0.3 / static_cast<double>(epoch);
}

class CurveObjective : public exec::Objective {
 public:
  explicit CurveObjective(exec::EpochSink& sink) : sink_(sink) {}
  exec::Outcome run(const sched::Job& job, const space::Config& config, const exec::Worker&) override {
    exec::Outcome o;
    o.trial = job.trial;
    o.bracket = job.bracket;
    o.rung = job.rung;
    o.budget_epochs = job.budget_epochs;
    for (std::int64_t e = sink_.recorded(job.trial) + 1; e <= job.budget_epochs; ++e) {
      sink_.add(job.trial, e, {{"original_val_acc", accuracy(config.get_double("lr"), e)}, {"train_loss", 1.0 / e}});
    }
    o.value = o.score = accuracy(config.get_double("lr"), job.budget_epochs);
    o.state = sched::TrialState::kComplete;
    return o;
  }

 private:
  exec::EpochSink& sink_;
};

const char* kAwkCurve = R"(lr=$(printf '%s' "$FHIST_CONFIG" | sed 's/.*"lr":\([^,}]*\).*/\1/')
echo "start $FHIST_START_EPOCH budget $FHIST_BUDGET"
awk -v lr="$lr" -v s="$FHIST_START_EPOCH" -v b="$FHIST_BUDGET" 'BEGIN {
  d = log(lr / 0.05) / log(10); if (d < 0) d = -d
  for (e = s; e <= b; e++) printf "{\"epoch\": %d, \"train_loss\": %.17g, \"val_acc\": %.17g}\n", e, 1.0 / e, 0.9 - 0.1 * d - 0.3 / e
}'
)";

using Result = std::tuple<std::int64_t, int, int, std::int64_t, std::string>;

std::pair<std::vector<Result>, std::vector<double>> results(const std::string& journal) {
  auto store = store::open_sqlite_store_readonly(journal);
  std::vector<std::pair<Result, double>> rows;
  for (const auto& e : store->events()) {
    if (e.kind == "result") rows.push_back({{e.trial, e.bracket, e.rung, e.budget_epochs, e.state}, e.score});
  }
  std::sort(rows.begin(), rows.end());
  std::pair<std::vector<Result>, std::vector<double>> out;
  for (const auto& [r, s] : rows) {
    out.first.push_back(r);
    out.second.push_back(s);
  }
  return out;
}

TEST(CommandSearch, GivesTheSameSearchAsTheInProcessCurve) {
  fhist::testing::TempDir dir;
  auto o = fhist::testing::hyperband_options("original", 1, 9, 3, 5);
  const auto in_process = study::run_study(o, dir.str("a.db"), [](const study::ObjectiveContext& ctx) {
    return std::make_unique<CurveObjective>(*ctx.sink);
  });
  std::ofstream(dir.str("curve.sh")) << kAwkCurve;
  o.objective = "command";
  o.objective_options = CommandOptions{"sh " + dir.str("curve.sh"), 0.0}.to_json();
  o.workers = 2;  // the thread executor: promotions wait for whole rungs, so the order of results does not matter
  const auto script = study::run_study(o, dir.str("b.db"), make_command_objective);
  const auto a = results(dir.str("a.db")), b = results(dir.str("b.db"));
  EXPECT_EQ(a.first, b.first);
  ASSERT_EQ(a.second.size(), b.second.size());
  for (std::size_t i = 0; i < a.second.size(); ++i) EXPECT_NEAR(a.second[i], b.second[i], 1e-12);
  ASSERT_TRUE(in_process.best && script.best);
  EXPECT_EQ(in_process.best->trial, script.best->trial);
  EXPECT_EQ(in_process.epochs_trained, script.epochs_trained);
  EXPECT_EQ(a.first.size(), 22u);
  // A promoted trial continued from its last epoch, in its own folder (the log is kept after the search).
  const auto trial = std::get<0>(*std::find_if(a.first.begin(), a.first.end(),
                                               [](const Result& r) { return std::get<2>(r) == 2; }));
  std::ifstream in(study::trial_dir(dir.str("b.db"), trial) + "/log.txt");
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_NE(ss.str().find("start 1 budget 1"), std::string::npos) << ss.str();
  EXPECT_NE(ss.str().find("start 2 budget 3"), std::string::npos) << ss.str();
  EXPECT_NE(ss.str().find("start 4 budget 9"), std::string::npos) << ss.str();
}

}  // namespace
}  // namespace fhist::command
