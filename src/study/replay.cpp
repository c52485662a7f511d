// Replays: whole searches against a table (the real scheduler, sampler and journal code), the compute-matched
// baselines, anytime regret, and a bootstrap over the table's rows for intervals that include the table's own noise.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <random>
#include <thread>

#include "core/cpus.hpp"
#include "core/errors.hpp"
#include "core/rng.hpp"
#include "study/table.hpp"

namespace fhist::study {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The regret of the incumbent after each result, against the epochs spent by then.
struct Trajectory {
  std::vector<std::int64_t> epochs;
  std::vector<double> regret;
  // The incumbent's regret had the search stopped after `budget` epochs: the last result within it.
  double at(std::int64_t budget) const {
    double r = kNaN;
    for (std::size_t i = 0; i < epochs.size() && epochs[i] <= budget; ++i) r = regret[i];
    return r;
  }
};

}  // namespace

std::int64_t hyperband_round_epochs(const sched::SchedulerOptions& s) {
  return sched::total_epochs(sched::hyperband_plan(s.min_budget, s.max_budget, s.eta));
}

StudyOptions matched_options(const StudyOptions& base, const std::string& algo, int rounds) {
  if (rounds < 1) throw InputError(fmt::format("--rounds must be >= 1 (got {})", rounds));
  auto o = base;
  o.algo = algo;
  if (algo == "hyperband" || algo == "bohb" || algo == "dehb") o.sched.iterations = rounds;
  if (algo == "top-k" || algo == "top-k-hb" || algo == "top-k-auto") {
    o.sched.iterations = rounds;
    o.sched.n_configs = 0;  // as many first-budget trials as one round's epochs allow (sched::top_k_plan)
  }
  if (algo == "random") {
    // Enough full-budget trials to spend the rounds' epochs; anytime regret counts those finished by each mark.
    const std::int64_t epochs = rounds * hyperband_round_epochs(o.sched);
    o.sched.n_configs = (epochs + o.sched.max_budget - 1) / o.sched.max_budget;
  }
  return o;
}

std::vector<ReplayRun> replay_table(const BenchmarkTable& table, const StudyOptions& base,
                                    const std::vector<std::string>& algos, const std::vector<std::string>& estimators,
                                    const std::vector<std::uint64_t>& seeds, const ReplayOptions& replay) {
  // One shared copy of the table for every run (aliasing: no ownership, the caller's table outlives the runs).
  const std::shared_ptr<const BenchmarkTable> shared(&table, [](const BenchmarkTable*) {});
  const double best = table.best_test();
  const std::int64_t mark = replay.anytime_epochs > 0 ? replay.anytime_epochs : hyperband_round_epochs(base.sched);
  const auto test_of = [&](std::int64_t row) { return table.rows()[static_cast<std::size_t>(row)].test_acc; };
  std::vector<ReplayRun> out;
  for (const auto& algo : algos) {
    for (const auto& estimator : estimators) {
      for (const auto seed : seeds) {
        auto o = matched_options(base, algo, replay.rounds);
        o.estimator = estimator;
        o.seed = seed;
        o.workers = 1;
        o.device = "cpu";
        Trajectory path;
        Callbacks callbacks;
        callbacks.on_result = [&](const TrialResult&, const StudySummary& s) {
          path.epochs.push_back(s.epochs_trained);
          path.regret.push_back(s.best ? best - test_of(s.table_rows.at(static_cast<std::size_t>(s.best->trial)))
                                       : kNaN);
        };
        const auto s = run_table_search(o, shared, callbacks);
        ReplayRun r;
        r.algo = algo;
        r.estimator = estimator;
        r.seed = seed;
        r.epochs = s.epochs_trained;
        r.seconds = s.seconds;
        r.test_acc = kNaN;
        r.regret = kNaN;
        r.drawn_regret = kNaN;
        if (s.best) {
          const auto row = s.table_rows.at(static_cast<std::size_t>(s.best->trial));
          r.trial = s.best->trial;
          r.table_trial = table.rows()[static_cast<std::size_t>(row)].trial;
          r.budget_epochs = s.best->budget_epochs;
          r.test_acc = test_of(row);
          r.regret = best - r.test_acc;
          double drawn = -std::numeric_limits<double>::infinity();
          for (const auto d : s.table_rows) {
            if (std::isfinite(test_of(d))) drawn = std::max(drawn, test_of(d));
          }
          r.drawn_regret = drawn - r.test_acc;
        }
        for (int k = 1; k <= replay.rounds; ++k) r.anytime.push_back(path.at(k * mark));
        out.push_back(std::move(r));
      }
    }
  }
  return out;
}

