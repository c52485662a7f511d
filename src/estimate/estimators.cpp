#include <fmt/format.h>

#include <algorithm>
#include <numeric>
#include <random>

#include "core/errors.hpp"
#include "core/rng.hpp"
#include "estimate/estimator.hpp"

namespace fhist {

double accuracy(const torch::Tensor& scores, const torch::Tensor& labels) {
  TORCH_CHECK(scores.dim() == 2 && labels.dim() == 1 && scores.size(0) == labels.size(0), "accuracy: bad shapes");
  if (labels.numel() == 0) return 0.0;
  // argmax over NaN returns class 0: a plausible-looking accuracy from a broken head. Such a trial has diverged.
  if (!torch::isfinite(scores).all().item<bool>()) {
    throw DivergedError("the scores of a re-fit head are not finite (NaN or Inf): the features or the re-fit diverged");
  }
  return scores.argmax(1).eq(labels.to(scores.device())).to(torch::kFloat64).mean().item<double>();
}

namespace {

void check_options(const RefitOptions& o) {
  if (o.epochs < 0) throw InputError(fmt::format("refit epochs must be >= 0 (got {})", o.epochs));
  if (o.batch_size < 1) throw InputError(fmt::format("refit batch size must be >= 1 (got {})", o.batch_size));
  if (!(o.lr >= 0.0)) throw InputError(fmt::format("refit lr must be >= 0 (got {})", o.lr));
}

// Both implementations walk the saved train features in the same order: one permutation per refit epoch, shared by
// all heads (their feature matrices have the same row count). Only the arithmetic differs between them.
std::vector<torch::Tensor> refit_permutations(std::int64_t n, const RefitOptions& o) {
  std::vector<torch::Tensor> perms;
  std::vector<std::int64_t> idx(static_cast<std::size_t>(n));
  for (int r = 0; r < o.epochs; ++r) {
    std::iota(idx.begin(), idx.end(), 0);
    std::mt19937_64 rng(derive_seed(o.seed, Stream::kRefit, static_cast<std::uint64_t>(r)));
    std::shuffle(idx.begin(), idx.end(), rng);
    perms.push_back(torch::tensor(idx, torch::kInt64));
  }
  return perms;
}

// Linear decay to 0 over all refit steps [Li et al., budgeted training].
double lr_at(const RefitOptions& o, std::int64_t step, std::int64_t total_steps) {
  return o.lr * (1.0 - static_cast<double>(step) / static_cast<double>(total_steps));
}

std::vector<const EpochFeatures*> last_epochs(const FeatureHistory& h, std::size_t k) {
  if (h.empty()) throw InputError("cannot estimate from an empty feature history: record at least one epoch");
  std::vector<const EpochFeatures*> out;
  const auto& eps = h.epochs();
  for (std::size_t i = eps.size() - std::min(k, eps.size()); i < eps.size(); ++i) out.push_back(&eps[i]);
  return out;
}

Estimate finish(const torch::Tensor& mean_probs, const EpochFeatures& latest, int heads) {
  return {accuracy(mean_probs, latest.val_labels), mean_probs, heads};
}

class OriginalEstimator : public FeatureEstimator {
 public:
  Estimate estimate(const FeatureHistory& h) const override {
    const auto& e = h.latest();
    auto probs = torch::softmax(
        torch::addmm(e.head_bias, e.val_features.to(torch::kFloat32), e.head_weight.t()), 1);
    return finish(probs, e, 1);
  }
  std::string name() const override { return "original"; }
};

// Appendix A.1 literally: for each epoch k in the window, a linear head initialised from that epoch's head, trained
// with autograd, cross-entropy and torch::optim::SGD; then the mean of the K softmax outputs.
class PaperFhEstimator : public FeatureEstimator {
 public:
  PaperFhEstimator(RefitOptions o, std::size_t max_heads) : o_(o), max_heads_(max_heads) { check_options(o_); }

