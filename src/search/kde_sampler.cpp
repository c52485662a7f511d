// BOHB's model-based sampler, after HpBandSter's config_generators/bohb.py (REFERENCE §6): per budget, the
// observations split into good (top 15 %) and bad; one product-kernel density per side over the encoded vector;
// candidates drawn around good points with widened bandwidths; the one maximising l(x)/g(x) wins.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <optional>

#include "core/errors.hpp"
#include "search/sampler.hpp"

namespace fhist::search {

namespace {

constexpr double kLogFloor = -73.68272297580946;  // log(1e-32): HpBandSter's floor on g(x)

// One side (good or bad) of the model: a product-kernel KDE as statsmodels' KDEMultivariate with var_type 'c'
// (Gaussian) for numbers and 'u' (Aitchison-Aitken) for categories.
struct Kde {
  std::vector<std::vector<double>> data;
  std::vector<double> bw;

  // log of the density at x; log-sum-exp so that many dimensions do not underflow to 0/0.
  double log_pdf(const std::vector<double>& x, const std::vector<int>& levels) const {
    constexpr double kLogSqrt2Pi = 0.91893853320467274178;
    std::vector<double> terms;
    terms.reserve(data.size());
    for (const auto& row : data) {
      double s = 0.0;
      for (std::size_t d = 0; d < x.size(); ++d) {
        if (levels[d] == 0) {
          const double z = (x[d] - row[d]) / bw[d];
          s += -0.5 * z * z - std::log(bw[d]) - kLogSqrt2Pi;
        } else if (levels[d] > 1) {
          // Capped at (levels-1)/levels, where the Aitchison-Aitken kernel is uniform: beyond it the kernel would
          // favour the *other* levels and, past 1, go negative (statsmodels evaluates it anyway; we do not).
          const double h = std::min(bw[d], static_cast<double>(levels[d] - 1) / levels[d]);
          s += std::lround(x[d]) == std::lround(row[d]) ? std::log(1.0 - h) : std::log(h / (levels[d] - 1));
        }  // a one-level categorical contributes a factor of 1
      }
      terms.push_back(s);
    }
    const double m = *std::max_element(terms.begin(), terms.end());
    if (!std::isfinite(m)) return m;
    double sum = 0.0;
    for (double t : terms) sum += std::exp(t - m);
    return m + std::log(sum) - std::log(static_cast<double>(data.size()));
  }
};

// statsmodels' 'normal_reference' rule (1.06 * sd * n^(-1/(4+d)), population sd, for every variable type),
// clipped below at min_bw as HpBandSter does. These are the bandwidths HpBandSter samples with; only the density
// caps categorical ones (log_pdf).
Kde fit(std::vector<std::vector<double>> rows, const std::vector<int>& levels, double min_bw) {
  Kde k;
  const std::size_t n = rows.size(), dims = levels.size();
  const double shrink = 1.06 * std::pow(static_cast<double>(n), -1.0 / (4.0 + static_cast<double>(dims)));
  for (std::size_t d = 0; d < dims; ++d) {
    double mean = 0.0, var = 0.0;
    for (const auto& r : rows) mean += r[d];
    mean /= static_cast<double>(n);
    for (const auto& r : rows) var += (r[d] - mean) * (r[d] - mean);
    k.bw.push_back(std::max(shrink * std::sqrt(var / static_cast<double>(n)), min_bw));
  }
  k.data = std::move(rows);
  return k;
}

// An inactive parameter (NaN) takes a value of the same dimension from the other rows where it is active, as
// HpBandSter's impute_conditional_data does, cycling through them instead of drawing at random so that a refit needs
// no generator; where no row has it active, the middle of the range (a numeric dimension) or a level in turn.
std::vector<std::vector<double>> impute_inactive(std::vector<std::vector<double>> rows,
                                                 const std::vector<int>& levels) {
  for (std::size_t d = 0; d < levels.size(); ++d) {
    std::vector<double> active;
    for (const auto& r : rows)
      if (!std::isnan(r[d])) active.push_back(r[d]);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (!std::isnan(rows[i][d])) continue;
      if (!active.empty())
        rows[i][d] = active[i % active.size()];
      else
        rows[i][d] = levels[d] == 0 ? 0.5 : static_cast<double>(i % static_cast<std::size_t>(levels[d]));
    }
  }
  return rows;
}

// A normal draw restricted to [0, 1] (scipy's truncnorm in HpBandSter). The mean lies in [0, 1] and sd is at most
// a few units, so rejection accepts often; the clamp only guards the pathological tail.
double truncated_normal(double mean, double sd, space::Rng& rng) {
  std::normal_distribution<double> normal(mean, sd);
  for (int i = 0; i < 1000; ++i) {
    const double x = normal(rng);
    if (x >= 0.0 && x <= 1.0) return x;
  }
  return std::clamp(mean, 0.0, 1.0);
}

}  // namespace

