// The made-up learning curve of python/tests/test_study.py, driven through the C++ ask-and-tell API (fhist::Study):
// the fourth way into one search for the contract test there (Python ask/tell, Python optimize on threads, fhist
// search --command, and this). The same options and the same formulas, so the journals must hold the same results.
// Usage: fhist_curve_ask_tell JOURNAL
#include <cmath>
#include <cstdio>
#include <exception>

#include "study/ask_tell.hpp"
#include "study/epoch_record.hpp"

namespace {

double accuracy(const fhist::space::Config& c, std::int64_t epoch) {
  return 0.9 - 0.1 * std::abs(std::log10(c.get_double("lr") / 0.05)) - 0.3 / static_cast<double>(epoch);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s JOURNAL\n", argv[0]);
    return 2;
  }
  try {
    fhist::study::StudyOptions o;  // python/tests/test_study.py's OPTIONS
    o.space = "hparams";
    o.algo = "hyperband";
    o.sched.min_budget = 1;
    o.sched.max_budget = 9;
    o.sched.eta = 3;
    o.estimator = "original";
    o.seed = 6;
    auto study = fhist::Study::create(o, argv[1]);
    while (auto job = study->ask()) {
      for (auto e = job->start_epoch; e <= job->budget_epochs; ++e) {
        fhist::study::EpochRecord r;
        r.epoch = e;
        r.train_loss = 1.0 / static_cast<double>(e);
        r.val_acc = accuracy(job->config, e);
        study->report(*job, r);
      }
      study->tell(*job);
    }
    const auto s = study->summary();
    std::printf("best: trial %lld\n", s.best ? static_cast<long long>(s.best->trial) : -1LL);
    return study->done() ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fhist_curve_ask_tell: %s\n", e.what());
    return 1;
  }
}
