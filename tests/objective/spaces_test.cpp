// Every built-in space: 1000 samples satisfy their constraints and become valid training setups; a few build and
// run forward at a small size.
#include <gtest/gtest.h>

#include <set>

#include "core/errors.hpp"
#include "models/model.hpp"
#include "models/resnet.hpp"
#include "nas/network.hpp"
#include "objective/training.hpp"
#include "space/catalog.hpp"
#include "space/resnet_scale.hpp"
#include "study/study.hpp"
#include "train/trainer.hpp"

namespace fhist::objective {
namespace {

using space::load_space;
using study::StudyOptions;

TEST(ObjectiveSpaces, EveryBuiltinSpaceSamplesValidConfigsThatBuild) {
  for (const auto& [name, cap] : std::vector<std::pair<std::string, std::string>>{
           {"hparams", ""}, {"randaugment", ""}, {"nb201", ""}, {"darts", ""}, {"resnet-scale", "2x"},
           {"resnet-scale", "4x"}}) {
    const auto space = load_space(name, cap);
    StudyOptions o;
    o.training.model = "cnn";
    o.training.channels = 4;  // nb201 / darts at a testable size
    o.training.cells = name == "darts" ? 5 : 1;
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
        EXPECT_LE(static_cast<double>(space::scaled_resnet_macs(spec.depth_mults, spec.width_mults, 3, 32, 32, 100)),
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

TEST(ObjectiveSpaces, ResnetScaleCapIsEnforcedAndNamed) {
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
  EXPECT_NO_THROW(load_space("resnet-scale", "none").validate(big));
  EXPECT_THROW(load_space("resnet-scale", "").validate(big), InputError) << "the paper's 2x cap is the default";
}

TEST(ObjectiveSpaces, ResnetScaleCapsTheNetworkThatTrainsAndOrdersItsMultipliers) {
  // The multipliers are ordinal: 1.5 encodes between 1 and 2, so BOHB's model sees them as neighbours.
  const auto sp = load_space("resnet-scale", "2x", 0.25);
  for (const auto& p : sp.params()) EXPECT_EQ(p.kind, space::ParamKind::kOrdinal) << p.name;
  const auto& d2 = sp.param("d2");
  EXPECT_LT(d2.to_unit(1.0), d2.to_unit(1.5));
  EXPECT_LT(d2.to_unit(1.5), d2.to_unit(2.0));

  // Sampled candidates respect the cap where they train: at --width-mult 0.25, against ResNet-18 at 0.25.
  const double base = static_cast<double>(space::scaled_resnet_macs({}, {}, 3, 32, 32, 100, 0.25));
  space::Rng rng(3);
  for (int i = 0; i < 200; ++i) {
    const auto c = sp.sample(rng);
    std::vector<double> d, w;
    for (const char* k : {"d2", "d3", "d4", "d5"}) d.push_back(c.get_double(k));
    for (const char* k : {"w2", "w3", "w4", "w5"}) w.push_back(c.get_double(k));
    ASSERT_LE(static_cast<double>(space::scaled_resnet_macs(d, w, 3, 32, 32, 100, 0.25)), 2.0 * base) << c.to_string();
  }

  // The share of the 5^8 grid under each cap, at width 1 and at 0.25 (printed: README quotes it).
  const std::vector<double> ds = {1.0, 1.5, 2.0, 2.5, 3.0}, ws = {1.0, 1.25, 1.5, 1.75, 2.0};
  for (double width : {1.0, 0.25}) {
    const double ref = static_cast<double>(space::scaled_resnet_macs({}, {}, 3, 32, 32, 100, width));
    std::int64_t under2 = 0, under4 = 0, total = 0;
    std::vector<double> d(4), w(4);
    for (int code = 0; code < 390625; ++code, ++total) {
      int rest = code;
      for (int k = 0; k < 4; ++k, rest /= 5) d[k] = ds[rest % 5];
      for (int k = 0; k < 4; ++k, rest /= 5) w[k] = ws[rest % 5];
      const double macs = static_cast<double>(space::scaled_resnet_macs(d, w, 3, 32, 32, 100, width));
      under2 += macs <= 2 * ref;
      under4 += macs <= 4 * ref;
    }
    std::printf("width %.2f: %.2f %% of the grid under 2x, %.2f %% under 4x\n", width, 100.0 * under2 / total,
                100.0 * under4 / total);
    EXPECT_GT(under2, 0);
    EXPECT_LT(under2, under4);
  }
}

TEST(ObjectiveSpaces, TheModelAConfigNamesIsTheOneThatTrains) {
  StudyOptions o;
  o.training.model = "cnn";
  const auto build = [&](const space::Config& c) {
    train::TrainOptions t;
    models::ModelSpec spec;
    apply_config(c, o, t, spec);
    return spec;
  };
  // The mlp's parameters choose it where nothing names a model, as before conditions existed.
  EXPECT_EQ(build(space::Config({{"depth", 3}})).name, "mlp");
  EXPECT_EQ(build(space::Config({{"depth", 3}})).depth, 3);
  EXPECT_EQ(build(space::Config({{"model", "mlp"}, {"width", 64}})).width, 64);
  // A cnn row that carries the mlp's depth used to train as an mlp; now it is refused, naming the way out.
  try {
    build(space::Config({{"model", "cnn"}, {"depth", 2}, {"lr", 0.1}}));
    ADD_FAILURE() << "a cnn with the mlp's depth was accepted";
  } catch (const InputError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("model is 'cnn'"), std::string::npos) << m;
    EXPECT_NE(m.find("\"condition\""), std::string::npos) << m;
  }
  EXPECT_THROW(build(space::Config({{"depth", 2}, {"edge_1_0", "none"}})), InputError);

  // A space whose networks' parameters are conditional on the model: every draw trains the network it names.
  space::Param depth = space::Param::integer("depth", 1, 4);
  depth.conditions = {space::Condition{"model", {"mlp"}}};
  space::Param width_mult = space::Param::real("width_mult", 0.25, 0.75);
  width_mult.conditions = {space::Condition{"model", {"cnn"}}};
  const space::SearchSpace s("family", {space::Param::categorical("model", {"cnn", "mlp"}), depth, width_mult});
  ASSERT_NO_THROW(space::check_space_params(s));
  space::Rng rng(1);
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    const auto c = s.sample(rng);
    const auto spec = build(c);
    EXPECT_EQ(spec.name, c.get_string("model")) << c.to_string();
    seen.insert(spec.name);
  }
  EXPECT_EQ(seen.size(), 2u);
}

TEST(ObjectiveSpaces, UnknownSpaceListsTheKnownOnes) {
  try {
    load_space("imagenet-nas");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("resnet-scale"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace fhist::objective
