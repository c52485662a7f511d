// fhist estimate: the estimators on a feature history saved as .npy files (by fhist or by a Python loop).
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "core/errors.hpp"
#include "core/text.hpp"
#include "estimate/estimator.hpp"

namespace fhist::cli {
namespace {

struct EstimateCmd {
  std::string features_dir;
  int window = 10;
  std::string impl = "fast";
  std::string feature_dtype = "float32";
  RefitOptions refit;
  JsonOutput out;
  RuntimeOptions rt;
};

void run_estimate(EstimateCmd& c) {
  const std::string device = apply_runtime(c.rt);
  if (c.window < 1) throw InputError(fmt::format("--window must be >= 1 (got {})", c.window));
  const auto storage = c.feature_dtype == "float16" ? torch::kFloat16 : torch::kFloat32;
  auto history = load_history_npy(c.features_dir, c.window, storage);
  if (device != "cpu") {
    FeatureHistory on_device(c.window, storage);
    for (auto e : history.epochs()) {
      for (auto* t : {&e.train_features, &e.train_labels, &e.val_features, &e.val_labels, &e.head_weight,
                      &e.head_bias}) {
        *t = t->to(torch::Device(device));
      }
      on_device.add(e);
    }
    history = std::move(on_device);
  }
  const std::string fh_name = c.impl == "paper" ? "fh-paper" : "fh";
  nlohmann::json out = {{"features", c.features_dir},
                        {"epochs", nlohmann::json::array()},
                        {"window", c.window},
                        {"impl", c.impl},
                        {"feature_storage", c.feature_dtype},
                        {"seed", c.refit.seed}};
  for (const auto& e : history.epochs()) out["epochs"].push_back(e.epoch);
  // Which epochs the ensemble read: the window's last K, or all there are when the folder holds fewer.
  const auto& used = out["epochs"];
  if (!c.out.json && !used.empty()) {
    const auto first = used.front().get<std::int64_t>(), last = used.back().get<std::int64_t>();
    fmt::print("epochs {}..{} of {} ({}{})\n", first, last, c.features_dir, count_of(static_cast<long long>(used.size()), "epoch"),
               static_cast<int>(used.size()) < c.window ? fmt::format(": fewer than --window {}", c.window)
                                                        : fmt::format(", the last --window {}", c.window));
  }
  for (const std::string& name : {std::string("original"), std::string("refit"), fh_name}) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto est = make_feature_estimator(name, c.refit)->estimate(history);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    // The journal's names (score::measure_keys): original_val_acc, refit_val_acc, fh_val_acc, fh_paper_val_acc.
    auto key = name;
    std::replace(key.begin(), key.end(), '-', '_');
    out[key + "_val_acc"] = est.accuracy;
    out[key + "_seconds"] = secs;
    if (!c.out.json) {
      fmt::print("{:<9} {:6.2f}%  ({} head{}, {:.3f} s)\n", name, 100.0 * est.accuracy, est.heads,
                 est.heads == 1 ? "" : "s", secs);
    }
  }
  c.out.write(out);
}

}  // namespace

void register_estimate(CLI::App& app) {
  auto c = std::make_shared<EstimateCmd>();
  auto* sub = app.add_subcommand(
      "estimate",
      "estimate final accuracy from a saved feature history. Layout (one folder per epoch):\n"
      "  DIR/epoch_0001/train_features.npy [N,d] f2|f4   train_labels.npy [N] i8\n"
      "                 val_features.npy   [M,d] f2|f4   val_labels.npy   [M] i8\n"
      "                 head_weight.npy    [c,d] f4      head_bias.npy    [c] f4");
  sub->add_option("--features", c->features_dir, "folder of epoch_NNNN subfolders")->required();
  sub->add_option("--window", c->window, "K: the last K epochs go into the ensemble")->capture_default_str();
  sub->add_option("--impl", c->impl, "fast | paper")->check(CLI::IsMember({"fast", "paper"}))->capture_default_str();
  sub->add_option("--feature-storage,--feature-dtype", c->feature_dtype,
                  "float16 | float32: the precision features are held in between epochs, as fhist train keeps them "
                  "(float16 rounds them; the re-fits compute in float32)")
      ->check(CLI::IsMember({"float16", "float32"}))
      ->capture_default_str();
  sub->add_option("--refit-epochs", c->refit.epochs, "epochs of head re-fitting")->capture_default_str();
  sub->add_option("--seed", c->refit.seed, "seed for shuffling the saved features")->capture_default_str();
  add_json_output_flags(*sub, c->out, "the estimates and their timings");
  add_runtime_flags(*sub, c->rt);
  sub->callback([c]() { run_estimate(*c); });
}

}  // namespace fhist::cli
