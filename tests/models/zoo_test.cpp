#include <gtest/gtest.h>

#include <cmath>

#include "core/errors.hpp"
#include "models/macs.hpp"
#include "models/model.hpp"
#include "models/model_info.hpp"
#include "models/resnet.hpp"

namespace fhist::models {
namespace {

std::int64_t macs_of(const ModelSpec& spec, std::int64_t size = 32) {
  auto m = make_model(spec);
  return count_macs(*m, {spec.in_channels, size, size});
}

// Hand computation (CIFAR ResNet-18, 32x32, 100 classes; MACs = out_h * out_w * c_out * c_in * k * k):
//   stem 3->64 @32x32:                       1024 * 64 * 27                          =   1,769,472
//   C2: 4 convs 64->64 @32x32:               4 * 1024 * 64 * 576                     = 150,994,944
//   C3 @16x16: 64->128 + 3x 128->128 + 1x1 shortcut 64->128
//                                            256*128*(576 + 3*1152 + 64)             = 134,217,728
//   C4 @8x8 and C5 @4x4: the same 134,217,728 each (channels double as the area quarters)
//   fc 512->100:                                                                         51,200
//   total 1,769,472 + 150,994,944 + 3 * 134,217,728 + 51,200                         = 555,468,800
// The often-quoted 556,651,520 is 1,182,720 more: what hook-based counters add for batch norm / ReLU / pooling
// elements (this network has 614,400 BN, 557,056 ReLU and 8,192 pooled elements = 1,179,648 of it), which count_macs
// leaves out by design. Both round to the paper's 0.56 G.
TEST(Macs, Resnet18And34MatchHandComputationAndPaper) {
  auto r18 = make_model({"resnet18", 1.0, 3, 100});
  EXPECT_EQ(count_parameters(*r18), 11220132);
  EXPECT_EQ(count_macs(*r18, {3, 32, 32}), 555468800);
  // ResNet-34: stem 1,769,472 + C2 6 convs 226,492,416 + C3 (1 down + 7 convs + shortcut) 285,212,672
  //   + C4 (1 + 11 + shortcut) 436,207,616 + C5 (1 + 5 + shortcut) 209,715,200 + fc 51,200 = 1,159,448,576.
  auto r34 = make_model({"resnet34", 1.0, 3, 100});
  EXPECT_EQ(count_parameters(*r34), 21328292);
  EXPECT_EQ(count_macs(*r34, {3, 32, 32}), 1159448576);
}

// A Classifier around an arbitrary body, for counting single layers.
class Wrapped : public Classifier {
 public:
  Wrapped(torch::nn::Sequential body, std::int64_t features, std::int64_t classes)
      : body_(register_module("body", body)), fc_(register_module("fc", torch::nn::Linear(features, classes))),
        dim_(features) {}
  ModelOutput forward(const torch::Tensor& x) override {
    auto f = torch::adaptive_avg_pool2d(body_->forward(x), {1, 1}).flatten(1);
    return {f, fc_(f), {}};
  }
  torch::nn::Linear& head() override { return fc_; }
  std::int64_t feature_dim() const override { return dim_; }

