// CUDA path (label `cuda`): skipped where no GPU is visible, so CI (CPU only) reports them as skipped.
// scripts/gpu-check.sh runs them on a GPU machine.
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include "estimate/estimator.hpp"
#include "models/model.hpp"
#include "toy_data.hpp"
#include "train/trainer.hpp"

namespace fhist {
namespace {

#define REQUIRE_CUDA()                                                 \
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device"; \
  static_cast<void>(0)

data::Dataset toy(std::int64_t n, std::uint64_t seed) { return testing::toy_dataset(n, seed, 3, 16); }

TEST(Cuda, TrainsWithDataOnDeviceBf16AndChannelsLast) {
  REQUIRE_CUDA();
  auto train = toy(512, 1), val = toy(128, 2);
  train::TrainOptions o;
  o.epochs = o.max_epochs = 4;
  o.batch_size = 64;
  o.window = 3;
  o.device = torch::Device("cuda");
  o.data_on_device = true;
  o.bf16 = true;
  o.channels_last = true;
  train::seed_weight_init(0);
  train::Trainer t(models::make_model({"resnet18", 0.25, 3, 3}), train, val, o);
  while (!t.finished()) t.run_epoch();
  EXPECT_TRUE(t.history().latest().train_features.is_cuda());  // the feature window stays on the GPU
  EXPECT_TRUE(std::isfinite(t.records().back().estimate));
  EXPECT_GT(t.records().back().original_val_acc, 0.5);
}

TEST(Cuda, FastEstimatorOnTheGpuAgreesWithTheCpu) {
  REQUIRE_CUDA();
  FeatureHistory cpu(5, torch::kFloat32), gpu(5, torch::kFloat32);
  auto gen = at::detail::createCPUGenerator(3);
  auto means = torch::randn({10, 64}, gen);
  auto vy = torch::randint(0, 10, {2000}, gen, torch::kInt64);
  for (int ep = 1; ep <= 5; ++ep) {
    EpochFeatures e;
    e.epoch = ep;
    e.train_labels = torch::randint(0, 10, {8000}, gen, torch::kInt64);
    e.train_features = means.index_select(0, e.train_labels) * 0.4 + torch::randn({8000, 64}, gen);
    e.val_labels = vy;
    e.val_features = means.index_select(0, vy) * 0.4 + torch::randn({2000, 64}, gen);
    e.head_weight = torch::zeros({10, 64});
    e.head_bias = torch::zeros({10});
    cpu.add(e);
    for (auto* t : {&e.train_features, &e.train_labels, &e.val_features, &e.val_labels, &e.head_weight, &e.head_bias}) {
      *t = t->cuda();
    }
    gpu.add(e);
  }
  const auto a = make_feature_estimator("fh")->estimate(cpu);
  const auto b = make_feature_estimator("fh")->estimate(gpu);
  EXPECT_TRUE(b.probabilities.is_cuda());
  EXPECT_LE(std::abs(a.accuracy - b.accuracy), 0.003);
  EXPECT_LE(std::abs(make_feature_estimator("fh-paper")->estimate(gpu).accuracy - b.accuracy), 0.003);
}

}  // namespace
}  // namespace fhist