  Estimate estimate(const FeatureHistory& h) const override {
    const auto eps = last_epochs(h, max_heads_ == 0 ? h.epochs().size() : max_heads_);
    const auto n = eps.back()->train_features.size(0);
    const auto perms = refit_permutations(n, o_);
    const std::int64_t steps_per_epoch = (n + o_.batch_size - 1) / o_.batch_size;
    const std::int64_t total = steps_per_epoch * o_.epochs;
    torch::Tensor sum;
    for (const EpochFeatures* e : eps) {
      const auto device = e->train_features.device();
      auto x = e->train_features.to(torch::kFloat32);
      auto y = e->train_labels;
      // The head's parameters start as the epoch's head. Not a torch::nn::Linear: its constructor draws a throwaway
      // init from Torch's global generator, which another worker may be seeding for its weight init at that moment
      // (a search with 2 workers then trained that trial from other weights: the e2e.parallel flake).
      auto weight = e->head_weight.to(device, torch::kFloat32).clone().set_requires_grad(true);
      auto bias = e->head_bias.to(device, torch::kFloat32).clone().set_requires_grad(true);
      const auto head = [&](const torch::Tensor& in) { return torch::nn::functional::linear(in, weight, bias); };
      torch::optim::SGD opt(std::vector<torch::Tensor>{weight, bias}, torch::optim::SGDOptions(o_.lr)
                                                                         .momentum(o_.momentum)
                                                                         .weight_decay(o_.weight_decay));
      std::int64_t step = 0;
      for (const auto& perm_cpu : perms) {
        const auto perm = perm_cpu.to(device);
        for (std::int64_t s = 0; s < n; s += o_.batch_size, ++step) {
          const auto idx = perm.narrow(0, s, std::min(o_.batch_size, n - s));
          static_cast<torch::optim::SGDOptions&>(opt.param_groups()[0].options()).lr(lr_at(o_, step, total));
          opt.zero_grad();
          auto loss = torch::nn::functional::cross_entropy(head(x.index_select(0, idx)), y.index_select(0, idx));
          loss.backward();
          opt.step();
        }
      }
      torch::NoGradGuard ng;
      auto probs = torch::softmax(head(e->val_features.to(torch::kFloat32)), 1);
      sum = sum.defined() ? sum + probs : probs;
    }
    return finish(sum / static_cast<double>(eps.size()), *eps.back(), static_cast<int>(eps.size()));
  }
  std::string name() const override { return max_heads_ == 1 ? "refit-paper" : "fh-paper"; }

 private:
  RefitOptions o_;
  std::size_t max_heads_;
};

// The same optimisation for all K heads at once: weights [K, c, d], one batched matmul per step, the cross-entropy
// gradient written out ((softmax - onehot) / B), and SGD with momentum and weight decay applied by hand exactly as
// torch::optim::SGD does (buf = m * buf + (g + wd * w); w -= lr * buf).
class FastFhEstimator : public FeatureEstimator {
 public:
  FastFhEstimator(RefitOptions o, std::size_t max_heads) : o_(o), max_heads_(max_heads) { check_options(o_); }

