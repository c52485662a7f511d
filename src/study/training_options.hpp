#pragma once
// The settings of fhist's own training objective (objective::training, and the tables it builds): what data, which
// network, how it trains. The search does not read them: they are StudyOptions::training, stored as the journal's
// "training" block, which a user's objective (a command, an ask-and-tell loop) has none of. No Torch.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace fhist::study {

struct TrainingOptions {
  std::string data = "fashion-mnist";
  // How a user's data is read (input::DataOptions' JSON: --target, --image-size, ...): opaque here, input's.
  nlohmann::json data_options = nlohmann::json::object();
  std::string model = "resnet18";    // used unless the space has a "model" parameter
  double width_mult = 0.25;          // used unless the space has "width_mult"
  std::int64_t train_size = 8000;    // 0 = auto (data::make_splits)
  std::int64_t val_size = 2000;
  std::string augment = "auto";      // data::resolve_augment: none on Fashion-MNIST, crop,flip on CIFAR
  // Training defaults, unless the space sets them (lr, weight_decay, batch_size).
  double lr = 0.1;
  double weight_decay = 5e-4;
  std::int64_t batch_size = 256;
  // Cell networks (nb201, darts): initial channels and cells (0 = the model's default), DARTS auxiliary head.
  std::int64_t channels = 0;
  std::int64_t cells = 0;
  bool auxiliary = false;
  // resnet-scale: MACs cap of a candidate at 3x32x32 / 100 classes: "2x" (1.12 G), "4x" (2.24 G) or "" (none).
  std::string flops_cap;
  // Tables (fhist table): measure the test accuracy of every trial that reaches the full budget, at that epoch. Never
  // read by any decision.
  bool test_accuracy = false;
  int window = 10;                   // epochs of penultimate-layer features the feature-history estimators keep
  bool bf16 = false;                 // bfloat16 autocast
  bool channels_last = false;
  std::int64_t sync_every = 0;       // steps between loss read-backs (0 = 1 on CPU, 20 on CUDA); results do not change

  // Throws InputError naming the flag.
  void validate() const;
  nlohmann::json to_json() const;
  // The "training" block, or (journals written before the split) the same keys at the top of the study record.
  // Throws nlohmann::json::exception where a key the block needs is missing.
  static TrainingOptions from_json(const nlohmann::json& j);
};

// The training settings inside a stored study record (the "options" JSON): its "training" block, or the record itself
// for journals written before the split, which hold them at the top. For readers of raw JSON (reports, the page).
inline const nlohmann::json& training_block(const nlohmann::json& options) {
  const auto it = options.find("training");
  return it != options.end() ? *it : options;
}

}  // namespace fhist::study
