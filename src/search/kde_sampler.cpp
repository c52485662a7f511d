// BOHB's model-based sampler, after HpBandSter's config_generators/bohb.py (REFERENCE §6): per budget, the
// observations split into good (top 15 %) and bad; one product-kernel density per side over the encoded vector;
// candidates drawn around good points with widened bandwidths; the one maximising l(x)/g(x) wins.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>

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
          s += std::lround(x[d]) == std::lround(row[d]) ? std::log(1.0 - bw[d]) : std::log(bw[d] / (levels[d] - 1));
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

// statsmodels' 'normal_reference' rule (1.06 * sd * n^(-1/(4+d)), population sd), clipped below at min_bw as
// HpBandSter does. Categorical bandwidths are also capped at (levels-1)/levels, where the Aitchison-Aitken
// kernel becomes uniform: beyond it the kernel would favour the *other* levels, and 1 - bw would go negative.
Kde fit(std::vector<std::vector<double>> rows, const std::vector<int>& levels, double min_bw) {
  Kde k;
  const std::size_t n = rows.size(), dims = levels.size();
  const double shrink = 1.06 * std::pow(static_cast<double>(n), -1.0 / (4.0 + static_cast<double>(dims)));
  for (std::size_t d = 0; d < dims; ++d) {
    double mean = 0.0, var = 0.0;
    for (const auto& r : rows) mean += r[d];
    mean /= static_cast<double>(n);
    for (const auto& r : rows) var += (r[d] - mean) * (r[d] - mean);
    double bw = std::max(shrink * std::sqrt(var / static_cast<double>(n)), min_bw);
    if (levels[d] > 1) bw = std::min(bw, static_cast<double>(levels[d] - 1) / levels[d]);
    k.bw.push_back(bw);
  }
  k.data = std::move(rows);
  return k;
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
  std::map<std::int64_t, std::vector<Observation>> observations;  // by budget

  // Cached model for `model_budget`; refitted when that budget gets a new observation.
  std::int64_t fitted_budget = -1;
  std::size_t fitted_count = 0;
  Kde good, bad;

  std::int64_t model_budget() const {
    // The model needs min_points good points and at least two bad ones (a spread for the bandwidth rule).
    for (auto it = observations.rbegin(); it != observations.rend(); ++it)
      if (static_cast<int>(it->second.size()) >= min_points + 2) return it->first;
    return -1;
  }

  void refit(std::int64_t budget, const KdeOptions& o) {
    const auto& obs = observations.at(budget);
    if (budget == fitted_budget && obs.size() == fitted_count) return;
    const std::size_t n = obs.size();
    // Best first; stable so that ties keep observation order and the result is deterministic.
    std::vector<std::size_t> idx(n);
    std::iota(idx.begin(), idx.end(), 0);
    std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return obs[a].score > obs[b].score; });
    const auto pct = [&](double p) { return static_cast<std::size_t>(std::floor(p * static_cast<double>(n) / 100.0)); };
    const std::size_t mp = static_cast<std::size_t>(min_points);
    const std::size_t n_good = std::min(n - 2, std::max(mp, pct(o.top_n_percent)));
    // Bad = the worst n_bad points, disjoint from the good ones (HpBandSter takes them from the rest as well).
    const std::size_t n_bad = std::min(n - n_good, std::max(mp, pct(100.0 - o.top_n_percent)));
    std::vector<std::vector<double>> g, b;
    for (std::size_t i = 0; i < n_good; ++i) g.push_back(obs[idx[i]].x);
    for (std::size_t i = n - n_bad; i < n; ++i) b.push_back(obs[idx[i]].x);
    good = fit(std::move(g), levels, o.min_bandwidth);
    bad = fit(std::move(b), levels, o.min_bandwidth);
    fitted_budget = budget;
    fitted_count = n;
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
}

std::int64_t KdeSampler::model_budget() const { return impl_->model_budget(); }

void KdeSampler::observe(const space::Config& config, std::int64_t budget_epochs, double score) {
  // Failed or non-finite results count as the worst (HpBandSter maps them to a loss of +inf).
  if (!std::isfinite(score)) score = -std::numeric_limits<double>::infinity();
  impl_->observations[budget_epochs].push_back({space_.encode(config), score});
}

space::Config KdeSampler::sample(space::Rng& rng) {
  auto& m = *impl_;
  const std::int64_t budget = m.model_budget();
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  if (budget < 0 || unit(rng) < options_.random_fraction) return space_.sample(rng);
  m.refit(budget, options_);

  const std::size_t dims = m.levels.size();
  std::uniform_int_distribution<std::size_t> pick(0, m.good.data.size() - 1);
  std::vector<double> best;
  double best_value = -std::numeric_limits<double>::infinity();
  for (int s = 0; s < options_.num_samples; ++s) {
    const auto& datum = m.good.data[pick(rng)];
    std::vector<double> x(dims);
    for (std::size_t d = 0; d < dims; ++d) {
      const double bw = m.good.bw[d];  // already >= min_bandwidth
      if (m.levels[d] == 0) {
        x[d] = truncated_normal(datum[d], bw * options_.bandwidth_factor, rng);
      } else {
        // Keep the good point's level with probability 1 - bw, else any level uniformly (possibly the same).
        x[d] = unit(rng) < 1.0 - bw ? datum[d]
                                    : static_cast<double>(std::uniform_int_distribution<int>(0, m.levels[d] - 1)(rng));
      }
    }
    // l(x) / max(g(x), 1e-32), in logs.
    const double value = m.good.log_pdf(x, m.levels) - std::max(m.bad.log_pdf(x, m.levels), kLogFloor);
    if (best.empty() || value > best_value) {
      best_value = value;
      best = std::move(x);
    }
  }
  space::Config c = space_.decode(best);
  // The KDE knows nothing of constraints: a violating pick falls back to a uniform (constraint-respecting) draw.
  return space_.satisfies_constraints(c) ? c : space_.sample(rng);
}

}  // namespace fhist::search
