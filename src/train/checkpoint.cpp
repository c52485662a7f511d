// Checkpoints: one torch::serialize archive per run, replaced atomically after every epoch.
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "core/errors.hpp"
#include "core/fs.hpp"
#include "train/trainer.hpp"

namespace fhist::train {

namespace {

constexpr std::int64_t kCheckpointVersion = 1;
// Then original_nll and window_acc, window_nll, window_soft, each NaN-padded to the window.
constexpr std::int64_t kRecordFields = 10;

torch::Tensor records_to_tensor(const std::vector<EpochRecord>& records, int window) {
  auto t = torch::full({static_cast<std::int64_t>(records.size()), kRecordFields + 1 + 3 * window},
                       std::numeric_limits<double>::quiet_NaN(), torch::kFloat64);
  auto a = t.accessor<double, 2>();
  for (std::size_t i = 0; i < records.size(); ++i) {
    const auto& r = records[i];
    const double v[kRecordFields] = {static_cast<double>(r.epoch), r.lr, r.train_loss, r.original_val_acc,
                                     r.refit_val_acc, r.estimate, r.estimate_paper, r.seconds, r.estimate_seconds,
                                     r.estimate_paper_seconds};
    for (std::int64_t j = 0; j < kRecordFields; ++j) a[static_cast<std::int64_t>(i)][j] = v[j];
    const auto row = static_cast<std::int64_t>(i);
    a[row][kRecordFields] = r.original_nll;
    const std::vector<double>* series[] = {&r.window_acc, &r.window_nll, &r.window_soft};
    for (std::int64_t s = 0; s < 3; ++s) {
      for (std::size_t k = 0; k < series[s]->size() && static_cast<int>(k) < window; ++k) {
        a[row][kRecordFields + 1 + s * window + static_cast<std::int64_t>(k)] = (*series[s])[k];
      }
    }
  }
  return t;
}

std::vector<EpochRecord> records_from_tensor(const torch::Tensor& t, int window) {
  std::vector<EpochRecord> out;
  auto a = t.accessor<double, 2>();
  for (std::int64_t i = 0; i < t.size(0); ++i) {
    EpochRecord r;
    r.epoch = static_cast<std::int64_t>(a[i][0]);
    r.lr = a[i][1];
    r.train_loss = a[i][2];
    r.original_val_acc = a[i][3];
    r.refit_val_acc = a[i][4];
    r.estimate = a[i][5];
    r.estimate_paper = a[i][6];
    r.seconds = a[i][7];
    r.estimate_seconds = a[i][8];
    r.estimate_paper_seconds = a[i][9];
    if (t.size(1) == kRecordFields + 1 + 3 * window) {
      r.original_nll = a[i][kRecordFields];
      std::vector<double>* series[] = {&r.window_acc, &r.window_nll, &r.window_soft};
      for (std::int64_t s = 0; s < 3; ++s) {
        for (std::int64_t k = 0; k < window; ++k) {
          const double v = a[i][kRecordFields + 1 + s * window + k];
          if (!std::isfinite(v)) break;
          series[s]->push_back(v);
        }
      }
    }
    out.push_back(r);
  }
  return out;
}

// What must match between the run that wrote a checkpoint and the one that continues from it.
torch::Tensor fingerprint(const TrainOptions& o, std::int64_t train_size, std::int64_t val_size,
                          std::int64_t params) {
  return torch::tensor({kCheckpointVersion, static_cast<std::int64_t>(o.seed), o.max_epochs, o.batch_size,
                        train_size, val_size, static_cast<std::int64_t>(o.window), params},
                       torch::kInt64);
}
const char* kFingerprintNames[] = {"checkpoint version", "--seed",     "--max-budget", "--batch-size",
                                   "--train-size",       "--val-size", "--window",     "model parameter count"};

}  // namespace

void Trainer::save_checkpoint(const std::string& path) const {
  torch::serialize::OutputArchive ar;
  ar.write("fingerprint", fingerprint(options_, train_.size(), val_.size(), models::count_parameters(*model_)));
  ar.write("hparams", torch::tensor({options_.lr, options_.momentum, options_.weight_decay}, torch::kFloat64));
  ar.write("position", torch::tensor({epochs_done_, global_step_}, torch::kInt64));
  torch::serialize::OutputArchive model_ar, optim_ar, hist_ar;
  model_->save(model_ar);
  optimizer_->save(optim_ar);
  ar.write("model", model_ar);
  ar.write("optimizer", optim_ar);
  const auto& eps = history_.epochs();
  hist_ar.write("count", torch::tensor({static_cast<std::int64_t>(eps.size())}, torch::kInt64));
  for (std::size_t i = 0; i < eps.size(); ++i) {
    const auto& e = eps[i];
    const std::string p = std::to_string(i) + ".";
    hist_ar.write(p + "epoch", torch::tensor({e.epoch}, torch::kInt64));
    hist_ar.write(p + "train_features", e.train_features.cpu());
    hist_ar.write(p + "train_labels", e.train_labels.cpu());
    hist_ar.write(p + "val_features", e.val_features.cpu());
    hist_ar.write(p + "val_labels", e.val_labels.cpu());
    hist_ar.write(p + "head_weight", e.head_weight.cpu());
    hist_ar.write(p + "head_bias", e.head_bias.cpu());
  }
  ar.write("history", hist_ar);
  ar.write("records", records_to_tensor(records_, options_.window));
  if (!head_probs_.empty()) {
    ar.write("head_probs", torch::stack(std::vector<torch::Tensor>(head_probs_.begin(), head_probs_.end())).cpu());
    ar.write("head_probs_paper",
             torch::stack(std::vector<torch::Tensor>(head_probs_paper_.begin(), head_probs_paper_.end())).cpu());
  }

  const std::filesystem::path target(path);
  if (target.has_parent_path()) std::filesystem::create_directories(target.parent_path());
  const std::string tmp = temp_path_for(path);
  ar.save_to(tmp);
  commit_file(tmp, path);
}

void Trainer::load_checkpoint(const std::string& path) {
  if (!std::filesystem::exists(path)) throw CheckpointError(fmt::format("{}: no checkpoint to resume from", path));
  try {
    torch::serialize::InputArchive ar;
    ar.load_from(path);
    torch::Tensor fp;
    ar.read("fingerprint", fp);
    const auto expected = fingerprint(options_, train_.size(), val_.size(), models::count_parameters(*model_));
    if (fp.numel() != expected.numel()) {
      throw CheckpointError(fmt::format("{}: written by an incompatible fhist version", path));
    }
    for (std::int64_t i = 0; i < fp.numel(); ++i) {
      const auto got = fp[i].item<std::int64_t>(), want = expected[i].item<std::int64_t>();
      if (got != want) {
        throw CheckpointError(fmt::format("{}: written by a run with {} = {}, this run has {}; continue with the same "
                                          "settings or use another --run-dir",
                                          path, kFingerprintNames[i], got, want));
      }
    }
    torch::Tensor hp;
    ar.read("hparams", hp);
    if (hp[0].item<double>() != options_.lr || hp[2].item<double>() != options_.weight_decay) {
      throw CheckpointError(fmt::format("{}: written with --lr {} --weight-decay {}, this run has --lr {} "
                                        "--weight-decay {}",
                                        path, hp[0].item<double>(), hp[2].item<double>(), options_.lr,
                                        options_.weight_decay));
    }
    torch::Tensor pos;
    ar.read("position", pos);
    torch::serialize::InputArchive model_ar, optim_ar, hist_ar;
    ar.read("model", model_ar);
    ar.read("optimizer", optim_ar);
    model_->load(model_ar);
    model_->to(options_.device);
    apply_memory_format();  // loading replaces the parameters' storage
    optimizer_->load(optim_ar);
    ar.read("history", hist_ar);
    torch::Tensor count;
    hist_ar.read("count", count);
    FeatureHistory history(options_.window, options_.feature_dtype);
    for (std::int64_t i = 0; i < count.item<std::int64_t>(); ++i) {
      const std::string p = std::to_string(i) + ".";
      EpochFeatures e;
      torch::Tensor ep;
      hist_ar.read(p + "epoch", ep);
      e.epoch = ep.item<std::int64_t>();
      hist_ar.read(p + "train_features", e.train_features);
      hist_ar.read(p + "train_labels", e.train_labels);
      hist_ar.read(p + "val_features", e.val_features);
      hist_ar.read(p + "val_labels", e.val_labels);
      hist_ar.read(p + "head_weight", e.head_weight);
      hist_ar.read(p + "head_bias", e.head_bias);
      for (auto* t : {&e.train_features, &e.train_labels, &e.val_features, &e.val_labels, &e.head_weight,
                      &e.head_bias}) {
        *t = t->to(options_.device);
      }
      history.add(e);
    }
    torch::Tensor recs;
    ar.read("records", recs);
    history_ = std::move(history);
    records_ = records_from_tensor(recs, options_.window);
    head_probs_.clear();
    head_probs_paper_.clear();
    torch::Tensor probs, probs_paper;
    if (ar.try_read("head_probs", probs) && ar.try_read("head_probs_paper", probs_paper)) {
      for (std::int64_t i = 0; i < probs.size(0); ++i) {
        head_probs_.push_back(probs[i].to(options_.device));
        head_probs_paper_.push_back(probs_paper[i].to(options_.device));
      }
    } else if (options_.estimate_each_epoch) {
      // A checkpoint without the re-fit cache: re-fit each epoch of the window once (the same heads).
      for (const auto& e : history_.epochs()) {
        head_probs_.push_back(refit_probabilities(e, options_.refit, "fast"));
        head_probs_paper_.push_back(refit_probabilities(e, options_.refit, "paper"));
      }
    }
    epochs_done_ = pos[0].item<std::int64_t>();
    global_step_ = pos[1].item<std::int64_t>();
  } catch (const CheckpointError&) {
    throw;
  } catch (const c10::Error& e) {
    throw CheckpointError(fmt::format("{}: cannot load checkpoint (corrupt, or written for another model): {}", path,
                                      e.what_without_backtrace()));
  }
}

}  // namespace fhist::train
