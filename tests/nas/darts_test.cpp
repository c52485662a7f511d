#include "nas/darts.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/errors.hpp"

namespace fhist::nas {
namespace {

using namespace fhist::space;  // genotypes: space/darts.hpp

TEST(DartsNetwork, DartsV2ParameterCountAtEvaluationSize) {
  // DARTS' evaluation network: C = 36, 20 cells, 10 classes, 3 input channels. The DARTS repo's train.py logs
  // "param size = 3.349342MB" (count_parameters_in_MB skips names containing "auxiliary"); this build gives exactly
  // that, so every op, preprocessing layer and BN affine pair matches the original. The auxiliary head on the
  // 4*144 = 576-channel map after cell 13: Conv1x1 576*128 + BN 2*128 + Conv2x2 128*768*4 + BN 2*768
  // + Linear 768*10 + 10 = 73,728 + 256 + 393,216 + 1,536 + 7,690 = 476,426.
  NetworkCIFAR with_aux(36, 10, 20, true, darts_v2());
  NetworkCIFAR without_aux(36, 10, 20, false, darts_v2());
  EXPECT_EQ(with_aux.auxiliary_parameters(), 476426);
  EXPECT_EQ(models::count_parameters(with_aux), 3349342 + 476426);
  EXPECT_EQ(models::count_parameters(without_aux), 3349342);
  EXPECT_EQ(without_aux.auxiliary_parameters(), 0);
  EXPECT_EQ(with_aux.feature_dim(), 4 * 144);
  EXPECT_EQ(with_aux.head()->weight.sizes(), (std::vector<std::int64_t>{10, 576}));
}

TEST(DartsNetwork, RejectsAGenotypeWithAnUnknownOp) {
  auto g = darts_v2();
  g.normal[0].first = "conv_3x3";
  EXPECT_THROW(NetworkCIFAR(4, 10, 5, false, g), InputError);
}

TEST(DartsNetwork, ForwardShapesAndEvalModeHasNoAuxLogits) {
  torch::manual_seed(0);
  NetworkCIFAR net(4, 10, 5, true, darts_v2());
  net.eval();
  EXPECT_EQ(net.feature_dim(), 64);  // 4 concatenated nodes x (C doubled twice)
  torch::NoGradGuard no_grad;
  auto out = net.forward(torch::randn({2, 3, 32, 32}));
  EXPECT_EQ(out.features.sizes(), (std::vector<std::int64_t>{2, 64}));
  EXPECT_EQ(out.logits.sizes(), (std::vector<std::int64_t>{2, 10}));
  EXPECT_FALSE(out.aux_logits.defined());
  // One-channel 28x28 inputs (MNIST-like), and inputs too large for the auxiliary head are fine in eval mode.
  NetworkCIFAR gray(4, 7, 5, true, darts_v2(), 1);
  gray.eval();
  EXPECT_EQ(gray.forward(torch::randn({2, 1, 28, 28})).logits.sizes(), (std::vector<std::int64_t>{2, 7}));
  EXPECT_EQ(net.forward(torch::randn({1, 3, 64, 64})).logits.sizes(), (std::vector<std::int64_t>{1, 10}));
}

TEST(DartsNetwork, TrainingStepWithAuxHeadAndDropPath) {
  for (std::int64_t size : {32, 28}) {
    torch::manual_seed(1);
    NetworkCIFAR net(4, 10, 5, true, darts_v2());
    net.train();
    net.set_training_progress(0.5);
    EXPECT_DOUBLE_EQ(net.drop_path_prob(), 0.1);
    torch::optim::SGD opt(net.parameters(), torch::optim::SGDOptions(0.025).momentum(0.9));
    const auto x = torch::randn({2, 3, size, size});
    const auto y = torch::tensor({3, 7}, torch::kLong);
    auto out = net.forward(x);
    ASSERT_TRUE(out.aux_logits.defined()) << size;
    EXPECT_EQ(out.aux_logits.sizes(), (std::vector<std::int64_t>{2, 10}));
    auto loss = torch::nn::functional::cross_entropy(out.logits, y) +
                0.4 * torch::nn::functional::cross_entropy(out.aux_logits, y);
    EXPECT_TRUE(std::isfinite(loss.item<double>())) << size;
    const auto before = net.head()->weight.clone();
    opt.zero_grad();
    loss.backward();
    opt.step();
    EXPECT_FALSE(torch::equal(before, net.head()->weight)) << size;
  }
}

TEST(DartsNetwork, AuxHeadRejectsMapsItCannotPool) {
  NetworkCIFAR net(4, 10, 5, true, darts_v2());
  net.train();
  try {
    net.forward(torch::randn({2, 3, 64, 64}));
    FAIL() << "64x64 input accepted by the auxiliary head";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("16x16"), std::string::npos) << e.what();
  }
}

TEST(DartsNetwork, DropPathKeepsOrZeroesWholeSamples) {
  torch::manual_seed(2);
  for (auto dtype : {torch::kFloat, torch::kDouble}) {
    const auto x = torch::ones({1000, 3, 2, 2}, dtype);
    const auto y = drop_path(x, 0.25, at::detail::createCPUGenerator(2));
    EXPECT_EQ(y.dtype(), x.dtype());
    const auto per_sample = y.flatten(1);
    const auto kept = per_sample.eq(1.0 / 0.75).all(1);
    const auto zeroed = per_sample.eq(0.0).all(1);
    EXPECT_TRUE(kept.logical_or(zeroed).all().item<bool>());
    const auto n_kept = kept.sum().item<std::int64_t>();
    EXPECT_GT(n_kept, 650);  // ~750 expected; binomial sd ~14
    EXPECT_LT(n_kept, 850);
  }
}

TEST(DartsNetwork, DropPathFollowsTrainingProgress) {
  torch::manual_seed(3);
  NetworkCIFAR net(4, 10, 5, false, darts_v2(), 3, 0.2);
  const auto x = torch::randn({2, 3, 32, 32});
  torch::NoGradGuard no_grad;
  net.train();
  // Fraction 0: no drop path, so training-mode outputs (BN on batch statistics) repeat exactly.
  net.set_training_progress(0.0);
  EXPECT_EQ(net.drop_path_prob(), 0.0);
  EXPECT_TRUE(torch::equal(net.forward(x).logits, net.forward(x).logits));
  // Fraction 0.75: drop prob 0.15 on every non-identity op; the masks come from the network's own generator, so
  // outputs repeat under the same seed_randomness and differ between consecutive draws, whatever Torch's global
  // generator does in between.
  net.set_training_progress(0.75);
  EXPECT_DOUBLE_EQ(net.drop_path_prob(), 0.15);
  net.seed_randomness(4);
  const auto a = net.forward(x).logits;
  const auto b = net.forward(x).logits;
  net.seed_randomness(4);
  torch::manual_seed(99);
  torch::rand({100});
  const auto a2 = net.forward(x).logits;
  EXPECT_TRUE(torch::equal(a, a2));
  EXPECT_FALSE(torch::equal(a, b));
  // Eval mode ignores drop path.
  net.eval();
  EXPECT_TRUE(torch::equal(net.forward(x).logits, net.forward(x).logits));
  net.set_training_progress(5.0);  // clamped to 1
  EXPECT_DOUBLE_EQ(net.drop_path_prob(), 0.2);
  EXPECT_THROW(NetworkCIFAR(4, 10, 5, false, darts_v2(), 3, 1.0), InputError);
}

TEST(DartsSpace, SampledGenotypesBuildAndTrain) {
  space::Rng rng(7);
  torch::manual_seed(5);
  for (int t = 0; t < 10; ++t) {
    const auto g = sample_genotype(rng);
    NetworkCIFAR net(4, 10, 5, true, g);
    net.train();
    net.set_training_progress(0.5);
    auto out = net.forward(torch::randn({2, 3, 32, 32}));
    ASSERT_TRUE(out.aux_logits.defined());
    auto loss = out.logits.logsumexp(1).mean() + 0.4 * out.aux_logits.logsumexp(1).mean();
    loss.backward();
    EXPECT_TRUE(std::isfinite(loss.item<double>())) << to_string(g);
  }
}

}  // namespace
}  // namespace fhist::nas
