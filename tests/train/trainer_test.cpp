#include "train/trainer.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "core/errors.hpp"
#include "nas/darts.hpp"
#include "nas/nb201.hpp"
#include "nb201_archs.hpp"
#include "test_util.hpp"
#include "toy_data.hpp"
#include "train/autocast.hpp"

namespace fhist::train {
namespace {

// 1-channel 9x9 images (tests/toy_data.hpp).
data::Dataset toy(std::int64_t n, std::uint64_t seed) { return testing::toy_dataset(n, seed, 1, 9); }

TrainOptions small_options(std::int64_t epochs) {
  TrainOptions o;
  o.epochs = epochs;
  o.max_epochs = 8;
  o.batch_size = 32;
  o.lr = 0.05;
  o.window = 3;
  o.seed = 42;
  o.augment = data::AugmentOptions::parse("crop1,flip");
  o.refit.epochs = 2;
  o.refit.batch_size = 64;
  return o;
}

models::ClassifierPtr fresh_model(std::uint64_t seed) {
  seed_weight_init(seed);
  return models::make_model({"cnn", 0.5, 1, 3});
}

void expect_same_state(Trainer& a, Trainer& b) {
  auto pa = a.model().named_parameters(), pb = b.model().named_parameters();
  for (const auto& item : pa) EXPECT_TRUE(torch::equal(item.value(), pb[item.key()])) << item.key();
  auto ba = a.model().named_buffers(), bb = b.model().named_buffers();
  for (const auto& item : ba) EXPECT_TRUE(torch::equal(item.value(), bb[item.key()])) << item.key();
  ASSERT_EQ(a.history().size(), b.history().size());
  for (std::size_t i = 0; i < a.history().size(); ++i) {
    EXPECT_TRUE(torch::equal(a.history().epochs()[i].train_features, b.history().epochs()[i].train_features));
  }
  ASSERT_EQ(a.records().size(), b.records().size());
  for (std::size_t i = 0; i < a.records().size(); ++i) {
    EXPECT_EQ(a.records()[i].train_loss, b.records()[i].train_loss);
    EXPECT_EQ(a.records()[i].estimate, b.records()[i].estimate);
    EXPECT_EQ(a.records()[i].estimate_paper, b.records()[i].estimate_paper);
    EXPECT_EQ(a.records()[i].window_acc, b.records()[i].window_acc);
  }
}

TEST(Trainer, ContinuingFromACheckpointIsBitIdenticalToTrainingStraight) {
  at::set_num_threads(1);
  auto train = toy(96, 1), val = toy(40, 2);
  fhist::testing::TempDir dir;

  Trainer straight(fresh_model(7), train, val, small_options(8));
  while (!straight.finished()) straight.run_epoch();

  {
    Trainer first(fresh_model(7), train, val, small_options(8));
    for (int i = 0; i < 4; ++i) first.run_epoch();
    first.save_checkpoint(dir.str("ckpt.pt"));
  }
  Trainer resumed(fresh_model(99), train, val, small_options(8));  // different init: the checkpoint must win
  resumed.load_checkpoint(dir.str("ckpt.pt"));
  EXPECT_EQ(resumed.epochs_done(), 4);
  while (!resumed.finished()) resumed.run_epoch();

  expect_same_state(straight, resumed);
  // Training changed the weights (the comparison is not between two untouched models).
  auto untouched = fresh_model(7);
  EXPECT_FALSE(torch::equal(untouched->head()->weight, straight.model().head()->weight));
}

// DARTS' drop path draws from the network's own generator, seeded by the trainer from (seed, epoch): a continuation
// is bit-identical even though the resumed process initialised another network first (which draws from Torch's
// global generator, as every worker's weight init does).
TEST(Trainer, DartsWithDropPathContinuesBitIdentically) {
  at::set_num_threads(1);
  auto train = toy(64, 1), val = toy(32, 2);
  fhist::testing::TempDir dir;
  auto darts = [&](std::uint64_t seed) -> models::ClassifierPtr {
    seed_weight_init(seed);
    return std::make_shared<nas::NetworkCIFAR>(4, train.num_classes, 3, false, space::darts_v2(), 1, 0.3);
  };
  auto options = small_options(4);
  options.max_epochs = 4;  // drop prob 0, 0.075, 0.15, 0.225 in epochs 1..4
  Trainer straight(darts(7), train, val, options);
  while (!straight.finished()) straight.run_epoch();
  {
    Trainer first(darts(7), train, val, options);
    first.run_epoch();
    first.run_epoch();
    first.save_checkpoint(dir.str("darts.pt"));
  }
  Trainer resumed(darts(99), train, val, options);
  resumed.load_checkpoint(dir.str("darts.pt"));
  while (!resumed.finished()) resumed.run_epoch();
  expect_same_state(straight, resumed);
}

// The trainer keeps one re-fit head per epoch and averages the last K; that must be the ensemble the estimators
// compute by re-fitting all K heads of the feature history (fh, fh-paper), and window_acc the same for every k.
TEST(Trainer, PerEpochRefitCacheEqualsFullReEstimation) {
  at::set_num_threads(1);
  auto train = toy(96, 1), val = toy(40, 2);
  auto o = small_options(6);
  o.compare_impl = true;  // the trainer itself checks cached fh-paper against the full re-fit every epoch
  Trainer t(fresh_model(3), train, val, o);
  o.refit = t.options().refit;  // the trainer seeds its re-fits from the run seed
  while (!t.finished()) {
    const auto rec = t.run_epoch();
    const auto k = std::min<std::size_t>(static_cast<std::size_t>(rec.epoch), 3);
    ASSERT_EQ(rec.window_acc.size(), k);
    EXPECT_NEAR(rec.estimate, make_feature_estimator("fh", o.refit)->estimate(t.history()).accuracy, 1e-12);
    EXPECT_EQ(rec.estimate, rec.window_acc.back());
    EXPECT_EQ(rec.refit_val_acc, rec.window_acc.front());
    ASSERT_EQ(rec.window_nll.size(), k);
    ASSERT_EQ(rec.window_soft.size(), k);
    // The K-head ensemble's cross-entropy and true-class probability, computed here from the full estimate.
    const auto fullp = make_feature_estimator("fh", o.refit)->estimate(t.history()).probabilities;
    const auto truep = fullp.gather(1, val.labels.unsqueeze(1)).squeeze(1).to(torch::kFloat64);
    EXPECT_NEAR(rec.window_nll.back(), -truep.clamp_min(1e-12).log().mean().item<double>(), 1e-5);
    EXPECT_NEAR(rec.window_soft.back(), truep.mean().item<double>(), 1e-6);
    EXPECT_GT(rec.original_nll, 0.0);
    EXPECT_NEAR(rec.refit_val_acc, make_feature_estimator("refit", o.refit)->estimate(t.history()).accuracy, 1e-12);
    // Each cached head's output is the full estimator's head output for that epoch.
    const auto& heads = t.head_probabilities();
    ASSERT_EQ(heads.size(), k);
    const auto full = make_feature_estimator("fh", o.refit)->estimate(t.history()).probabilities;
    torch::Tensor mean = heads[0];
    for (std::size_t i = 1; i < heads.size(); ++i) mean = mean + heads[i];
    EXPECT_TRUE(torch::allclose(mean / static_cast<double>(k), full, 1e-5, 1e-6))
        << (mean / static_cast<double>(k) - full).abs().max().item<double>();
  }
}

TEST(Trainer, LinearScheduleReachesZeroAtMaxEpochsAndBudgetStopsEarly) {
  at::set_num_threads(1);
  auto train = toy(96, 1), val = toy(40, 2);
  Trainer t(fresh_model(1), train, val, small_options(4));
  while (!t.finished()) t.run_epoch();
  ASSERT_EQ(t.records().size(), 4u);
  // 3 steps per epoch, 24 in the schedule; the last step of epoch 4 is step index 11.
  EXPECT_NEAR(t.records().back().lr, 0.05 * (1.0 - 11.0 / 24.0), 1e-12);
  EXPECT_THROW(t.run_epoch(), InputError);
  for (const auto& r : t.records()) {
    EXPECT_TRUE(std::isfinite(r.estimate));
    EXPECT_GE(r.original_val_acc, 0.0);
    EXPECT_LE(r.original_val_acc, 1.0);
  }
  EXPECT_LT(t.records().back().train_loss, t.records().front().train_loss);
  EXPECT_EQ(t.history().size(), 3u);
}

// A checkpoint from another run is refused, naming the setting; data, augmentation, re-fit, momentum and feature
// storage used to be continued from silently.
TEST(Trainer, CheckpointFromAnotherRunIsRefused) {
  auto train = toy(96, 1), val = toy(40, 2);
  fhist::testing::TempDir dir;
  Trainer a(fresh_model(1), train, val, small_options(2));
  a.run_epoch();
  a.save_checkpoint(dir.str("c.pt"));
  const auto expect_refused = [&](const data::Dataset& tr, const data::Dataset& va, const TrainOptions& o,
                                  const std::string& named) {
    Trainer b(fresh_model(1), tr, va, o);
    try {
      b.load_checkpoint(dir.str("c.pt"));
      ADD_FAILURE() << "expected CheckpointError naming " << named;
    } catch (const CheckpointError& e) {
      EXPECT_NE(std::string(e.what()).find(named), std::string::npos) << e.what();
    }
  };
  auto budget = small_options(2);
  budget.max_epochs = 9;
  expect_refused(train, val, budget, "--max-budget = 8");
  // Same name and sizes, other images: only the content digest tells.
  auto other_train = toy(96, 7);
  expect_refused(other_train, val, small_options(2), "--data");
  auto augment = small_options(2);
  augment.augment = data::AugmentOptions::parse("none");
  expect_refused(train, val, augment, "--augment crop1,flip (this run: none)");
  auto refit = small_options(2);
  refit.refit.lr = 0.1;
  expect_refused(train, val, refit, "re-fit settings");
  auto momentum = small_options(2);
  momentum.momentum = 0.5;
  expect_refused(train, val, momentum, "--momentum 0.9 (this run: 0.5)");
  auto storage = small_options(2);
  storage.feature_dtype = torch::kFloat32;
  expect_refused(train, val, storage, "--feature-storage float16 (this run: float32)");
  // The same settings continue.
  Trainer same(fresh_model(1), toy(96, 1), toy(40, 2), small_options(2));
  EXPECT_NO_THROW(same.load_checkpoint(dir.str("c.pt")));
  EXPECT_EQ(same.epochs_done(), 1);
  EXPECT_THROW(same.load_checkpoint(dir.str("missing.pt")), CheckpointError);
}

// Cells that differ only in parameter-free operations have equal parameter counts; the checkpoint must still
// tell them apart (a search's stale checkpoint of another cell used to be continued from).
TEST(Trainer, CheckpointOfAnotherCellWithTheSameParameterCountIsRefused) {
  at::set_num_threads(1);
  auto train = testing::toy_dataset(64, 1, 1, 8), val = testing::toy_dataset(32, 2, 1, 8);
  fhist::testing::TempDir dir;
  const auto expect_refused = [&](const models::ClassifierPtr& a, const models::ClassifierPtr& b) {
    ASSERT_EQ(models::count_parameters(*a), models::count_parameters(*b));
    Trainer first(a, train, val, small_options(2));
    first.run_epoch();
    first.save_checkpoint(dir.str("cell.pt"));
    Trainer other(b, train, val, small_options(2));
    try {
      other.load_checkpoint(dir.str("cell.pt"));
      ADD_FAILURE() << "expected CheckpointError naming the architecture";
    } catch (const CheckpointError& e) {
      EXPECT_NE(std::string(e.what()).find("model architecture"), std::string::npos) << e.what();
    }
  };
  // NB-201: avg_pool_3x3 and skip_connect on edge 1<-0 (both parameter-free at stride 1).
  const auto nb201 = [&](const std::string& arch) -> models::ClassifierPtr {
    seed_weight_init(3);
    return std::make_shared<nas::TinyNetwork>(4, 1, space::parse_nb201_arch(arch), train.num_classes, 1);
  };
  expect_refused(nb201("|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|none~0|none~1|skip_connect~2|"),
                 nb201("|skip_connect~0|+|nor_conv_1x1~0|skip_connect~1|+|none~0|none~1|skip_connect~2|"));
  // DARTS: max_pool_3x3 for avg_pool_3x3 in one normal edge.
  auto pooled = space::darts_v2();
  for (auto& edge : pooled.normal) {
    if (edge.first == "max_pool_3x3" || edge.first == "avg_pool_3x3") continue;
    if (edge.first == "skip_connect") {
      edge.first = "avg_pool_3x3";
      break;
    }
  }
  auto other = pooled;
  for (auto& edge : other.normal) {
    if (edge.first == "avg_pool_3x3") {
      edge.first = "max_pool_3x3";
      break;
    }
  }
  const auto darts = [&](const space::Genotype& g) -> models::ClassifierPtr {
    seed_weight_init(3);
    return std::make_shared<nas::NetworkCIFAR>(4, train.num_classes, 3, false, g, 1, 0.0);
  };
  ASSERT_NE(pooled, other);
  expect_refused(darts(pooled), darts(other));
  // The same cell continues.
  Trainer first(nb201(testing::kNb201AllOps), train, val, small_options(2));
  first.run_epoch();
  first.save_checkpoint(dir.str("same.pt"));
  Trainer same(nb201(testing::kNb201AllOps), train, val, small_options(2));
  EXPECT_NO_THROW(same.load_checkpoint(dir.str("same.pt")));
}

TEST(Trainer, NonFiniteLossMarksTheRunDiverged) {
  auto train = toy(96, 1), val = toy(40, 2);
  auto o = small_options(2);
  o.lr = 1e30;
  Trainer t(fresh_model(1), train, val, o);
  EXPECT_THROW({ for (int i = 0; i < 2; ++i) t.run_epoch(); }, DivergedError);
}

TEST(TrainOptions, RejectsInconsistentValues) {
  auto o = small_options(2);
  o.epochs = 9;
  EXPECT_THROW(o.validate(), InputError);
  o = small_options(2);
  o.window = 0;
  EXPECT_THROW(o.validate(), InputError);
  o = small_options(2);
  o.batch_size = 0;
  EXPECT_THROW(o.validate(), InputError);
}

}  // namespace
}  // namespace fhist::train

