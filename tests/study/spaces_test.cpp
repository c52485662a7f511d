// Every built-in space: 1000 samples satisfy their constraints and become valid training setups; a few build and
// run forward at a small size.
#include <gtest/gtest.h>

#include "core/errors.hpp"
#include "models/model.hpp"
#include "models/resnet.hpp"
#include "nas/network.hpp"
#include "study/study.hpp"
#include "train/trainer.hpp"

namespace fhist::study {
namespace {

TEST(StudySpaces, EveryBuiltinSpaceSamplesValidConfigsThatBuild) {
  for (const auto& [name, cap] : std::vector<std::pair<std::string, std::string>>{
           {"hparams", ""}, {"randaugment", ""}, {"nb201", ""}, {"darts", ""}, {"resnet-scale", "2x"},
           {"resnet-scale", "4x"}}) {
    const auto space = load_space(name, cap);
    StudyOptions o;
    o.model = "cnn";
    o.channels = 4;  // nb201 / darts at a testable size
    o.cells = name == "darts" ? 5 : 1;
    space::Rng rng(7);
    for (int i = 0; i < 1000; ++i) {
      const auto config = space.sample(rng);
      ASSERT_NO_THROW(space.validate(config)) << name << " " << config.to_string();
      train::TrainOptions t;
      models::ModelSpec spec;
      apply_config(config, o, t, spec);
      ASSERT_NO_THROW(t.validate()) << name;
      if (name == "resnet-scale") {
        EXPECT_EQ(spec.name, "resnet-scale");
        EXPECT_LE(static_cast<double>(models::scaled_resnet_macs(spec.depth_mults, spec.width_mults, 3, 32, 32, 100)),
                  cap == "2x" ? 1.12e9 : 2.24e9);
      }
      if (name == "nb201" || name == "darts") {
        EXPECT_EQ(spec.name, name);
      }
      if (name == "randaugment") {
        EXPECT_GT(t.augment.randaugment_n, 0);
        EXPECT_EQ(t.augment.cutout, 16);  // the paper's setting: Cutout on with RandAugment
      }
      // Every sampled configuration builds (narrow, so 6000 networks take seconds); the first two also run.
      spec.in_channels = 1;
      spec.num_classes = 10;
      if (name == "resnet-scale") spec.width_mult = 0.125;
      auto net = nas::make_network(spec);
      if (i < 2) {
        net->eval();
        auto out = net->forward(torch::randn({2, 1, 28, 28}));
        EXPECT_EQ(out.logits.sizes(), (std::vector<std::int64_t>{2, 10})) << name;
      }
    }
  }
}

TEST(StudySpaces, ResnetScaleCapIsEnforcedAndNamed) {
  EXPECT_THROW(load_space("resnet-scale", "3x"), InputError);
  const auto capped = load_space("resnet-scale", "2x");
  space::Config big;
  for (const char* k : {"d2", "d3", "d4", "d5"}) big.set(k, 3.0);
  for (const char* k : {"w2", "w3", "w4", "w5"}) big.set(k, 2.0);
  try {
    capped.validate(big);
    FAIL() << "expected the cap to reject 3x depth, 2x width";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("macs <= 2x"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(load_space("resnet-scale", "").validate(big));
}

TEST(StudySpaces, UnknownSpaceListsTheKnownOnes) {
  try {
    load_space("imagenet-nas");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("resnet-scale"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace fhist::study
