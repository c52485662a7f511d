#include "train/trainer.hpp"

#include "train/autocast.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <numeric>
#include <random>

#include "core/errors.hpp"
#include "core/rng.hpp"


namespace fhist::train {

namespace {
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }
}  // namespace

void TrainOptions::validate() const {
  if (epochs < 1) throw InputError(fmt::format("--epochs must be >= 1 (got {})", epochs));
  if (max_epochs < 1) throw InputError(fmt::format("--max-budget must be >= 1 (got {})", max_epochs));
  if (epochs > max_epochs) {
    throw InputError(fmt::format("--epochs {} exceeds --max-budget {}: the budget must fit in the lr schedule", epochs,
                                 max_epochs));
  }
  if (batch_size < 1) throw InputError(fmt::format("--batch-size must be >= 1 (got {})", batch_size));
  if (!(lr > 0.0)) throw InputError(fmt::format("--lr must be > 0 (got {})", lr));
  if (!(weight_decay >= 0.0)) throw InputError(fmt::format("--weight-decay must be >= 0 (got {})", weight_decay));
  if (window < 1) throw InputError(fmt::format("--window must be >= 1 (got {})", window));
  if (eval_batch_size < 1) throw InputError("eval batch size must be >= 1");
}

void seed_weight_init(std::uint64_t seed) {
  torch::manual_seed(derive_seed(seed, Stream::kInit));
}

Trainer::Trainer(models::ClassifierPtr model, const data::Dataset& train, const data::Dataset& val,
                 TrainOptions options)
    : model_(std::move(model)),
      train_(train),
      val_(val),
      options_(std::move(options)),
      history_(options_.window, options_.feature_dtype) {
  options_.validate();
  options_.refit.seed = options_.seed;
  if (train_.size() == 0 || val_.size() == 0) throw InputError("training and validation sets must not be empty");
  data::check_augment(train_, options_.augment);
  data_identity_ = data_identity(train_, val_);
  if (options_.data_on_device) {
    for (data::Dataset* ds : {&train_, &val_}) {
      ds->images = ds->images.to(options_.device);
      ds->labels = ds->labels.to(options_.device);
    }
  }
  model_->to(options_.device);
  apply_memory_format();
  optimizer_ = std::make_unique<torch::optim::SGD>(
      model_->parameters(),
      torch::optim::SGDOptions(options_.lr).momentum(options_.momentum).weight_decay(options_.weight_decay));
}

void Trainer::apply_memory_format() {
  if (!options_.channels_last) return;
  torch::NoGradGuard ng;
  for (auto& p : model_->parameters()) {
    if (p.dim() == 4) p.set_data(p.data().contiguous(at::MemoryFormat::ChannelsLast));
  }
}


std::int64_t Trainer::steps_per_epoch() const {
  return (train_.size() + options_.batch_size - 1) / options_.batch_size;
}

Trainer::EvalPass Trainer::eval_pass(const data::Dataset& ds, bool keep_features) {
  torch::NoGradGuard ng;
  model_->eval();
  std::vector<torch::Tensor> feats;
  std::int64_t correct = 0;
  for (std::int64_t s = 0; s < ds.size(); s += options_.eval_batch_size) {
    const auto idx = torch::arange(s, std::min(ds.size(), s + options_.eval_batch_size), torch::kInt64);
    auto x = data::make_batch(ds, idx, nullptr, nullptr, options_.device);
    if (options_.channels_last) x = x.contiguous(at::MemoryFormat::ChannelsLast);
    AutocastScope autocast(options_.bf16, options_.device);
    auto out = model_->forward(x);
    correct += out.logits.argmax(1)
                   .eq(ds.labels.index_select(0, idx.to(ds.labels.device())).to(options_.device))
                   .sum()
                   .item<std::int64_t>();
    if (keep_features) feats.push_back(out.features.to(options_.feature_dtype));
    // (features leave autocast as bfloat16 under --precision bf16; the history stores its own dtype)
  }
  EvalPass r;
  r.accuracy = static_cast<double>(correct) / static_cast<double>(ds.size());
  if (keep_features) r.features = torch::cat(feats);
  return r;
}

double Trainer::evaluate_accuracy(const data::Dataset& ds) { return eval_pass(ds, false).accuracy; }

void Trainer::refit_latest() {
  const auto& e = history_.latest();
  for (auto* cache : {&head_probs_, &head_probs_paper_}) {
    cache->push_back(refit_probabilities(e, options_.refit, cache == &head_probs_ ? "fast" : "paper"));
    while (cache->size() > static_cast<std::size_t>(options_.window)) cache->pop_front();
  }
}

void Trainer::fill_estimates(EpochRecord& rec) const {
  torch::NoGradGuard ng;
  const auto& labels = history_.latest().val_labels;
  const auto index = labels.to(torch::kInt64).unsqueeze(1);
  auto mean_of = [&](const std::deque<torch::Tensor>& cache, std::size_t k) {
    torch::Tensor sum;
    for (std::size_t i = cache.size() - k; i < cache.size(); ++i) sum = sum.defined() ? sum + cache[i] : cache[i];
    return sum / static_cast<double>(k);
  };
  // Probability of the true class; clamped so one confident mistake gives a large, finite loss.
  auto true_class = [&](const torch::Tensor& probs) { return probs.gather(1, index.to(probs.device())).squeeze(1); };
  rec.window_acc.clear();
  rec.window_nll.clear();
  rec.window_soft.clear();
  for (std::size_t k = 1; k <= head_probs_.size(); ++k) {
    const auto m = mean_of(head_probs_, k);
    const auto p = true_class(m);
    rec.window_acc.push_back(accuracy(m, labels));
    rec.window_nll.push_back(-p.clamp_min(1e-12).log().to(torch::kFloat64).mean().item<double>());
    rec.window_soft.push_back(p.to(torch::kFloat64).mean().item<double>());
  }
  rec.refit_val_acc = rec.window_acc.front();
  rec.estimate = rec.window_acc.back();
  rec.estimate_paper = accuracy(mean_of(head_probs_paper_, head_probs_paper_.size()), labels);
  const auto own = make_feature_estimator("original")->estimate(history_).probabilities;
  rec.original_nll = -true_class(own).clamp_min(1e-12).log().to(torch::kFloat64).mean().item<double>();
}