namespace {

double mean_of(const std::vector<double>& v) {
  double sum = 0, n = 0;
  for (const double x : v) {
    if (!std::isfinite(x)) continue;
    sum += x;
    n += 1;
  }
  return n > 0 ? sum / n : kNaN;
}

// The q-quantile of the finite values, by linear interpolation between order statistics.
double quantile(std::vector<double> v, double q) {
  v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return !std::isfinite(x); }), v.end());
  if (v.empty()) return kNaN;
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const auto hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

}  // namespace

std::vector<BootstrapCell> bootstrap_replay(const BenchmarkTable& table, const StudyOptions& base,
                                            const std::vector<std::string>& algos,
                                            const std::vector<std::string>& estimators,
                                            const std::vector<std::uint64_t>& seeds, const ReplayOptions& replay,
                                            int replicates, std::uint64_t seed,
                                            const std::vector<ReplayRun>* point_runs) {
  if (replicates < 1) throw InputError(fmt::format("--bootstrap must be >= 1 (got {})", replicates));
  const std::size_t cells = algos.size() * estimators.size();
  const auto rounds = static_cast<std::size_t>(replay.rounds);
  // means[cell][replicate] and anytime[cell][k][replicate]
  std::vector<std::vector<double>> means(cells, std::vector<double>(static_cast<std::size_t>(replicates), kNaN));
  std::vector<std::vector<std::vector<double>>> anytime(
      cells, std::vector<std::vector<double>>(rounds, std::vector<double>(static_cast<std::size_t>(replicates), kNaN)));
  auto run_replicate = [&](int b) {
    // Replicate b's rows depend only on (seed, b): the interval is the same however many threads ran it.
    space::Rng rng(derive_seed(seed, Stream::kBootstrap, static_cast<std::uint64_t>(b)));
    std::uniform_int_distribution<std::size_t> pick(0, table.rows().size() - 1);
    std::vector<std::size_t> rows(table.rows().size());
    for (auto& r : rows) r = pick(rng);
    const auto resampled = table.resample(rows);
    const auto runs = replay_table(resampled, base, algos, estimators, seeds, replay);
    for (std::size_t c = 0; c < cells; ++c) {
      std::vector<double> regrets;
      std::vector<std::vector<double>> at(rounds);
      for (std::size_t k = c * seeds.size(); k < (c + 1) * seeds.size(); ++k) {
        regrets.push_back(runs[k].regret);
        for (std::size_t m = 0; m < rounds; ++m) at[m].push_back(runs[k].anytime[m]);
      }
      means[c][static_cast<std::size_t>(b)] = mean_of(regrets);
      for (std::size_t m = 0; m < rounds; ++m) anytime[c][m][static_cast<std::size_t>(b)] = mean_of(at[m]);
    }
  };
  // Replicates are independent searches: spread them over the cores (each writes only its own slots).
  const int threads = std::max(1, std::min(replicates, usable_cores()));
  std::vector<std::thread> pool;
  std::mutex error_mutex;
  std::exception_ptr error;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      try {
        for (int b = t; b < replicates; b += threads) run_replicate(b);
      } catch (...) {
        const std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
      }
    });
  }
  for (auto& th : pool) th.join();
  if (error) std::rethrow_exception(error);

  std::vector<ReplayRun> own;  // the point runs, where the caller has none to hand over
  if (point_runs == nullptr) own = replay_table(table, base, algos, estimators, seeds, replay);
  const auto& point = point_runs != nullptr ? *point_runs : own;
  if (point.size() != cells * seeds.size())
    throw Error("internal: bootstrap_replay's point runs do not match its cells");
  std::vector<BootstrapCell> out;
  for (std::size_t c = 0; c < cells; ++c) {
    BootstrapCell cell;
    cell.algo = algos[c / estimators.size()];
    cell.estimator = estimators[c % estimators.size()];
    std::vector<double> regrets;
    std::vector<std::vector<double>> at(rounds);
    for (std::size_t k = c * seeds.size(); k < (c + 1) * seeds.size(); ++k) {
      regrets.push_back(point[k].regret);
      for (std::size_t m = 0; m < rounds; ++m) at[m].push_back(point[k].anytime[m]);
    }
    cell.mean = mean_of(regrets);
    cell.low = quantile(means[c], 0.025);
    cell.high = quantile(means[c], 0.975);
    for (std::size_t m = 0; m < rounds; ++m) {
      cell.anytime_mean.push_back(mean_of(at[m]));
      cell.anytime_low.push_back(quantile(anytime[c][m], 0.025));
      cell.anytime_high.push_back(quantile(anytime[c][m], 0.975));
    }
    out.push_back(std::move(cell));
  }
  return out;
}

}  // namespace fhist::study
