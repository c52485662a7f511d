// Your own LibTorch loop driven by fhist's search through ask and tell (fhist::Study): fhist decides which
// configuration trains for how many epochs (HyperBand, promotions by the training-loss score), records every epoch
// in the journal and resumes it; the loop below trains. A two-layer MLP on 2000 Fashion-MNIST images (500 for
// validation), its hidden width and learning rate from the built-in `hparams` space (width_mult x 512 units, lr,
// weight_decay, batch_size), a checkpoint per trial so promoted trials continue. Run it again on the same journal
// after a crash and it goes on. --check (the test): exit non-zero unless the search completes with an incumbent
// above 70% validation accuracy (it starts a new journal each time).
//   build/examples/ask_tell --journal runs/ask_tell.db && build/fhist report --journal runs/ask_tell.db
#include <torch/torch.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "data/dataset.hpp"
#include "study/ask_tell.hpp"

namespace {

struct Mlp : torch::nn::Module {
  explicit Mlp(std::int64_t hidden)
      : fc1(register_module("fc1", torch::nn::Linear(784, hidden))),
        fc2(register_module("fc2", torch::nn::Linear(hidden, 10))) {}
  torch::Tensor forward(const torch::Tensor& x) { return fc2(torch::relu(fc1(x.flatten(1)))); }
  torch::nn::Linear fc1, fc2;
};

}  // namespace

int main(int argc, char** argv) {
  std::string journal = "runs/ask_tell.db";
  bool check = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--check") == 0) check = true;
    if (std::strcmp(argv[i], "--journal") == 0 && i + 1 < argc) journal = argv[++i];
  }
  if (check) {  // the test starts afresh each time
    for (const auto& p : {journal, journal + "-wal", journal + "-shm", journal + ".trials"}) {
      std::filesystem::remove_all(p);
    }
  }
  torch::set_num_threads(1);
  const auto splits = fhist::data::split_train_val(fhist::data::load_dataset("fashion-mnist").train, 2000, 500, 0);
  auto images = [](const fhist::data::Dataset& d) { return d.images.to(torch::kFloat32).div(255.0); };
  const auto x_train = images(splits.train), y_train = splits.train.labels;
  const auto x_val = images(splits.val), y_val = splits.val.labels;

  std::unique_ptr<fhist::Study> study;
  if (std::filesystem::exists(journal)) {
    study = fhist::Study::open(journal);
  } else {
    fhist::study::StudyOptions o;
    o.space = "hparams";
    o.algo = "hyperband";
    o.sched.min_budget = 1;
    o.sched.max_budget = check ? 3 : 9;
    o.sched.eta = 3;
    o.estimator = "tse-ema";
    study = fhist::Study::create(o, journal);
  }
  while (auto job = study->ask()) {
    torch::manual_seed(job->seed);
    const auto hidden = static_cast<std::int64_t>(512 * job->config.get_double("width_mult"));
    auto net = std::make_shared<Mlp>(hidden);
    torch::optim::SGD opt(net->parameters(), torch::optim::SGDOptions(job->config.get_double("lr"))
                                                 .momentum(0.9)
                                                 .weight_decay(job->config.get_double("weight_decay")));
    const auto ckpt = job->trial_dir + "/checkpoint.pt";
    std::int64_t done = 0;
    if (std::filesystem::exists(ckpt)) {
      torch::serialize::InputArchive in;
      in.load_from(ckpt);
      net->load(in);
      torch::serialize::InputArchive state;
      in.read("opt", state);
      opt.load(state);
      torch::Tensor epoch;
      in.read("epoch", epoch);
      done = epoch.item<std::int64_t>();
    }
    const auto batch = job->config.get_int("batch_size");
    for (auto e = done + 1; e <= job->budget_epochs; ++e) {
      net->train();
      const auto order = torch::randperm(x_train.size(0));
      double total = 0.0;
      for (std::int64_t i = 0; i < order.size(0); i += batch) {
        const auto idx = order.slice(0, i, std::min(i + batch, order.size(0)));
        auto loss = torch::nn::functional::cross_entropy(net->forward(x_train.index_select(0, idx)),
                                                         y_train.index_select(0, idx));
        opt.zero_grad();
        loss.backward();
        opt.step();
        total += loss.item<double>() * static_cast<double>(idx.size(0));
      }
      torch::NoGradGuard no_grad;
      net->eval();
      const double acc = net->forward(x_val).argmax(1).eq(y_val).to(torch::kFloat64).mean().item<double>();
      fhist::study::EpochRecord r;
      r.epoch = e;
      r.train_loss = total / static_cast<double>(x_train.size(0));
      r.val_acc = acc;
      study->report(*job, r);
      // The checkpoint after the report: a crash between the two repeats this epoch (fhist skips it), never skips it.
      torch::serialize::OutputArchive out, state;
      net->save(out);
      opt.save(state);
      out.write("opt", state);
      out.write("epoch", torch::tensor(e));
      out.save_to(ckpt);
    }
    const auto outcome = study->tell(*job);
    std::printf("trial %lld, %lld epochs: validation accuracy %.2f%%\n", static_cast<long long>(outcome.trial),
                static_cast<long long>(outcome.budget_epochs), 100.0 * outcome.value);
  }
  const auto s = study->summary();
  if (!s.best) return 1;
  std::printf("best: trial %lld %s, validation accuracy %.2f%% at %lld epochs (journal %s)\n",
              static_cast<long long>(s.best->trial), s.best_config.to_string().c_str(),
              100.0 * s.best->value, static_cast<long long>(s.best->budget_epochs), journal.c_str());
  return check && !(study->done() && s.best->value > 0.7) ? 1 : 0;
}
