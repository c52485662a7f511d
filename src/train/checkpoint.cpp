// Checkpoints: one torch::serialize archive per run, replaced atomically after every epoch.
#include <fmt/format.h>
#include <unistd.h>
#include <fmt/ranges.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <sstream>
#include <utility>
#include <vector>

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

// 64-bit FNV-1a over the bytes of a tensor, a word at a time (a digest, not a cryptographic hash): equal data gives
// equal digests on every machine, and other data a different one with overwhelming probability.
std::uint64_t digest(const torch::Tensor& t, std::uint64_t h) {
  const auto c = t.cpu().contiguous();
  const auto* bytes = static_cast<const unsigned char*>(c.data_ptr());
  const std::size_t n = static_cast<std::size_t>(c.numel()) * c.element_size();
  constexpr std::uint64_t kPrime = 1099511628211ULL;
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, bytes + i, 8);
    h = (h ^ w) * kPrime;
  }
  for (; i < n; ++i) h = (h ^ bytes[i]) * kPrime;
  return h;
}

const char* dtype_name(torch::Dtype d) {
  return d == torch::kFloat16 ? "float16" : d == torch::kBFloat16 ? "bfloat16" : d == torch::kFloat32 ? "float32" : "?";
}

// Everything beyond the numbers of `fingerprint` that must match to continue, keyed by the flag that sets it.
std::vector<std::pair<std::string, std::string>> settings(const TrainOptions& o, const std::string& data_identity,
                                                          const std::string& architecture) {
  const auto& r = o.refit;
  return {{"--data", data_identity},
          {"model architecture", architecture},
          {"--augment", o.augment.to_string()},
          {"--momentum", fmt::format("{}", o.momentum)},
          {"--feature-storage", dtype_name(o.feature_dtype)},
          {"auxiliary loss weight", fmt::format("{}", o.aux_weight)},
          {"re-fit settings", fmt::format("epochs {}, batch {}, lr {}, momentum {}, weight decay {}", r.epochs,
                                          r.batch_size, r.lr, r.momentum, r.weight_decay)}};
}

std::string encode_settings(const std::vector<std::pair<std::string, std::string>>& kv) {
  std::string s;
  for (const auto& [k, v] : kv) s += k + '\t' + v + '\n';
  return s;
}

torch::Tensor bytes_tensor(const std::string& s) {
  auto t = torch::empty({static_cast<std::int64_t>(s.size())}, torch::kUInt8);
  if (!s.empty()) std::memcpy(t.data_ptr(), s.data(), s.size());
  return t;
}

std::string tensor_bytes(const torch::Tensor& t) {
  const auto c = t.cpu().contiguous();
  return std::string(static_cast<const char*>(c.data_ptr()), static_cast<std::size_t>(c.numel()));
}

}  // namespace

std::string Trainer::data_identity(const data::Dataset& train, const data::Dataset& val) {
  std::uint64_t h = 14695981039346656037ULL;
  for (const auto* ds : {&train, &val}) h = digest(ds->labels, digest(ds->images, h));
  return fmt::format("{}, {} train / {} validation images of {}x{}x{}, content {:016x}", train.name, train.size(),
                     val.size(), train.channels(), train.height(), train.width(), h);
}

void Trainer::save_checkpoint(const std::string& path) const {
  torch::serialize::OutputArchive ar;
  ar.write("fingerprint", fingerprint(options_, train_.size(), val_.size(), models::count_parameters(*model_)));
  ar.write("hparams", torch::tensor({options_.lr, options_.momentum, options_.weight_decay}, torch::kFloat64));
  ar.write("settings", bytes_tensor(encode_settings(settings(options_, data_identity_, model_->architecture()))));
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
  // Not save_to(path): when a write fails there, LibTorch's zip writer throws again from its destructor and the
  // process aborts. Here the writer is always told "written", and a failure is noted and raised after it is done.
  const std::string tmp = temp_path_for(path);
  const int fd = create_temp_file(tmp);
  std::FILE* f = ::fdopen(fd, "wb");
  if (f == nullptr) {
    ::close(fd);
    throw EnvironmentError(fmt::format("{}: cannot create the checkpoint ({})", tmp, std::strerror(errno)));
  }
  int error = 0;
  ar.save_to([&](const void* data, std::size_t n) -> std::size_t {
    if (error == 0 && n > 0 && std::fwrite(data, 1, n, f) != n) error = errno != 0 ? errno : EIO;
    return n;
  });
  if (std::fflush(f) != 0 && error == 0) error = errno;
  if (std::fclose(f) != 0 && error == 0) error = errno;
  if (error != 0) {
    // A full disk or an I/O error: the previous checkpoint is untouched; leave no half-written file beside it.
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    throw EnvironmentError(fmt::format("{}: cannot write the checkpoint ({}); the previous one is intact", path,
                                       std::strerror(error)));
  }
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
        throw CheckpointError(
            fmt::format("{}: written by a run with {} = {}, this run has {}", path, kFingerprintNames[i], got, want));
      }
    }
    // Checkpoints of fhist before 2026-12 have no settings record; their fingerprint above still applies.
    torch::Tensor stored_settings;
    if (ar.try_read("settings", stored_settings)) {
      std::map<std::string, std::string> stored;
      std::istringstream in(tensor_bytes(stored_settings));
      for (std::string line; std::getline(in, line);) {
        const auto tab = line.find('\t');
        if (tab != std::string::npos) stored[line.substr(0, tab)] = line.substr(tab + 1);
      }
      std::vector<std::string> differ;
      for (const auto& [key, value] : settings(options_, data_identity_, model_->architecture())) {
        const auto it = stored.find(key);
        if (it == stored.end() && key == "model architecture") continue;  // checkpoints before 2026-12-04
        if (it == stored.end() || it->second != value)
          differ.push_back(fmt::format("{} {} (this run: {})", key, it == stored.end() ? "?" : it->second, value));
      }
      if (!differ.empty()) {
        throw CheckpointError(
            fmt::format("{}: written by a run with other settings: {}", path, fmt::join(differ, "; ")));
      }
    }
    torch::Tensor hp;
    ar.read("hparams", hp);
    if (hp[0].item<double>() != options_.lr || hp[1].item<double>() != options_.momentum ||
        hp[2].item<double>() != options_.weight_decay) {
      throw CheckpointError(fmt::format("{}: written with --lr {} --momentum {} --weight-decay {}, this run has --lr {} "
                                        "--momentum {} --weight-decay {}",
                                        path, hp[0].item<double>(), hp[1].item<double>(), hp[2].item<double>(),
                                        options_.lr, options_.momentum, options_.weight_decay));
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
    throw CorruptCheckpointError(fmt::format("{}: cannot load checkpoint (corrupt, or written for another model): {}", path,
                                      e.what_without_backtrace()));
  }
}

}  // namespace fhist::train