EpochRecord Trainer::run_epoch(const StepCallback& on_step) {
  if (finished()) throw InputError(fmt::format("the budget of {} epochs is already trained", options_.epochs));
  const auto t0 = Clock::now();
  const std::int64_t epoch = epochs_done_ + 1;
  const std::int64_t n = train_.size();
  const std::int64_t steps = steps_per_epoch();
  const std::int64_t total_steps = steps * options_.max_epochs;

  // Epoch e's randomness depends only on (seed, e): continuing from a checkpoint replays it exactly.
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 shuffle_rng(derive_seed(options_.seed, Stream::kShuffle, static_cast<std::uint64_t>(epoch)));
  std::shuffle(order.begin(), order.end(), shuffle_rng);
  const auto perm = torch::tensor(order, torch::kInt64);
  std::mt19937_64 aug_rng(derive_seed(options_.seed, Stream::kAugment, static_cast<std::uint64_t>(epoch)));

  model_->train();
  model_->set_training_progress(static_cast<double>(epoch - 1) / static_cast<double>(options_.max_epochs));
  model_->seed_randomness(derive_seed(options_.seed, Stream::kModel, static_cast<std::uint64_t>(epoch)));
  EpochRecorder recorder(options_.feature_dtype);
  auto& group_options = static_cast<torch::optim::SGDOptions&>(optimizer_->param_groups()[0].options());
  // The loss is summed on the device and read back only every `sync_every` steps: on a GPU a read-back per step
  // would stall the queue. The divergence check and progress run at those points.
  const std::int64_t sync_every =
      options_.sync_every > 0 ? options_.sync_every : (options_.device.is_cuda() ? 20 : 1);
  auto loss_sum = torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat64).device(options_.device));
  double loss_sum_host = 0.0;
  double lr = options_.lr;
  for (std::int64_t s = 0; s < steps; ++s) {
    const auto start = s * options_.batch_size;
    const auto idx = perm.narrow(0, start, std::min(options_.batch_size, n - start));
    auto x = data::make_batch(train_, idx, &options_.augment, &aug_rng, options_.device);
    if (options_.channels_last) x = x.contiguous(at::MemoryFormat::ChannelsLast);
    auto y = train_.labels.index_select(0, idx.to(train_.labels.device())).to(options_.device);
    lr = options_.lr * (1.0 - static_cast<double>(global_step_) / static_cast<double>(total_steps));
    group_options.lr(lr);
    optimizer_->zero_grad();
    models::ModelOutput out;
    torch::Tensor loss;
    {
      AutocastScope autocast(options_.bf16, options_.device);
      out = model_->forward(x);
      loss = torch::nn::functional::cross_entropy(out.logits, y);
      if (out.aux_logits.defined()) {
        loss = loss + options_.aux_weight * torch::nn::functional::cross_entropy(out.aux_logits, y);
      }
    }
    loss_sum += loss.detach().to(torch::kFloat64) * static_cast<double>(idx.size(0));
    if ((s + 1) % sync_every == 0 || s + 1 == steps) {
      loss_sum_host = loss_sum.item<double>();
      if (!std::isfinite(loss_sum_host)) {
        throw DivergedError(fmt::format("epoch {}, step {}: training loss is {} (lr {:.4g}); the run diverged", epoch,
                                        s + 1, loss.item<double>(), lr));
      }
      if (on_step) on_step(s + 1, steps, loss_sum_host / static_cast<double>(start + idx.size(0)));
    }
    loss.backward();
    optimizer_->step();
    ++global_step_;
    recorder.add_train_batch(out.features, y);
  }

  EpochRecord rec;
  rec.epoch = epoch;
  rec.lr = lr;
  rec.train_loss = loss_sum_host / static_cast<double>(n);
  auto val = eval_pass(val_, true);
  rec.original_val_acc = val.accuracy;
  {
    torch::NoGradGuard ng;
    history_.add(recorder.finish(epoch, val.features, val_.labels.to(options_.device), model_->head()->weight,
                                 model_->head()->bias));
  }
  rec.seconds = since(t0);

  if (options_.estimate_each_epoch) {
    const auto te = Clock::now();
    refit_latest();
    fill_estimates(rec);
    rec.estimate_seconds = since(te);
    if (options_.compare_impl) {
      const auto tp = Clock::now();
      const double full = make_feature_estimator("fh-paper", options_.refit)->estimate(history_).accuracy;
      rec.estimate_paper_seconds = since(tp);
      // The per-epoch cache must give what re-fitting all K heads gives.
      if (std::abs(full - rec.estimate_paper) > 1e-9) {
        throw Error(fmt::format("internal: cached fh-paper {} differs from the full re-fit {}", rec.estimate_paper,
                                full));
      }
    }
  }
  if (!options_.save_features_dir.empty()) save_epoch_npy(options_.save_features_dir, history_.latest());
  epochs_done_ = epoch;
  records_.push_back(rec);
  return rec;
}

}  // namespace fhist::train