  Estimate estimate(const FeatureHistory& h) const override {
    torch::NoGradGuard ng;
    const auto eps = last_epochs(h, max_heads_ == 0 ? h.epochs().size() : max_heads_);
    const auto k = static_cast<int>(eps.size());
    const auto n = eps.back()->train_features.size(0);
    const auto device = eps.back()->train_features.device();
    const auto perms = refit_permutations(n, o_);
    const std::int64_t steps_per_epoch = (n + o_.batch_size - 1) / o_.batch_size;
    const std::int64_t total = steps_per_epoch * o_.epochs;

    std::vector<torch::Tensor> ws, bs, feats, labels;
    for (const EpochFeatures* e : eps) {
      ws.push_back(e->head_weight);
      bs.push_back(e->head_bias);
      feats.push_back(e->train_features);
      labels.push_back(e->train_labels);
    }
    auto w = torch::stack(ws).to(device, torch::kFloat32);                  // [K, c, d]
    auto b = torch::stack(bs).to(device, torch::kFloat32);                  // [K, c]
    const auto c = w.size(1);
    // Row-major over images ([N, K, d]): one permutation gathers whole rows, the fastest gather on CPU and GPU.
    auto all_x = torch::stack(feats, 1).to(torch::kFloat32);                       // [N, K, d], converted once
    auto all_onehot = torch::one_hot(torch::stack(labels, 1), c).to(torch::kFloat32);  // [N, K, c]
    auto buf_w = torch::zeros_like(w), buf_b = torch::zeros_like(b);

    std::int64_t step = 0;
    for (const auto& perm_cpu : perms) {
      const auto perm = perm_cpu.to(device);
      for (std::int64_t s = 0; s < n; s += o_.batch_size, ++step) {
        const auto bsz = std::min(o_.batch_size, n - s);
        // Gathering per batch keeps the working set in cache (a whole-epoch gather is slower on CPU).
        const auto idx = perm.narrow(0, s, bsz);
        const auto x = all_x.index_select(0, idx).transpose(0, 1);           // [K, B, d]
        const auto y = all_onehot.index_select(0, idx).transpose(0, 1);      // [K, B, c]
        auto g = torch::softmax(torch::baddbmm(b.unsqueeze(1), x, w.transpose(1, 2)), 2);  // [K, B, c]
        g.sub_(y).div_(static_cast<double>(bsz));         // d(mean CE)/d(logits)
        auto grad_w = torch::bmm(g.transpose(1, 2), x).add_(w, o_.weight_decay);  // [K, c, d]
        auto grad_b = g.sum(1).add_(b, o_.weight_decay);                         // [K, c]
        // torch::optim::SGD starts the momentum buffer at the first gradient; 0 * m + g is the same thing.
        buf_w.mul_(o_.momentum).add_(grad_w);
        buf_b.mul_(o_.momentum).add_(grad_b);
        const double lr = lr_at(o_, step, total);
        w.sub_(buf_w, lr);
        b.sub_(buf_b, lr);
      }
    }
    std::vector<torch::Tensor> val;
    for (const EpochFeatures* e : eps) val.push_back(e->val_features);
    auto vx = torch::stack(val).to(device, torch::kFloat32);                            // [K, M, d]
    auto probs = torch::softmax(torch::baddbmm(b.unsqueeze(1), vx, w.transpose(1, 2)), 2);  // [K, M, c]
    return finish(probs.mean(0), *eps.back(), k);
  }
  std::string name() const override { return max_heads_ == 1 ? "refit" : "fh"; }

 private:
  RefitOptions o_;
  std::size_t max_heads_;
};

}  // namespace

std::vector<std::string> feature_estimator_names() { return {"original", "refit", "fh", "fh-paper", "refit-paper"}; }

torch::Tensor refit_probabilities(const EpochFeatures& epoch, const RefitOptions& options, const std::string& impl) {
  if (impl != "fast" && impl != "paper") {
    throw InputError(fmt::format("refit implementation '{}': expected fast or paper", impl));
  }
  FeatureHistory one(1, epoch.train_features.scalar_type());
  one.add(epoch);
  if (impl == "fast") return FastFhEstimator(options, 1).estimate(one).probabilities;
  return PaperFhEstimator(options, 1).estimate(one).probabilities;
}

std::unique_ptr<FeatureEstimator> make_feature_estimator(const std::string& name, const RefitOptions& options) {
  if (name == "original") return std::make_unique<OriginalEstimator>();
  if (name == "refit") return std::make_unique<FastFhEstimator>(options, 1);
  if (name == "fh") return std::make_unique<FastFhEstimator>(options, 0);
  if (name == "fh-paper") return std::make_unique<PaperFhEstimator>(options, 0);
  if (name == "refit-paper") return std::make_unique<PaperFhEstimator>(options, 1);
  throw InputError(
      fmt::format("unknown feature estimator '{}' (expected original, refit, fh, fh-paper or refit-paper)", name));
}

}  // namespace fhist
