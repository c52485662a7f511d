#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <cmath>

#include "core/errors.hpp"
#include "estimate/estimator.hpp"

namespace fhist {
namespace {

// A synthetic "training run": class means drift towards separable positions over the epochs, with noise.
EpochFeatures synthetic_epoch(std::int64_t epoch, std::int64_t n, std::int64_t m, std::int64_t d, std::int64_t c,
                              double separation, std::uint64_t seed) {
  // Fixed class means and validation labels (one validation set); per-epoch noise and train order.
  auto fixed = at::detail::createCPUGenerator(seed);
  auto means = torch::randn({c, d}, fixed);
  auto vy = torch::randint(0, c, {m}, fixed, torch::kInt64);
  auto gen = at::detail::createCPUGenerator(seed * 1000 + static_cast<std::uint64_t>(epoch));
  auto ty = torch::randint(0, c, {n}, gen, torch::kInt64);
  auto tx = means.index_select(0, ty) * separation + torch::randn({n, d}, gen);
  auto vx = means.index_select(0, vy) * separation + torch::randn({m, d}, gen);
  EpochFeatures e;
  e.epoch = epoch;
  e.train_features = tx;
  e.train_labels = ty;
  e.val_features = vx;
  e.val_labels = vy;
  e.head_weight = torch::randn({c, d}, gen) * 0.01;
  e.head_bias = torch::zeros({c});
  return e;
}

TEST(Estimators, KnownAnswerEnsembleAveragesSoftmaxNotVotes) {
  // Zero refit epochs: the estimate is the plain ensemble of the saved heads, computable by hand.
  // 2 classes, 1-d features, val points x = 1 (label 0) and x = 2 (label 1).
  // Head A: logits (0, 3x): class 1 for both points. Head B: logits (1, 0) ... see below.
  FeatureHistory h(10, torch::kFloat32);
  auto add = [&](std::int64_t epoch, std::vector<float> w, std::vector<float> b) {
    EpochFeatures e;
    e.epoch = epoch;
    e.train_features = torch::ones({4, 1});
    e.train_labels = torch::zeros({4}, torch::kInt64);
    e.val_features = torch::tensor({1.0f, 2.0f}).view({2, 1});
    e.val_labels = torch::tensor({0, 1}, torch::kInt64);
    e.head_weight = torch::tensor(w).view({2, 1});
    e.head_bias = torch::tensor(b);
    h.add(e);
  };
  // Epoch 1: logits (0, 0.2x)  -> point 1: p1 = sigmoid(0.2) = 0.5498 (wrong), point 2: sigmoid(0.4) = 0.5987.
  // Epoch 2: logits (0, 0.2x)  -> same.
  // Epoch 3: logits (0, -10 + 8x)? point 1: sigmoid(-2) = 0.1192 (right), point 2: sigmoid(6) = 0.9975.
  add(1, {0.0f, 0.2f}, {0.0f, 0.0f});
  add(2, {0.0f, 0.2f}, {0.0f, 0.0f});
  add(3, {0.0f, 8.0f}, {0.0f, -10.0f});
  RefitOptions none;
  none.epochs = 0;
  auto est = make_feature_estimator("fh", none)->estimate(h);
  auto sig = [](double z) { return 1.0 / (1.0 + std::exp(-z)); };
  const double p1_point1 = (2 * sig(0.2) + sig(-2.0)) / 3.0;  // 0.4063 < 0.5: class 0, correct
  const double p1_point2 = (2 * sig(0.4) + sig(6.0)) / 3.0;
  EXPECT_NEAR(est.probabilities[0][1].item<double>(), p1_point1, 1e-6);
  EXPECT_NEAR(est.probabilities[1][1].item<double>(), p1_point2, 1e-6);
  // Majority vote would call point 1 class 1 (two of three heads); the softmax mean calls it class 0.
  EXPECT_DOUBLE_EQ(est.accuracy, 1.0);
  EXPECT_EQ(est.heads, 3);
  // The network's own latest head and a single head agree here; with epoch 1 alone the answer is 0.5.
  EXPECT_DOUBLE_EQ(make_feature_estimator("original")->estimate(h).accuracy, 1.0);
  FeatureHistory first(10, torch::kFloat32);
  first.add(h.epochs().front());
  EXPECT_DOUBLE_EQ(make_feature_estimator("fh", none)->estimate(first).accuracy, 0.5);
  // The paper-faithful implementation gives the same probabilities.
  auto paper = make_feature_estimator("fh-paper", none)->estimate(h);
  EXPECT_TRUE(torch::allclose(paper.probabilities, est.probabilities, 1e-6, 1e-6));
}

TEST(Estimators, RefitLearnsSeparableClassesFromAZeroHead) {
  FeatureHistory h(3, torch::kFloat32);
  auto e = synthetic_epoch(1, 2000, 500, 16, 4, 4.0, 1);
  e.head_weight.zero_();
  h.add(e);
  EXPECT_LT(make_feature_estimator("original")->estimate(h).accuracy, 0.4);  // zero head: one class everywhere
  for (const auto* name : {"refit", "fh", "fh-paper"}) {
    EXPECT_GT(make_feature_estimator(name)->estimate(h).accuracy, 0.95) << name;
  }
}

TEST(Estimators, PaperAndFastImplementationsAgree) {
  FeatureHistory h(5, torch::kFloat32);
  for (int ep = 1; ep <= 7; ++ep) h.add(synthetic_epoch(ep, 3000, 700, 24, 6, 0.5 + 0.1 * ep, 2));
  ASSERT_EQ(h.size(), 5u);
  RefitOptions o;
  o.seed = 11;
  auto fast = make_feature_estimator("fh", o)->estimate(h);
  auto paper = make_feature_estimator("fh-paper", o)->estimate(h);
  EXPECT_EQ(fast.heads, 5);
  EXPECT_LT((fast.probabilities - paper.probabilities).abs().max().item<double>(), 1e-4);
  EXPECT_LE(std::abs(fast.accuracy - paper.accuracy), 0.003);
  // Not a trivial agreement: the ensemble differs from the single latest refit head.
  auto refit = make_feature_estimator("refit", o)->estimate(h);
  EXPECT_GT((fast.probabilities - refit.probabilities).abs().max().item<double>(), 1e-2);
}

TEST(Estimators, RefitIsTheEnsembleOfTheLatestEpochAlone) {
  FeatureHistory h(4, torch::kFloat32);
  for (int ep = 1; ep <= 3; ++ep) h.add(synthetic_epoch(ep, 500, 200, 8, 3, 1.0, 3));
  FeatureHistory last(1, torch::kFloat32);
  last.add(h.latest());
  EXPECT_TRUE(torch::allclose(make_feature_estimator("refit")->estimate(h).probabilities,
                              make_feature_estimator("fh")->estimate(last).probabilities));
}

TEST(Estimators, Float16StorageChangesTheEstimateByLessThanATenthOfAPoint) {
  FeatureHistory h16(10, torch::kFloat16), h32(10, torch::kFloat32);
  for (int ep = 1; ep <= 10; ++ep) {
    auto e = synthetic_epoch(ep, 4000, 2000, 32, 10, 0.45, 4);
    h16.add(e);
    h32.add(e);
  }
  const double a16 = make_feature_estimator("fh")->estimate(h16).accuracy;
  const double a32 = make_feature_estimator("fh")->estimate(h32).accuracy;
  EXPECT_LE(std::abs(a16 - a32), 0.001) << a16 << " vs " << a32;
  EXPECT_EQ(h16.latest().train_features.scalar_type(), torch::kFloat16);
}

TEST(FeatureHistory, KeepsTheLastWindowEpochs) {
  FeatureHistory h(3);
  for (int ep = 1; ep <= 5; ++ep) h.add(synthetic_epoch(ep, 10, 5, 4, 2, 1.0, 5));
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h.epochs().front().epoch, 3);
  EXPECT_EQ(h.latest().epoch, 5);
}

TEST(FeatureHistory, RejectsBadShapesNamingTheField) {
  FeatureHistory h(3);
  auto e = synthetic_epoch(1, 10, 5, 4, 2, 1.0, 6);
  auto bad = e;
  bad.head_weight = torch::zeros({2, 5});
  try {
    h.add(bad);
    FAIL() << "expected InputError";
  } catch (const InputError& err) {
    EXPECT_NE(std::string(err.what()).find("head_weight"), std::string::npos) << err.what();
  }
  bad = e;
  bad.train_labels = torch::zeros({9}, torch::kInt64);
  EXPECT_THROW(h.add(bad), InputError);
  h.add(e);
  auto other = synthetic_epoch(2, 10, 6, 4, 2, 1.0, 6);  // another validation set size
  EXPECT_THROW(h.add(other), InputError);
  other = synthetic_epoch(2, 10, 5, 4, 2, 1.0, 7);  // another validation set
  ASSERT_FALSE(torch::equal(other.val_labels, e.val_labels));
  EXPECT_THROW(h.add(other), InputError);
  // Another number of training rows: the fh ensemble stacks every epoch's rows, fh-paper would drop some.
  other = synthetic_epoch(2, 12, 5, 4, 2, 1.0, 6);
  ASSERT_TRUE(torch::equal(other.val_labels, e.val_labels));
  try {
    h.add(other);
    FAIL() << "expected InputError";
  } catch (const InputError& err) {
    EXPECT_NE(std::string(err.what()).find("epoch 2: 12 training rows"), std::string::npos) << err.what();
  }
  // Non-finite features (or features beyond float16's range, stored in float16) make a diverged trial, never a score
  other = synthetic_epoch(2, 10, 5, 4, 2, 1.0, 6);
  other.train_features[3][1] = std::nan("");
  EXPECT_THROW(h.add(other), DivergedError);
  other = synthetic_epoch(2, 10, 5, 4, 2, 1.0, 6);
  other.val_features[0][0] = 1e6;  // finite in float32, Inf in float16
  try {
    h.add(other);
    FAIL() << "expected DivergedError";
  } catch (const DivergedError& err) {
    EXPECT_NE(std::string(err.what()).find("epoch 2: val_features are not finite"), std::string::npos) << err.what();
  }
  FeatureHistory wide(3, torch::kFloat32);
  wide.add(e);
  EXPECT_NO_THROW(wide.add(other));
  // Finite features whose re-fit blows up (lr 1e30): NaN scores would have argmax 0; the estimate refuses them
  RefitOptions wild;
  wild.lr = 1e30;
  for (const std::string impl : {"fh", "fh-paper"}) {
    EXPECT_THROW(make_feature_estimator(impl, wild)->estimate(wide), DivergedError) << impl;
  }
  EXPECT_THROW(FeatureHistory(0), InputError);
  EXPECT_THROW(make_feature_estimator("fh")->estimate(FeatureHistory(2)), InputError);
  EXPECT_THROW(make_feature_estimator("nope"), InputError);
}

TEST(EpochRecorder, ConcatenatesBatchesInOrder) {
  EpochRecorder rec(torch::kFloat32);
  rec.add_train_batch(torch::ones({3, 2}), torch::tensor({0, 1, 0}, torch::kInt64));
  rec.add_train_batch(torch::zeros({2, 2}), torch::tensor({1, 1}, torch::kInt64));
  EXPECT_EQ(rec.size(), 5);
  auto e = rec.finish(4, torch::zeros({1, 2}), torch::zeros({1}, torch::kInt64), torch::zeros({2, 2}),
                      torch::zeros({2}));
  EXPECT_EQ(e.epoch, 4);
  EXPECT_TRUE(torch::equal(e.train_labels, torch::tensor({0, 1, 0, 1, 1}, torch::kInt64)));
  EXPECT_EQ(e.train_features.sum().item<float>(), 6.0f);
  EXPECT_THROW(rec.finish(5, torch::zeros({1, 2}), torch::zeros({1}), torch::zeros({2, 2}), torch::zeros({2})),
               InputError);
}

}  // namespace
}  // namespace fhist