 private:
  torch::nn::Sequential body_;
  torch::nn::Linear fc_;
  std::int64_t dim_;
};

TEST(Macs, SingleLinearAndConvMatchHandCounts) {
  namespace nn = torch::nn;
  // Only the head: 20 inputs x 7 outputs; the bias adds nothing.
  Wrapped linear(nn::Sequential(nn::Identity()), 20, 7);
  EXPECT_EQ(count_macs(linear, {20, 1, 1}), 20 * 7);
  // 3->8, 3x3, stride 2, pad 1 on 17x17: 9x9 outputs x 8 channels x 27 + head 8x5.
  Wrapped strided(nn::Sequential(nn::Conv2d(nn::Conv2dOptions(3, 8, 3).stride(2).padding(1))), 8, 5);
  EXPECT_EQ(count_macs(strided, {3, 17, 17}), 9 * 9 * 8 * 27 + 8 * 5);
  // Grouped and dilated: 8->4 in 2 groups, 3x3 at dilation 2 (5x5 reach), no padding on 10x10: 6x6 x 4 x (4*9).
  Wrapped grouped(nn::Sequential(nn::Conv2d(nn::Conv2dOptions(8, 4, 3).groups(2).dilation(2))), 4, 2);
  EXPECT_EQ(count_macs(grouped, {8, 10, 10}), 6 * 6 * 4 * 36 + 4 * 2);
  // Linear without bias on a 4-d tensor goes through aten::matmul in the C++ frontend: 2*4 rows x 5x6, + head 2x3.
  Wrapped rows(nn::Sequential(nn::Linear(nn::LinearOptions(5, 6).bias(false))), 2, 3);
  EXPECT_EQ(count_macs(rows, {2, 4, 5}), 2 * 4 * 5 * 6 + 2 * 3);
  // The count is per image and leaves the training mode as it was.
  EXPECT_TRUE(grouped.is_training());
  EXPECT_THROW(count_macs(grouped, {8, 10}), InputError);
}

// kuangliu/pytorch-cifar at 10 classes: VGG16 14,728,266, ResNet50 23,520,842, MobileNetV2 2,296,922. The models
// follow that code layer for layer (VGG convs carry biases there), so the counts agree exactly.
TEST(Zoo, ParameterCountsMatchTheCifarReferenceImplementations) {
  auto vgg = make_model({"vgg16", 1.0, 3, 10});
  EXPECT_EQ(count_parameters(*vgg), 14728266);
  EXPECT_EQ(vgg->feature_dim(), 512);
  auto r50 = make_model({"resnet50", 1.0, 3, 10});
  EXPECT_EQ(count_parameters(*r50), 23520842);
  EXPECT_EQ(r50->feature_dim(), 2048);
  auto mbv2 = make_model({"mobilenetv2", 1.0, 3, 10});
  EXPECT_EQ(count_parameters(*mbv2), 2296922);
  EXPECT_EQ(mbv2->feature_dim(), 1280);
}

TEST(Zoo, ScaledResnetWithUnitMultipliersIsResnet18) {
  torch::manual_seed(3);
  auto r18 = make_model({"resnet18", 1.0, 3, 100});
  torch::manual_seed(3);
  auto unit = make_model({"resnet-scale", 1.0, 3, 100, {1, 1, 1, 1}, {1, 1, 1, 1}});
  const auto a = r18->named_parameters();
  const auto b = unit->named_parameters();
  ASSERT_EQ(a.size(), b.size());
  for (const auto& p : a) {
    ASSERT_TRUE(b.contains(p.key())) << p.key();
    EXPECT_TRUE(torch::equal(p.value(), b[p.key()])) << p.key();
  }
  EXPECT_EQ(count_macs(*unit, {3, 32, 32}), 555468800);
  EXPECT_EQ(macs_of({"resnet-scale", 1.0, 3, 100}), 555468800);  // empty multipliers = all 1

  auto deeper = make_model({"resnet-scale", 1.0, 3, 100, {2, 2, 2, 2}, {}});
  EXPECT_GT(count_macs(*deeper, {3, 32, 32}), 555468800);
  EXPECT_GT(count_parameters(*deeper), 11220132);
  // Fractional factors round: 1.5 x 2 = 3 blocks; 1.5 x 512 = 768 channels in C5.
  auto wide = make_model({"resnet-scale", 1.0, 3, 100, {1, 1, 1, 1.5}, {1, 1, 1, 1.5}});
  EXPECT_EQ(wide->feature_dim(), 768);
  EXPECT_THROW(make_model({"resnet-scale", 1.0, 3, 100, {1, 1, 1}, {}}), InputError);
  EXPECT_THROW(make_model({"resnet-scale", 1.0, 3, 100, {}, {1, 1, 0, 1}}), InputError);
  EXPECT_THROW(make_model({"resnet18", 1.0, 3, 100, {2, 2, 2, 2}, {}}), InputError);
}

TEST(Zoo, EveryModelTrainsOneStepOnOneAndThreeChannels) {
  for (const auto& name : model_names()) {
    for (std::int64_t channels : {1, 3}) {
      SCOPED_TRACE(name + " " + std::to_string(channels) + " channels");
      torch::manual_seed(0);
      ModelSpec spec{name, 0.125, channels, 5};
      spec.in_features = channels * 16 * 16;  // the mlp flattens the image
      auto m = make_model(spec);
      m->train();
      torch::optim::SGD opt(m->parameters(), 0.05);
      auto x = torch::randn({2, channels, 16, 16});
      auto y = torch::tensor({1, 3}, torch::kInt64);
      const auto out = m->forward(x);
      ASSERT_EQ(out.features.sizes(), (std::vector<std::int64_t>{2, m->feature_dim()}));
      ASSERT_EQ(out.logits.sizes(), (std::vector<std::int64_t>{2, 5}));
      EXPECT_FALSE(out.aux_logits.defined());
      auto before = m->head()->weight.clone();
      auto loss = torch::nn::functional::cross_entropy(out.logits, y);
      opt.zero_grad();
      loss.backward();
      opt.step();
      EXPECT_TRUE(std::isfinite(loss.item<double>()));
      EXPECT_FALSE(torch::equal(before, m->head()->weight));
    }
  }
}

TEST(Zoo, MlpShapesDropoutFromItsOwnGeneratorAndChecks) {
  ModelSpec spec{"mlp", 1.0, 30, 2};
  spec.depth = 3;
  spec.width = 17;
  spec.dropout = 0.5;
  auto m = make_model(spec);
  EXPECT_EQ(m->feature_dim(), 17);
  // A table arrives as [B, F, 1, 1]; a flat [B, F] works too.
  const auto x = torch::randn({4, 30, 1, 1});
  m->eval();
  {
    torch::NoGradGuard ng;
    const auto a = m->forward(x), b = m->forward(x.view({4, 30}));
    EXPECT_EQ(a.features.sizes(), (std::vector<std::int64_t>{4, 17}));
    EXPECT_TRUE(torch::equal(a.logits, b.logits));  // no dropout in eval mode
    EXPECT_TRUE(torch::allclose(a.logits, m->head()(a.features)));
  }
  // In training, dropout draws from the model's own generator: the same seed gives the same masks, whatever Torch's
  // global generator does in between; another seed gives others.
  m->train();
  torch::NoGradGuard ng;
  m->seed_randomness(7);
  const auto first = m->forward(x).features;
  torch::manual_seed(123);
  torch::rand({100});
  m->seed_randomness(7);
  EXPECT_TRUE(torch::equal(first, m->forward(x).features));
  m->seed_randomness(8);
  EXPECT_FALSE(torch::equal(first, m->forward(x).features));
  for (auto bad : {+[](ModelSpec& s) { s.depth = 0; }, +[](ModelSpec& s) { s.width = 0; },
                   +[](ModelSpec& s) { s.dropout = 1.0; }}) {
    ModelSpec b = spec;
    bad(b);
    EXPECT_THROW(make_model(b), InputError);
  }
}

TEST(Zoo, NonCifarSizesReachTheHead) {
  // 28x28 (Fashion-MNIST): VGG's five 2x2 pools would reach 0x0 without ceil mode; all end in global pooling.
  for (const std::string name : {"vgg16", "resnet50", "mobilenetv2"}) {
    SCOPED_TRACE(name);
    auto m = make_model({name, 0.125, 1, 10});
    m->eval();
    torch::NoGradGuard no_grad;
    const auto out = m->forward(torch::randn({2, 1, 28, 28}));
    EXPECT_EQ(out.features.sizes(), (std::vector<std::int64_t>{2, m->feature_dim()}));
    EXPECT_TRUE(torch::allclose(out.logits, m->head()(out.features)));
    EXPECT_GT(count_macs(*m, {1, 28, 28}), 0);
  }
}

TEST(ModelInfo, ParsesInputShapeAndMultipliersAndNamesTheFlag) {
  EXPECT_EQ(parse_input_shape("3x32x32", "--input"), (std::vector<std::int64_t>{3, 32, 32}));
  for (const std::string bad : {"3x32", "0x32x32", "3x32x32x1", "3x-2x32", "3x32x", "axbxc", ""}) {
    try {
      parse_input_shape(bad, "--input");
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("--input"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(parse_stage_mults("1,1.5,2,0.5", "--depth-mult"), (std::vector<double>{1, 1.5, 2, 0.5}));
  EXPECT_THROW(parse_stage_mults("1,1,1", "--depth-mult"), InputError);
  EXPECT_THROW(parse_stage_mults("1,1,1,x", "--depth-mult"), InputError);
  EXPECT_THROW(parse_stage_mults("1,1,1,0", "--depth-mult"), InputError);
  EXPECT_EQ(with_thousands(11220132), "11,220,132");
  EXPECT_EQ(with_thousands(999), "999");
  EXPECT_EQ(with_thousands(1000), "1,000");
  auto net = make_model({"resnet18", 1.0, 3, 100});
  const auto info = describe_model(*net, {3, 32, 32});
  EXPECT_EQ(info.parameters, 11220132);
  EXPECT_EQ(info.macs, 555468800);
  EXPECT_EQ(info.feature_dim, 512);
}

}  // namespace
}  // namespace fhist::models

namespace fhist::models {
namespace {

TEST(Macs, ScaledResnetFormulaEqualsTheCountedNetwork) {
  EXPECT_EQ(space::scaled_resnet_macs({}, {}, 3, 32, 32, 100), 555468800);  // ResNet-18
  const std::vector<std::vector<double>> depths = {{2, 1.5, 1, 0.5}, {1, 2, 2, 1}};
  const std::vector<std::vector<double>> widths = {{1.25, 1, 1.5, 1}, {2, 1.75, 1, 1.25}};
  for (std::size_t i = 0; i < depths.size(); ++i) {
    auto net = make_model({"resnet-scale", 1.0, 3, 100, depths[i], widths[i]});
    EXPECT_EQ(count_macs(*net, {3, 32, 32}), space::scaled_resnet_macs(depths[i], widths[i], 3, 32, 32, 100)) << i;
    // At the width the search trains (0.25 by default) and on Fashion-MNIST's shape, the same formula holds.
    auto narrow = make_model({"resnet-scale", 0.25, 1, 10, depths[i], widths[i]});
    EXPECT_EQ(count_macs(*narrow, {1, 28, 28}), space::scaled_resnet_macs(depths[i], widths[i], 1, 28, 28, 10, 0.25)) << i;
  }
}

}  // namespace
}  // namespace fhist::models
