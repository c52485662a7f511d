#include <gtest/gtest.h>

#include "core/errors.hpp"
#include "models/model.hpp"

namespace fhist::models {
namespace {

TEST(ResNet, Resnet18ParameterCountMatchesPaper) {
  // Paper Table 3: ResNet-18 on CIFAR-100, 11.22 M parameters.
  auto m = make_model({"resnet18", 1.0, 3, 100});
  EXPECT_EQ(count_parameters(*m), 11220132);
  EXPECT_EQ(m->feature_dim(), 512);
  // ResNet-34, 21.33 M.
  EXPECT_EQ(count_parameters(*make_model({"resnet34", 1.0, 3, 100})), 21328292);
}

TEST(ResNet, ForwardReturnsPooledFeaturesAndLogitsOfTheHead) {
  torch::manual_seed(0);
  for (auto [channels, size] : {std::pair<int, int>{1, 28}, {3, 32}}) {
    auto m = make_model({"resnet18", 0.25, channels, 10});
    m->eval();
    auto x = torch::randn({3, channels, size, size});
    auto out = m->forward(x);
    EXPECT_EQ(out.features.sizes(), (std::vector<std::int64_t>{3, 128}));
    EXPECT_EQ(out.logits.sizes(), (std::vector<std::int64_t>{3, 10}));
    EXPECT_TRUE(torch::allclose(out.logits, m->head()(out.features)));
    EXPECT_TRUE((out.features >= 0).all().item<bool>());  // pooled after ReLU
  }
}

TEST(SimpleCnn, TrainsOneStep) {
  torch::manual_seed(0);
  auto m = make_model({"cnn", 0.5, 1, 4});
  EXPECT_EQ(m->feature_dim(), 32);
  torch::optim::SGD opt(m->parameters(), 0.1);
  auto x = torch::randn({8, 1, 12, 12});
  auto y = torch::randint(0, 4, {8}, torch::kInt64);
  auto before = m->head()->weight.clone();
  auto loss = torch::nn::functional::cross_entropy(m->forward(x).logits, y);
  loss.backward();
  opt.step();
  EXPECT_TRUE(std::isfinite(loss.item<double>()));
  EXPECT_FALSE(torch::equal(before, m->head()->weight));
}

TEST(Factory, RejectsUnknownModelAndBadWidth) {
  EXPECT_THROW(make_model({"vgg99", 1.0, 3, 10}), InputError);
  EXPECT_THROW(make_model({"resnet18", 0.0, 3, 10}), InputError);
  EXPECT_THROW(make_model({"resnet18", 1.0, 3, 1}), InputError);
  EXPECT_EQ(scaled_channels(64, 0.125), 8);
  EXPECT_EQ(scaled_channels(16, 0.01), 1);
}

}  // namespace
}  // namespace fhist::models
