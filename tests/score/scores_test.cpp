// The estimator registry: every score against a hand-computed value.
#include <gtest/gtest.h>

#include <cmath>

#include "core/errors.hpp"
#include "score/scores.hpp"

using namespace fhist::score;

namespace {

TrialHistory three_epochs() {
  TrialHistory h;
  h.final_epoch = 12;
  h.params = 12345;
  const double losses[] = {2.0, 1.0, 0.5};
  for (int e = 1; e <= 3; ++e) {
    EpochMeasures m;
    m.epoch = e;
    m.train_loss = losses[e - 1];
    m.original = 0.5 + 0.1 * e;
    m.refit = 0.55 + 0.1 * e;
    for (int k = 1; k <= e; ++k) m.window_acc.push_back(0.6 + 0.1 * e - 0.01 * k);
    m.fh = m.window_acc.back();
    m.fh_paper = m.fh + 0.001;
    m.original_nll = 1.5 - 0.1 * e;
    m.window_nll = {0.9, 0.8};
    h.epochs.push_back(m);
  }
  return h;
}

double score(const std::string& name, const TrialHistory& h) { return make_estimator(name)->score(h); }

}  // namespace

TEST(Scores, TrainingLossFamily) {
  const auto h = three_epochs();
  EXPECT_DOUBLE_EQ(score("tse", h), -3.5);
  EXPECT_DOUBLE_EQ(score("tse-e", h), -0.5);
  EXPECT_DOUBLE_EQ(score("tse-e:2", h), -1.5);
  EXPECT_DOUBLE_EQ(score("tse-e:9", h), -3.5);  // E beyond the history: all epochs
  // ema: 2.0, then 0.1 * 2.0 + 0.9 * 1.0 = 1.1, then 0.1 * 1.1 + 0.9 * 0.5 = 0.56
  EXPECT_NEAR(score("tse-ema", h), -0.56, 1e-12);
  // mu = 0.5: 2.0, 1.5, 1.0
  EXPECT_NEAR(score("tse-ema:0.5", h), -1.0, 1e-12);
  // The paper's TSE-EMA, a discounted sum: 0.81 * 2.0 + 0.9 * 1.0 + 0.5 = 3.02
  EXPECT_NEAR(score("tse-ema-paper", h), -3.02, 1e-12);
  EXPECT_NEAR(score("tse-ema-paper:1", h), score("tse", h), 1e-12);  // gamma = 1: the plain sum
  EXPECT_NEAR(score("tse-ema-paper:0", h), score("tse-e", h), 1e-12);  // gamma = 0: the latest loss
  EXPECT_THROW(score("tse-ema-paper:2", h), fhist::InputError);
}

TEST(Scores, RecordedAccuracies) {
  const auto h = three_epochs();
  EXPECT_DOUBLE_EQ(score("original", h), 0.8);
  EXPECT_DOUBLE_EQ(score("refit", h), 0.85);
  EXPECT_DOUBLE_EQ(score("fh", h), 0.9 - 0.03);
  EXPECT_DOUBLE_EQ(score("fh-paper", h), 0.9 - 0.03 + 0.001);
  EXPECT_DOUBLE_EQ(score("params", h), 12345);
  EXPECT_DOUBLE_EQ(score("val-loss", h), -1.2);
  EXPECT_DOUBLE_EQ(score("fh-loss", h), -0.8);
}

TEST(Scores, HalfWindowFollowsTheBudget) {
  auto h = three_epochs();
  EXPECT_DOUBLE_EQ(score("fh-half", h), 0.9 - 0.02);  // epoch 3: ceil(3/2) = 2 heads
  h.epochs.resize(1);
  EXPECT_DOUBLE_EQ(score("fh-half", h), 0.7 - 0.01);  // epoch 1: one head
  EpochMeasures late;  // epoch 30 with K = 10 recorded heads: capped at 10
  late.epoch = 30;
  for (int k = 1; k <= 10; ++k) late.window_acc.push_back(k / 100.0);
  h.epochs = {late};
  EXPECT_DOUBLE_EQ(score("fh-half", h), 0.10);
}