struct KdeSampler::Impl {
  struct Observation {
    std::vector<double> x;
    double score;
  };
  std::vector<int> levels;  // per dimension: 0 for numbers (Gaussian kernel), else the number of choices
  int min_points = 0;
  double top_n_percent = 15.0;
  std::map<std::int64_t, std::vector<Observation>> observations;  // by budget

  // Cached model for `fitted_budget`; refitted when that budget gets a new observation.
  std::int64_t fitted_budget = -1;
  std::size_t fitted_count = 0;
  Kde good, bad;
  bool last_model_based = false;

  // HpBandSter's new_result: sort by loss (best first; stable, so ties keep observation order), good = the first
  // n_good, bad = the next n_bad right after them (not the worst end). Empty sets when there is no model.
  KdeSplit split(std::int64_t budget) const {
    KdeSplit out;
    const auto it = observations.find(budget);
    if (it == observations.end()) return out;
    const auto& obs = it->second;
    const std::size_t n = obs.size(), dims = levels.size(), mp = static_cast<std::size_t>(min_points);
    if (n < mp) return out;
    std::vector<std::size_t> idx(n);
    std::iota(idx.begin(), idx.end(), 0);
    std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return obs[a].score > obs[b].score; });
    // Integer percentages, as Python's (p * n) // 100.
    const auto pct = [&](double p) { return static_cast<std::size_t>(std::floor(p * static_cast<double>(n) / 100.0)); };
    const std::size_t n_good = std::min(n, std::max(mp, pct(top_n_percent)));
    const std::size_t n_bad = std::min(n - n_good, std::max(mp, pct(100.0 - top_n_percent)));
    // Each side needs more rows than dimensions for a spread in every one of them.
    if (n_good <= dims || n_bad <= dims) return out;
    out.budget = budget;
    out.good.assign(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(n_good));
    out.bad.assign(idx.begin() + static_cast<std::ptrdiff_t>(n_good),
                   idx.begin() + static_cast<std::ptrdiff_t>(n_good + n_bad));
    return out;
  }

  std::int64_t model_budget() const {
    for (auto it = observations.rbegin(); it != observations.rend(); ++it)
      if (split(it->first).budget >= 0) return it->first;
    return -1;
  }

  void refit(std::int64_t budget, double min_bw) {
    const auto& obs = observations.at(budget);
    if (budget == fitted_budget && obs.size() == fitted_count) return;
    const KdeSplit s = split(budget);
    std::vector<std::vector<double>> g, b;
    for (std::size_t i : s.good) g.push_back(obs[i].x);
    for (std::size_t i : s.bad) b.push_back(obs[i].x);
    good = fit(impute_inactive(std::move(g), levels), levels, min_bw);
    bad = fit(impute_inactive(std::move(b), levels), levels, min_bw);
    fitted_budget = budget;
    fitted_count = obs.size();
  }
};

