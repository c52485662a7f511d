// Using fhist's feature-history estimator from your own LibTorch training loop.
//
// The network below is a plain MLP on a synthetic 4-class problem; the only fhist-specific parts are marked
// "fhist:". Run with --check to exit non-zero unless the estimate is a valid accuracy (used as a test).
#include <torch/torch.h>

#include <cstdio>
#include <cstring>

#include "estimate/estimator.hpp"

struct NetImpl : torch::nn::Module {
  torch::nn::Linear body1{nullptr}, body2{nullptr}, head{nullptr};
  NetImpl() {
    body1 = register_module("body1", torch::nn::Linear(20, 64));
    body2 = register_module("body2", torch::nn::Linear(64, 32));
    head = register_module("head", torch::nn::Linear(32, 4));
  }
  // Return the penultimate features next to the logits: that is all the estimator needs from the model.
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& x) {
    auto features = torch::relu(body2(torch::relu(body1(x))));
    return {features, head(features)};
  }
};
TORCH_MODULE(Net);

int main(int argc, char** argv) {
  const bool check = argc > 1 && std::strcmp(argv[1], "--check") == 0;
  torch::manual_seed(0);
  auto centers = torch::randn({4, 20}) * 0.6;
  auto make = [&](int n) {
    auto y = torch::randint(0, 4, {n}, torch::kInt64);
    return std::pair{centers.index_select(0, y) + torch::randn({n, 20}), y};
  };
  auto [x_train, y_train] = make(4000);
  auto [x_val, y_val] = make(1000);

  Net net;
  const int epochs = 12, batch = 128;
  torch::optim::SGD opt(net->parameters(), torch::optim::SGDOptions(0.05).momentum(0.9).weight_decay(5e-4));
  fhist::FeatureHistory history(/*window=*/10);  // fhist: the last K = 10 epochs of features
  double estimate = 0.0;

  for (int epoch = 1; epoch <= epochs; ++epoch) {
    net->train();
    fhist::EpochRecorder recorder;  // fhist: collects this epoch's train features
    auto perm = torch::randperm(x_train.size(0), torch::kInt64);
    for (int64_t s = 0; s < x_train.size(0); s += batch) {
      auto idx = perm.narrow(0, s, std::min<int64_t>(batch, x_train.size(0) - s));
      auto x = x_train.index_select(0, idx), y = y_train.index_select(0, idx);
      opt.zero_grad();
      auto [features, logits] = net->forward(x);
      torch::nn::functional::cross_entropy(logits, y).backward();
      opt.step();
      recorder.add_train_batch(features, y);  // fhist: features from the training pass (Algorithm 1, line 4)
    }
    net->eval();
    torch::NoGradGuard no_grad;
    auto [val_features, val_logits] = net->forward(x_val);
    const double original = fhist::accuracy(val_logits, y_val);
    // fhist: validation features and the head's weights, then the estimate of the final accuracy.
    history.add(recorder.finish(epoch, val_features, y_val, net->head->weight, net->head->bias));
    estimate = fhist::make_feature_estimator("fh")->estimate(history).accuracy;
    std::printf("epoch %2d  original %.2f%%  estimate %.2f%%\n", epoch, 100 * original, 100 * estimate);
  }
  if (check && !(estimate > 0.25 && estimate <= 1.0)) {
    std::fprintf(stderr, "estimate %.4f out of the expected range\n", estimate);
    return 1;
  }
  return 0;
}