TEST(Scores, CurveExtrapolatesTheOriginalAccuracy) {
  TrialHistory h;
  h.final_epoch = 20;
  for (int e = 1; e <= 8; ++e) {
    EpochMeasures m;
    m.epoch = e;
    m.original = 0.9 - 0.4 * std::pow(e, -0.8);  // pow3 with c = 0.9
    h.epochs.push_back(m);
  }
  const double s = score("curve", h);
  EXPECT_GT(s, h.epochs.back().original);
  EXPECT_NEAR(s, 0.9 - 0.4 * std::pow(20, -0.8), 0.01);
  // At the full budget the score is the measured accuracy itself, not the fitted curve's value there (a noisy
  // last epoch, off the curve, shows the difference).
  h.final_epoch = 8;
  h.epochs.back().original += 0.03;
  EXPECT_EQ(score("curve", h), h.epochs.back().original);
}

TEST(Scores, MissingMeasurementsAreNaN) {
  TrialHistory h;
  EpochMeasures m;
  m.epoch = 1;
  m.train_loss = 1.0;
  m.original = 0.5;
  h.epochs.push_back(m);
  const auto all = score_all(h);
  EXPECT_TRUE(std::isnan(all.at("fh")));
  EXPECT_TRUE(std::isnan(all.at("fh-half")));
  EXPECT_TRUE(std::isnan(all.at("params")));
  EXPECT_DOUBLE_EQ(all.at("original"), 0.5);
  EXPECT_EQ(all.size(), estimator_names().size());
}

TEST(Scores, RegistryRefusesUnknownNamesAndBadParameters) {
  EXPECT_THROW(make_estimator("tse-x"), fhist::InputError);
  EXPECT_THROW(make_estimator("tse-e:0"), fhist::InputError);
  EXPECT_THROW(make_estimator("tse-e:1.5"), fhist::InputError);
  EXPECT_THROW(make_estimator("tse-ema:2"), fhist::InputError);
  EXPECT_THROW(make_estimator("fh:3"), fhist::InputError);
  EXPECT_THROW(make_estimator("tse")->score(TrialHistory{}), fhist::InputError);
  for (const auto& info : estimators()) EXPECT_EQ(make_estimator(info.name)->info().name, info.name);
}

// A hedged ranking "A+B" scores as A (its promotions are the scheduler's); a malformed pair is refused by name.
TEST(Scores, AHedgedPairScoresAsItsFirstEstimator) {
  const auto h = three_epochs();
  const auto pair = make_estimator("tse-ema+fh");
  EXPECT_EQ(pair->info().name, "tse-ema+fh");
  EXPECT_DOUBLE_EQ(pair->score(h), score("tse-ema", h));
  EXPECT_NE(pair->score(h), score("fh", h));
  EXPECT_TRUE(make_estimator("fh+tse-ema")->info().is_accuracy);
  EXPECT_DOUBLE_EQ(score("fh+tse-ema", h), score("fh", h));
  EXPECT_EQ(hedge_pair("tse-ema:0.5+fh"), std::make_pair(std::string("tse-ema:0.5"), std::string("fh")));
  EXPECT_FALSE(hedge_pair("tse-ema").has_value());
  for (const char* bad : {"tse-ema+", "+fh", "auto+fh", "fh+auto", "tse-ema+fh+tse", "tse-ema+nope"}) {
    try {
      make_estimator(bad);
      ADD_FAILURE() << bad << " accepted";
    } catch (const fhist::InputError& e) {
      EXPECT_NE(std::string(e.what()).find(std::string(bad).find("nope") != std::string::npos ? "nope" : bad),
                std::string::npos)
          << e.what();
    }
  }
}

// One codec: what measures_to_json writes, measures_from_json reads back; rows from before fh_val_acc read the same.
TEST(Scores, MeasuresRoundTripUnderTheEstimatorsNames) {
  EpochMeasures m;
  m.epoch = 3;
  m.train_loss = 0.4;
  m.original = 0.8;
  m.fh = 0.83;
  m.fh_paper = 0.82;
  m.window_acc = {0.7, 0.83};
  const auto row = measures_to_json(m);
  EXPECT_EQ(row.at("fh_val_acc"), 0.83);
  EXPECT_EQ(row.at("fh_paper_val_acc"), 0.82);
  EXPECT_TRUE(row.at("refit_val_acc").is_null());
  EXPECT_FALSE(row.contains("estimate"));
  EXPECT_FALSE(row.contains("window_nll"));  // empty series are left out
  for (const auto& key : measure_keys()) EXPECT_TRUE(row.contains(key)) << key;
  const auto back = measures_from_json(3, row);
  EXPECT_EQ(back.fh, 0.83);
  EXPECT_EQ(back.fh_paper, 0.82);
  EXPECT_EQ(back.train_loss, 0.4);
  EXPECT_EQ(back.window_acc, m.window_acc);
  EXPECT_TRUE(std::isnan(back.refit));
  const auto old = measures_from_json(3, {{"estimate", 0.83}, {"estimate_paper", 0.82}});
  EXPECT_EQ(old.fh, 0.83);
  EXPECT_EQ(old.fh_paper, 0.82);
  EXPECT_EQ(measure_number({{"estimate", 0.5}}, "fh_val_acc"), 0.5);
}

