// fhist evaluate: a search's best configuration (or a trial's) retrained from scratch on train + validation and
// tested; the result is stored in the journal.
#include <fmt/format.h>

#include <cstdio>

#include "commands.hpp"
#include "core/text.hpp"
#include "objective/evaluate.hpp"
#include "train/trainer.hpp"

namespace fhist::cli {
namespace {

struct EvaluateCmd {
  std::string journal;
  std::int64_t max_budget = 0;  // 0: the search's --max-budget
  std::int64_t trial = -1;      // -1: the incumbent
  bool no_store = false;
  JsonOutput out;
  RuntimeOptions rt;
};

void run_evaluate(const EvaluateCmd& c) {
  objective::EvaluateOptions e;
  e.journal = c.journal;
  e.trial = c.trial;
  e.max_budget = c.max_budget;
  e.device = apply_runtime(c.rt);
  e.bf16 = c.rt.precision == "bf16";
  e.channels_last = c.rt.channels_last;
  e.store = !c.no_store;
  // With --json, stdout carries the JSON only; the progress lines go to stderr.
  std::FILE* human = c.out.json ? stderr : stdout;
  objective::EvaluateProgress progress;
  progress.started = [&](std::int64_t trial, const space::Config& cfg, std::int64_t images, std::int64_t epochs) {
    fmt::print(human, "evaluate: trial {} {} from {}, retrained from scratch on {} images for {}\n", trial,
               cfg.to_string(), c.journal, images, count_of(epochs, "epoch"));
  };
  progress.epoch = [&](const train::EpochRecord& r) {
    fmt::print(human, "epoch {:>3}  loss {:.4f}  test {:.2f}%  {:.1f} s\n", r.epoch, r.train_loss,
               100.0 * r.original_val_acc, r.seconds);
    std::fflush(human);
  };
  const auto result = objective::evaluate_trial(e, progress);
  const auto& acc = result.at("test_acc");
  fmt::print(human, "test accuracy: {}\n", acc.is_number() ? fmt::format("{:.2f}%", 100.0 * acc.get<double>()) : "not finite");
  if (e.store) fmt::print(human, "stored in {} (fhist report shows it)\n", c.journal);
  c.out.write(result);
}

}  // namespace

void register_evaluate(CLI::App& app) {
  auto c = std::make_shared<EvaluateCmd>();
  auto* sub = app.add_subcommand("evaluate",
                                 "retrain a search's best configuration on train + validation, report test accuracy");
  sub->add_option("--journal", c->journal, "the search's journal")->required();
  sub->add_option("--max-budget,--max-epochs,--epochs", c->max_budget,
                  "epochs of the retraining, its lr schedule's length (default: the search's --max-budget)")
      ->check(at_least(1));
  sub->add_option("--trial", c->trial, "evaluate this trial's configuration instead of the incumbent's")
      ->check(at_least(0));
  sub->add_flag("--no-store", c->no_store, "do not record the result in the journal");
  add_json_output_flags(*sub, c->out, "the result (trial, configuration, test accuracy per epoch, seed)");
  add_runtime_flags(*sub, c->rt);
  add_speed_flags(*sub, c->rt);
  sub->callback([c]() { run_evaluate(*c); });
}

}  // namespace fhist::cli