KdeSampler::KdeSampler(space::SearchSpace space, KdeOptions options)
    : space_(std::move(space)), options_(options), impl_(std::make_shared<Impl>()) {
  const auto& o = options_;
  if (space_.dims() == 0) throw InputError("kde sampler: the search space has no parameters");
  if (!(o.top_n_percent > 0 && o.top_n_percent < 100))
    throw InputError(fmt::format("kde sampler: top_n_percent must be in (0, 100), got {}", o.top_n_percent));
  if (o.num_samples < 1) throw InputError(fmt::format("kde sampler: num_samples must be >= 1, got {}", o.num_samples));
  if (!(o.random_fraction >= 0 && o.random_fraction <= 1))
    throw InputError(fmt::format("kde sampler: random_fraction must be in [0, 1], got {}", o.random_fraction));
  if (!(o.bandwidth_factor > 0))
    throw InputError(fmt::format("kde sampler: bandwidth_factor must be > 0, got {}", o.bandwidth_factor));
  if (!(o.min_bandwidth > 0 && o.min_bandwidth < 1))
    throw InputError(fmt::format("kde sampler: min_bandwidth must be in (0, 1), got {}", o.min_bandwidth));
  if (o.min_points_in_model < 0)
    throw InputError(fmt::format("kde sampler: min_points_in_model must be >= 0, got {}", o.min_points_in_model));
  for (const auto& p : space_.params())
    impl_->levels.push_back(p.kind == space::ParamKind::kCategorical ? static_cast<int>(p.choices.size()) : 0);
  // As HpBandSter: fewer than dims + 1 points cannot give a KDE a spread in every dimension, so that is the floor.
  const int floor_points = static_cast<int>(space_.dims()) + 1;
  impl_->min_points = std::max(o.min_points_in_model, floor_points);
  impl_->top_n_percent = o.top_n_percent;
}

std::int64_t KdeSampler::model_budget() const { return impl_->model_budget(); }

std::optional<KdeModel> KdeSampler::model() const {
  const std::int64_t budget = impl_->model_budget();
  if (budget < 0) return std::nullopt;
  impl_->refit(budget, options_.min_bandwidth);
  return KdeModel{impl_->split(budget), impl_->good.bw, impl_->bad.bw};
}

void KdeSampler::observe(const space::Config& config, std::int64_t budget_epochs, double score) {
  // Failed or non-finite results count as the worst (HpBandSter maps them to a loss of +inf).
  if (!std::isfinite(score)) score = -std::numeric_limits<double>::infinity();
  impl_->observations[budget_epochs].push_back({space_.encode(config), score});
}

space::Config KdeSampler::sample(space::Rng& rng) {
  auto& m = *impl_;
  m.last_model_based = false;
  const std::int64_t budget = m.model_budget();
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  if (budget < 0 || unit(rng) < options_.random_fraction) return space_.sample(rng);
  m.refit(budget, options_.min_bandwidth);

  // num_samples candidates that satisfy the space's constraints (HpBandSter has none to check): in a space where
  // most of the grid breaks a cap, taking the best of all candidates and falling back to a uniform draw when it
  // breaks the cap would throw the model away most of the time. Drawing stops after kMaxDraws per candidate.
  constexpr int kMaxDraws = 20;
  const std::size_t dims = m.levels.size();
  std::uniform_int_distribution<std::size_t> pick(0, m.good.data.size() - 1);
  std::optional<space::Config> best;
  double best_value = -std::numeric_limits<double>::infinity();
  int feasible = 0;
  for (int s = 0; feasible < options_.num_samples && s < options_.num_samples * kMaxDraws; ++s) {
    const auto& datum = m.good.data[pick(rng)];
    std::vector<double> x(dims);
    for (std::size_t d = 0; d < dims; ++d) {
      const double bw = m.good.bw[d];  // already >= min_bandwidth
      if (m.levels[d] == 0) {
        x[d] = truncated_normal(datum[d], bw * options_.bandwidth_factor, rng);
      } else {
        // Keep the good point's level with probability 1 - bw, else any level uniformly (possibly the same); a
        // bandwidth >= 1 is a uniform draw, as in HpBandSter.
        x[d] = unit(rng) < 1.0 - bw ? datum[d]
                                    : static_cast<double>(std::uniform_int_distribution<int>(0, m.levels[d] - 1)(rng));
      }
    }
    space::Config c = space_.decode(x);
    if (!space_.satisfies_constraints(c)) continue;
    ++feasible;
    // max(l(x), 1e-32) / max(g(x), 1e-32), in logs (HpBandSter minimises the inverse).
    const double value =
        std::max(m.good.log_pdf(x, m.levels), kLogFloor) - std::max(m.bad.log_pdf(x, m.levels), kLogFloor);
    if (!best || value > best_value) {
      best_value = value;
      best = std::move(c);
    }
  }
  if (!best) return space_.sample(rng);  // no candidate near the good points met the constraints
  m.last_model_based = true;
  return *best;
}

bool KdeSampler::last_pick_model_based() const { return impl_->last_model_based; }

}  // namespace fhist::search