TEST(Scores, ReadsJournalRecords) {
  const auto m = measures_from_json(4, {{"train_loss", 0.7},
                                       {"original_val_acc", 0.6},
                                       {"estimate", nullptr},
                                       {"window_acc", {0.5, 0.55}},
                                       {"window_nll", {1.1, nullptr}},
                                       {"original_nll", 1.3}});
  EXPECT_EQ(m.epoch, 4);
  EXPECT_DOUBLE_EQ(m.train_loss, 0.7);
  EXPECT_DOUBLE_EQ(m.original, 0.6);
  EXPECT_TRUE(std::isnan(m.fh));
  EXPECT_TRUE(std::isnan(m.refit));
  ASSERT_EQ(m.window_acc.size(), 2u);
  EXPECT_DOUBLE_EQ(m.window_acc[1], 0.55);
  ASSERT_EQ(m.window_nll.size(), 2u);
  EXPECT_TRUE(std::isnan(m.window_nll[1]));
  EXPECT_DOUBLE_EQ(m.original_nll, 1.3);
  EXPECT_TRUE(m.window_soft.empty());
}

TEST(Scores, BestAccuracyAndAccTse) {
  auto h = three_epochs();  // epoch 3 of 12: 3/4 of the schedule is left
  h.epochs[1].original = 0.95;  // the best epoch is not the latest
  EXPECT_DOUBLE_EQ(score("best-acc", h), 0.95);
  // Without the number of classes there is no chance loss to measure the nats learned from.
  EXPECT_TRUE(std::isnan(score("acc-tse", h)));
  h.num_classes = 10;
  // 0.95 + 0.1 * 0.75 * (ln 10 - 0.5) = 0.95 + 0.1352 -> capped at 1
  EXPECT_DOUBLE_EQ(score("acc-tse", h), 1.0);
  h.epochs[1].original = 0.6;  // best is now epoch 3's 0.8
  EXPECT_NEAR(score("acc-tse", h), 0.8 + 0.1 * 0.75 * (std::log(10.0) - 0.5), 1e-12);
  EXPECT_NEAR(score("acc-tse:0.12", h), 0.8 + 0.12 * 0.75 * (std::log(10.0) - 0.5), 1e-12);
  EXPECT_DOUBLE_EQ(score("acc-tse:0", h), 0.8);
  // At the full budget the raise is gone: the estimate is the best measured accuracy.
  h.final_epoch = 3;
  EXPECT_DOUBLE_EQ(score("acc-tse", h), 0.8);
  h.final_epoch = 12;
  // A loss above chance adds nothing (the network has learned nothing yet).
  h.epochs[2].train_loss = 3.0;
  EXPECT_DOUBLE_EQ(score("acc-tse", h), 0.8);
  EXPECT_THROW(make_estimator("acc-tse:2"), fhist::InputError);
  EXPECT_THROW(make_estimator("acc-tse:x"), fhist::InputError);
  EXPECT_TRUE(make_estimator("acc-tse")->info().is_accuracy);
  EXPECT_EQ(known_num_classes("fashion-mnist"), 10);
  EXPECT_EQ(known_num_classes("cifar100:/data/c100"), 100);
  EXPECT_EQ(known_num_classes("imagenet"), 0);
}

TEST(Scores, AppendEpochFromJournalRecords) {
  TrialHistory h;
  h.num_classes = 10;  // a fallback, kept by records that do not say
  append_epoch(h, 1, {{"train_loss", 2.0}, {"original_val_acc", 0.3}, {"params", 1000}});
  EXPECT_EQ(h.epochs.size(), 1u);
  EXPECT_DOUBLE_EQ(h.params, 1000);
  EXPECT_EQ(h.num_classes, 10);
  append_epoch(h, 2, {{"train_loss", 1.0}, {"original_val_acc", 0.5}, {"num_classes", 100}, {"params", nullptr}});
  EXPECT_EQ(h.epochs.back().epoch, 2);
  EXPECT_DOUBLE_EQ(h.epochs.back().original, 0.5);
  EXPECT_DOUBLE_EQ(h.params, 1000);  // null keeps the known count
  EXPECT_EQ(h.num_classes, 100);
}
