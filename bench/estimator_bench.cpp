// Estimator cost relative to a training epoch, measured in one run on the same model and data:
//   1. train two epochs (training pass with feature recording + validation pass) and time the second: the first
//      pays for allocator growth, kernel selection and first-touch page faults, which a search pays once;
//   2. fill a K-epoch window with that epoch's features (the estimators' cost depends on shapes, not values);
//   3. time the paper-faithful and the fast feature-history estimate (median of --repeats, after one untimed run);
//   4. print both as a fraction of the epoch.
#include <fmt/format.h>
#include <torch/torch.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/errors.hpp"
#include "data/dataset.hpp"
#include "train/trainer.hpp"

namespace {

double median_seconds(int repeats, const std::function<void()>& f) {
  f();  // warm-up, untimed
  std::vector<double> t;
  for (int i = 0; i < repeats; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fhist estimator benchmark: estimate seconds / epoch seconds"};
  std::string data = "fashion-mnist", model = "resnet18", device = "cpu", json_path;
  double width = 0.25;
  std::int64_t train_size = 8000, val_size = 2000, batch = 256;
  int window = 10, threads = 0, repeats = 3;
  std::string precision = "fp32";
  bool channels_last = false;
  app.add_option("--data", data)->capture_default_str();
  app.add_option("--model", model)->capture_default_str();
  app.add_option("--width-mult", width)->capture_default_str();
  app.add_option("--train-size", train_size)->capture_default_str();
  app.add_option("--val-size", val_size)->capture_default_str();
  app.add_option("--batch-size", batch)->capture_default_str();
  app.add_option("--window", window)->capture_default_str();
  app.add_option("--threads", threads, "0 = all cores")->capture_default_str();
  app.add_option("--device", device)->capture_default_str();
  app.add_option("--repeats", repeats)->capture_default_str();
  app.add_option("--precision", precision, "fp32 | bf16")->check(CLI::IsMember({"fp32", "bf16"}))->capture_default_str();
  app.add_flag("--channels-last", channels_last);
  app.add_option("--json", json_path, "also write the figures as JSON");
  CLI11_PARSE(app, argc, argv);

  try {
    at::set_num_threads(threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
    auto tt = fhist::data::load_dataset(data);
    auto split = fhist::data::split_train_val(tt.train, train_size, val_size, 0);
    fhist::train::seed_weight_init(0);
    auto net = fhist::models::make_model({model, width, tt.train.channels(), tt.train.num_classes});
    fhist::train::TrainOptions o;
    o.epochs = 2;
    o.max_epochs = 2;
    o.batch_size = batch;
    o.window = window;
    o.estimate_each_epoch = false;
    o.device = torch::Device(device);
    o.bf16 = precision == "bf16";
    o.channels_last = channels_last;
    o.data_on_device = o.device.is_cuda();
    fhist::train::Trainer trainer(net, split.train, split.val, o);
    trainer.run_epoch();  // warm-up epoch, untimed
    const auto rec = trainer.run_epoch();
    const double epoch_s = rec.seconds;

    fhist::FeatureHistory history(window, torch::kFloat16);
    for (int k = 1; k <= window; ++k) {
      auto e = trainer.history().latest();
      e.epoch = k;
      history.add(e);
    }
    auto fast = fhist::make_feature_estimator("fh");
    auto paper = fhist::make_feature_estimator("fh-paper");
    double acc_fast = 0, acc_paper = 0;
    const double fast_s = median_seconds(repeats, [&] { acc_fast = fast->estimate(history).accuracy; });
    const double paper_s = median_seconds(repeats, [&] { acc_paper = paper->estimate(history).accuracy; });

    const auto& f = history.latest().train_features;
    fmt::print("estimator benchmark: {} x{} on {} ({} train / {} val), device {}, {}{}, {} threads, K = {}, d = {}\n",
               model, width, tt.train.name, split.train.size(), split.val.size(), device, precision,
               channels_last ? ", channels-last" : "", at::get_num_threads(), window, f.size(1));
    fmt::print("{:<34} {:>10} {:>12}\n", "", "seconds", "x epoch");
    fmt::print("{:<34} {:>10.3f} {:>12.4f}\n", "one warm training epoch (+ val pass)", epoch_s, 1.0);
    fmt::print("{:<34} {:>10.3f} {:>12.4f}\n", "fh estimate, paper-faithful (A.1)", paper_s, paper_s / epoch_s);
    fmt::print("{:<34} {:>10.3f} {:>12.4f}\n", "fh estimate, fast (batched K heads)", fast_s, fast_s / epoch_s);
    fmt::print("fast vs paper-faithful: {:.2f}x; estimates {:.2f}% vs {:.2f}%\n", paper_s / fast_s, 100 * acc_fast,
               100 * acc_paper);
    if (!json_path.empty()) {
      nlohmann::json j = {{"model", model},          {"width_mult", width},
                          {"data", tt.train.name},   {"train_size", split.train.size()},
                          {"val_size", split.val.size()}, {"device", device},
                          {"precision", precision},  {"channels_last", channels_last},
                          {"threads", at::get_num_threads()}, {"window", window},
                          {"epoch_seconds", epoch_s}, {"paper_seconds", paper_s},
                          {"fast_seconds", fast_s},  {"paper_ratio", paper_s / epoch_s},
                          {"fast_ratio", fast_s / epoch_s}};
      std::ofstream(json_path) << j.dump(2) << "\n";
    }
  } catch (const fhist::Error& e) {
    fmt::print(stderr, "fhist_bench_estimator: {}\n", e.what());
    return 1;
  }
  return 0;
}
