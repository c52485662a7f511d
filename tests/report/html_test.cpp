// The HTML report's data and page on a small hand-written journal: promotions, the incumbent, running jobs, the
// rank rows (the same as fhist export --table ranks), cell drawings, and a page whose embedded JSON parses.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cmath>
#include <fstream>
#include <regex>

#include "report/assets.hpp"
#include "report/html.hpp"
#include "report/tables.hpp"
#include "store/trial_store.hpp"
#include "study/study.hpp"
#include "test_study.hpp"
#include "test_util.hpp"

namespace fhist::report {
namespace {

void write_text(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// A HyperBand-like journal, max budget 4: trials 0..2 ran 2 epochs; 0 and 1 were promoted to 4 (1 is still running
// there, with 3 epochs recorded); trial 2 was not promoted. Trial 3 finished 4 epochs in another bracket.
std::unique_ptr<store::TrialStore> write_journal(const std::string& path, bool finish_trial_1) {
  auto s = store::open_sqlite_store(path, true);
  const auto o = fhist::testing::hyperband_options("fh", 2, 4, 2);
  s->write_study({{"options", o.to_json()}, {"fhist_version", "test"}});
  const double acc[4][4] = {{.50, .60, .70, .80}, {.40, .55, .65, .75}, {.30, .35, .40, .45}, {.45, .50, .62, .70}};
  for (int t = 0; t < 4; ++t) {
    s->add_trial({t, t == 3 ? 0 : 1, {{"lr", 0.1 * (t + 1)}}, "pending", ""});
  }
  auto ev = [&](const char* kind, std::int64_t trial, int bracket, int rung, std::int64_t budget, double score) {
    store::Event e;
    e.kind = kind;
    e.trial = trial;
    e.bracket = bracket;
    e.rung = rung;
    e.budget_epochs = budget;
    e.score = score;
    e.state = std::string(kind) == "result" ? "complete" : "";
    e.seconds = 2;
    s->add_event(e);
  };
  auto epoch = [&](int t, int e) {
    s->add_epoch({t, e, {{"train_loss", 2.0 - 0.3 * e}, {"original_val_acc", acc[t][e - 1]},
                         {"estimate", acc[t][e - 1] + 0.05}, {"refit_val_acc", acc[t][e - 1] + 0.02},
                         {"seconds", 1.5}, {"worker", t % 2}, {"finished_at", 1000.0 + 10 * t + e}}});
  };
  for (int t = 0; t < 3; ++t) {
    ev("start", t, 1, 0, 2, 0);
    epoch(t, 1);
    epoch(t, 2);
    ev("result", t, 1, 0, 2, acc[t][1] + 0.05);
  }
  for (int t : {0, 1}) ev("start", t, 1, 1, 4, 0);
  epoch(0, 3);
  epoch(0, 4);
  ev("result", 0, 1, 1, 4, 0.85);
  epoch(1, 3);
  s->set_trial_state(1, "running");
  if (finish_trial_1) {
    epoch(1, 4);
    ev("result", 1, 1, 1, 4, 0.80);
    s->set_trial_state(1, "complete");
  }
  ev("start", 3, 0, 0, 4, 0);
  for (int e = 1; e <= 4; ++e) epoch(3, e);
  ev("result", 3, 0, 0, 4, 0.75);
  for (int t : {0, 2, 3}) s->set_trial_state(t, "complete");
  return s;
}

// The options for a page of the journal write_journal makes in `dir`.
HtmlOptions journal_page(const testing::TempDir& dir, bool finish_trial_1) {
  HtmlOptions opt;
  opt.journal = dir.str("j.db");
  write_journal(opt.journal, finish_trial_1);
  opt.generated_at = "2026-01-01T00:00:00Z";
  return opt;
}

TEST(HtmlReport, DataHasPromotionsIncumbentRunningJobsAndUtilisation) {
  testing::TempDir dir;
  const auto d = page_data(journal_page(dir, false));
  EXPECT_EQ(d["facts"]["state"], "interrupted");  // trial 1 started at 4 epochs and never reported
  EXPECT_EQ(d["facts"]["jobs_running"], 1);
  ASSERT_EQ(d["running"].size(), 1u);
  EXPECT_EQ(d["running"][0]["trial"], 1);
  EXPECT_EQ(d["running"][0]["budget"], 4);
  EXPECT_EQ(d["running"][0]["epochs_recorded"], 3);

  ASSERT_EQ(d["results"].size(), 5u);
  EXPECT_EQ(d["results"][0]["outcome"], "promoted");      // trial 0 at 2 epochs
  EXPECT_EQ(d["results"][1]["outcome"], "promoted");      // trial 1 at 2 epochs (started at 4)
  EXPECT_EQ(d["results"][2]["outcome"], "not promoted");  // trial 2
  // Incumbent: after trial 0 reached 4 epochs it is trial 0 (validation 0.80 at the full budget), which trial 3
  // (0.70) does not beat; cumulative epochs 2 + 2 + 2 + 2 + 4.
  const auto& inc = d["incumbent"];
  ASSERT_EQ(inc.size(), 5u);
  EXPECT_EQ(inc[3]["trial"], 0);
  EXPECT_DOUBLE_EQ(inc[3]["val_acc"].get<double>(), 0.80);
  EXPECT_EQ(inc[4]["trial"], 0);
  EXPECT_EQ(inc[4]["epochs"], 12);

  // Best configurations at the full budget, by validation accuracy.
  ASSERT_EQ(d["top"].size(), 2u);
  EXPECT_EQ(d["top"][0]["trial"], 0);
  EXPECT_EQ(d["top"][0]["ranked_by"], "val_acc");
  EXPECT_EQ(d["top"][0]["epochs"], 4);
  EXPECT_DOUBLE_EQ(d["top"][0]["seconds"].get<double>(), 6.0);

  // Two workers: 0 trained trials 0 and 2 (4 + 2 epochs x 1.5 s), 1 trained 1 and 3 (3 + 4 epochs), between the
  // first epoch's start (1001 - 1.5) and the last one's end (1034).
  const auto& u = d["facts"]["utilisation"];
  ASSERT_TRUE(u.is_array());
  ASSERT_EQ(u.size(), 2u);
  EXPECT_DOUBLE_EQ(u[0]["busy_seconds"].get<double>(), 9.0);
  EXPECT_DOUBLE_EQ(u[1]["busy_seconds"].get<double>(), 10.5);
  EXPECT_NEAR(u[0]["share"].get<double>(), 9.0 / 34.5, 1e-12);

  // Per-epoch scores: the network's own accuracy and the recomputed fh (the stored estimate).
  const auto& e0 = d["epochs"][0];
  EXPECT_EQ(e0["trial"], 0);
  EXPECT_DOUBLE_EQ(e0["original"].get<double>(), 0.50);
  EXPECT_DOUBLE_EQ(e0["fh"].get<double>(), 0.55);
}

TEST(HtmlReport, RanksAreTheExportedRanksOverTrialsAtTheFullBudget) {
  testing::TempDir dir;
  const auto opt = journal_page(dir, true);
  const auto path = opt.journal;
  const auto d = page_data(opt);
  EXPECT_EQ(d["facts"]["state"], "finished");
  EXPECT_EQ(d["ranks"]["target"], "original_val_acc");
  EXPECT_EQ(d["ranks"]["trials"], nlohmann::json::array({0, 1, 3}));
  const auto exported = to_json(journal_table(path, "ranks"));
  ASSERT_EQ(exported.size(), d["ranks"]["rows"].size());
  for (std::size_t i = 0; i < exported.size(); ++i) {
    for (const char* k : {"estimator", "epoch", "configs", "kendall", "mean_abs_error"}) {
      EXPECT_EQ(exported[i][k], d["ranks"]["rows"][i][k]) << i << " " << k;
    }
  }
  // The network's own accuracy after epoch 1 (0.50, 0.40, 0.45) against the final one (0.80, 0.75, 0.70): two
  // concordant pairs of three; after epoch 4 it is the target itself.
  for (const auto& r : d["ranks"]["rows"]) {
    if (r["estimator"] != "original") continue;
    if (r["epoch"] == 1) {
      EXPECT_NEAR(r["kendall"].get<double>(), 1.0 / 3.0, 1e-12);
    }
    if (r["epoch"] == 4) {
      EXPECT_DOUBLE_EQ(r["kendall"].get<double>(), 1.0);
      EXPECT_DOUBLE_EQ(r["mean_abs_error"].get<double>(), 0.0);
    }
  }
}

TEST(HtmlReport, CellDrawingsForNb201AndDarts) {
  const nlohmann::json nb201 = {{"edge_1_0", "nor_conv_3x3"}, {"edge_2_0", "skip_connect"}, {"edge_2_1", "none"},
                                {"edge_3_0", "avg_pool_3x3"}, {"edge_3_1", "nor_conv_1x1"}, {"edge_3_2", "<b>"}};
  const auto svg = cell_svg(nb201);
  EXPECT_EQ(std::count(svg.begin(), svg.end(), '\n'), 0);
  auto count = [](const std::string& s, const std::string& what) {
    std::size_t n = 0;
    for (auto p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count(svg, "<svg"), 1u);
  EXPECT_EQ(count(svg, "<circle"), 4u);
  EXPECT_EQ(count(svg, "class=\"cell-op\""), 6u);
  EXPECT_NE(svg.find("nor_conv_3x3"), std::string::npos);
  EXPECT_NE(svg.find("&lt;b&gt;"), std::string::npos);  // escaped
  EXPECT_EQ(svg.find("<b>"), std::string::npos);

  nlohmann::json darts = nlohmann::json::object();
  for (const char* cell : {"normal", "reduce"}) {
    for (int node = 2; node <= 5; ++node) {
      darts[fmt::format("{}_{}_in_a", cell, node)] = 0;
      darts[fmt::format("{}_{}_in_b", cell, node)] = node - 1;
      darts[fmt::format("{}_{}_op_a", cell, node)] = "sep_conv_3x3";
      darts[fmt::format("{}_{}_op_b", cell, node)] = "skip_connect";
    }
  }
  const auto dsvg = cell_svg(darts);
  EXPECT_EQ(count(dsvg, "<svg"), 2u);
  EXPECT_EQ(count(dsvg, "<circle"), 14u);
  EXPECT_EQ(count(dsvg, "class=\"cell-op\""), 16u);
  EXPECT_EQ(cell_svg({{"lr", 0.1}}), "");
  nlohmann::json partial = nb201;
  partial.erase("edge_3_2");
  EXPECT_EQ(cell_svg(partial), "");
}

TEST(HtmlReport, PageEmbedsParsableDataAndOneDivPerChart) {
  if (web_assets().empty()) GTEST_SKIP() << "built without web/node_modules (scripts/install-deps.sh runs npm ci)";
  testing::TempDir dir;
  const auto data = page_data(journal_page(dir, true));
  const auto charts = page_charts(data);
  std::vector<std::string> ids;
  for (const auto& c : charts) ids.push_back(c["id"].get<std::string>());
  // Three trials reached the full budget: the rank statistics are not drawn, and the page says why, with n.
  EXPECT_EQ(ids, (std::vector<std::string>{"trial", "brackets", "incumbent"}));
  const auto page = render_html(data, charts);
  EXPECT_NE(page.find("Only 3 trials reached the largest budget"), std::string::npos);
  for (const auto& id : ids) EXPECT_NE(page.find("id=\"chart-" + id + "\""), std::string::npos) << id;
  // The data block parses back, and nothing in it closes its <script> early.
  const std::string open = "<script type=\"application/json\" id=\"fhist-data\">";
  const auto begin = page.find(open) + open.size();
  const auto end = page.find("</script>", begin);
  const auto embedded = nlohmann::json::parse(page.substr(begin, end - begin));
  EXPECT_EQ(embedded["ranks"], data["ranks"]);
  EXPECT_FALSE(embedded.contains("epochs"));
  // Seconds below 10 keep a tenth: the best trial's 6 s of training shows as 6.0.
  EXPECT_NE(page.find("<td class=\"num\">6.0</td>"), std::string::npos);
  // No reference to anything outside the file (the library's own text aside).
  std::string own = page;
  for (const auto& a : web_assets()) own.erase(own.find(a.text), std::string(a.text).size());
  EXPECT_FALSE(std::regex_search(own, std::regex(R"(<(script|link|img)[^>]+(src|href)=)")));
}

// Eta squared by hand: y = (1, 2, 3, 4) in groups {1, 2}, {3, 4}: group means 1.5, 3.5, grand mean 2.5; between
// 2 * 1 + 2 * 1 = 4 of total 1.25 * 4 = 5.
TEST(HtmlReport, ImportanceIsEtaSquaredOverBinsOfEqualValues) {
  EXPECT_DOUBLE_EQ(eta_squared({1, 2, 3, 4}, {0, 0, 1, 1}), 0.8);
  EXPECT_DOUBLE_EQ(eta_squared({1, 2, 3, 4}, {0, 1, 2, 3}), 1.0);
  EXPECT_TRUE(std::isnan(eta_squared({1, 1, 1}, {0, 1, 2})));  // constant accuracy
  EXPECT_TRUE(std::isnan(eta_squared({1, 2, 3}, {0, 0, 0})));  // one group
  EXPECT_EQ(rank_bins({0.3, 0.1, 0.2, 0.4, 0.1}, 2), (std::vector<int>{1, 0, 0, 1, 0}));  // 4 distinct values
  EXPECT_EQ(rank_bins({5, 5, 5}, 5), (std::vector<int>{0, 0, 0}));
}

// A space with a log-scaled learning rate and a categorical optimizer; accuracy follows the optimizer alone.
TEST(HtmlReport, ParameterViewsDrawTheSpacesParametersAndRankTheirImportance) {
  const nlohmann::json def = {
      {"name", "mine"},
      {"params", {{{"name", "lr"}, {"type", "float"}, {"low", 0.001}, {"high", 0.1}, {"log", true}},
                  {{"name", "opt"}, {"type", "categorical"}, {"choices", {"sgd", "adam"}}},
                  {{"name", "fixed"}, {"type", "int"}, {"low", 1}, {"high", 4}}}},
      {"constraints", {"a built-in one"}}};
  std::vector<ParamRow> rows;
  const double lrs[] = {0.001, 0.003, 0.01, 0.03, 0.1, 0.002, 0.02, 0.05, 0.005, 0.07};
  for (int t = 0; t < 10; ++t) {
    rows.push_back({t, 4, {{"lr", lrs[t]}, {"opt", t % 2 ? "adam" : "sgd"}, {"fixed", 2}}, t % 2 ? 0.9 : 0.6});
  }
  rows.push_back({10, 2, {{"lr", 0.01}, {"opt", "sgd"}, {"fixed", 2}}, 0.5});  // a lower budget: not drawn
  const auto v = parameter_views(def, rows);
  EXPECT_EQ(v["budget"], 4);
  EXPECT_EQ(v["n"], 10);
  EXPECT_EQ(v["params"], nlohmann::json::array({"lr", "opt"}));  // "fixed" does not vary
  ASSERT_EQ(v["lines"].size(), 20u);
  for (const auto& l : v["lines"]) {
    if (l["param"] == "lr" && l["trial"] == 2) {
      EXPECT_NEAR(l["pos"].get<double>(), 0.5, 1e-12);  // log scale
    }
    if (l["param"] == "opt") {
      EXPECT_EQ(l["pos"].get<double>(), l["value"] == "adam" ? 1.0 : 0.0);
    }
  }
  std::map<std::string, double> eta;
  for (const auto& i : v["importance"]) eta[i["param"]] = i["eta_squared"].get<double>();
  EXPECT_DOUBLE_EQ(eta.at("opt"), 1.0);
  EXPECT_LT(eta.at("lr"), 0.5);
  // Fewer than kMinImportanceTrials: lines, but no importance.
  rows.resize(6);
  const auto few = parameter_views(def, rows);
  EXPECT_EQ(few["n"], 6);
  EXPECT_TRUE(few["importance"].empty());
  EXPECT_FALSE(few["lines"].empty());
}

// A conditional parameter (momentum only with sgd): drawn and ranked over the trials where it is set.
TEST(HtmlReport, ParameterViewsSkipTrialsWhereAParameterIsInactive) {
  const nlohmann::json def = {{"name", "cond"},
                              {"params",
                               {{{"name", "opt"}, {"type", "categorical"}, {"choices", {"sgd", "adam"}}},
                                {{"name", "momentum"},
                                 {"type", "float"},
                                 {"low", 0.0},
                                 {"high", 0.9},
                                 {"condition", {{"param", "opt"}, {"in", {"sgd"}}}}}}}};
  std::vector<ParamRow> rows;
  for (int t = 0; t < 20; ++t) {
    nlohmann::json c = {{"opt", t % 2 ? "adam" : "sgd"}};
    if (t % 2 == 0) c["momentum"] = 0.09 * (t / 2);  // 0 .. 0.81, accuracy rising with it
    rows.push_back({t, 4, c, t % 2 ? 0.7 : 0.5 + 0.04 * (t / 2)});
  }
  const auto v = parameter_views(def, rows);
  EXPECT_EQ(v["params"], nlohmann::json::array({"opt", "momentum"}));
  int momentum_lines = 0;
  for (const auto& l : v["lines"]) {
    if (l["param"] != "momentum") continue;
    ++momentum_lines;
    EXPECT_EQ(l["trial"].get<int>() % 2, 0);
  }
  EXPECT_EQ(momentum_lines, 10);
  std::map<std::string, double> eta;
  for (const auto& i : v["importance"]) eta[i["param"]] = i["eta_squared"].get<double>();
  ASSERT_TRUE(eta.count("momentum"));
  EXPECT_GT(eta.at("momentum"), 0.8);  // among the sgd trials, momentum orders the accuracy
}

TEST(HtmlReport, ReplayFilesAreCheckedAndCharted) {
  testing::TempDir dir;
  auto opt = journal_page(dir, true);
  opt.replays = {dir.str("missing.json")};
  EXPECT_THROW(page_data(opt), InputError);
  write_text(dir.str("bad.json"), R"({"algo": "hyperband"})");
  opt.replays = {dir.str("bad.json")};
  EXPECT_THROW(page_data(opt), InputError);
  write_text(dir.str("r.json"), R"([{"algo": "hyperband", "estimator": "fh", "seed": 0, "regret": 0.01,
      "epochs": 40}, {"algo": "hyperband", "estimator": "original", "seed": 0, "regret": 0.02, "epochs": 40}])");
  opt.replays = {dir.str("r.json")};
  const auto d = page_data(opt);
  ASSERT_EQ(d["replay"].size(), 2u);
  const auto charts = page_charts(d);
  EXPECT_EQ(charts.back()["id"], "replay");
}

}  // namespace
}  // namespace fhist::report