namespace fhist::train {
namespace {

TEST(Trainer, Bf16AutocastAndChannelsLastTrainOnCpu) {
  auto train = toy(96, 1), val = toy(40, 2);
  auto o = small_options(4);
  o.bf16 = true;
  o.channels_last = true;
  Trainer t(fresh_model(3), train, val, o);
  while (!t.finished()) t.run_epoch();
  for (const auto& r : t.records()) {
    EXPECT_TRUE(std::isfinite(r.train_loss));
    EXPECT_TRUE(std::isfinite(r.estimate));
  }
  EXPECT_LT(t.records().back().train_loss, t.records().front().train_loss);
  for (const auto& p : t.model().parameters()) {
    EXPECT_EQ(p.scalar_type(), torch::kFloat32);  // autocast: weights stay float32
    if (p.dim() == 4) {
      EXPECT_TRUE(p.is_contiguous(at::MemoryFormat::ChannelsLast));
    }
  }
  // Autocast is scoped: nothing leaks into code that runs after the trainer.
  EXPECT_FALSE(autocast_enabled(torch::kCPU));
}

TEST(Trainer, ReadingTheLossBackEveryFewStepsChangesNothing) {
  at::set_num_threads(1);
  auto train = toy(96, 1), val = toy(40, 2);
  auto o = small_options(3);
  Trainer every(fresh_model(5), train, val, o);
  o.sync_every = 2;  // as on a GPU: fewer host synchronisations
  Trainer sparse(fresh_model(5), train, val, o);
  std::vector<std::int64_t> reported;
  while (!every.finished()) {
    every.run_epoch();
    sparse.run_epoch([&](std::int64_t step, std::int64_t, double) { reported.push_back(step); });
  }
  expect_same_state(every, sparse);
  EXPECT_EQ(reported, (std::vector<std::int64_t>{2, 3, 2, 3, 2, 3}));  // 3 steps an epoch: at 2 and at the end
}

}  // namespace
}  // namespace fhist::train
