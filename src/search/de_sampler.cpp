// DEHB's differential evolution (Awad et al. 2021, "DEHB: Evolutionary Hyperband for scalable, robust and efficient
// hyperparameter optimization"), as the sampler of HyperBand's new configurations: one population per budget, a
// rand/1 mutant of three members, binomial crossover with a target member, out-of-range genes redrawn uniformly
// (DEHB's defaults: F = 0.5, CR = 0.5, fix "random"). What differs from DEHB is written in decision record 0012.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "core/errors.hpp"
#include "search/sampler.hpp"

namespace fhist::search {

namespace {

struct Member {
  std::vector<double> x;  // in the unit cube (categoricals as (index + 0.5) / n)
  double score;
};

}  // namespace

struct DeSampler::Impl {
  std::vector<int> levels;                         // choices of a categorical dimension, 0 for the others
  std::map<std::int64_t, std::vector<Member>> observed;  // per budget, in the order observed
  std::map<std::int64_t, std::size_t> next_target;       // per budget: the target member the next child replaces
  bool last_evolved = false;
  std::int64_t last_budget = -1;

  // The population at `budget`: the best `size` observed there (failed ones last), best first.
  std::vector<Member> population(std::int64_t budget, int size) const {
    auto it = observed.find(budget);
    if (it == observed.end()) return {};
    std::vector<Member> pop = it->second;
    std::stable_sort(pop.begin(), pop.end(), [](const Member& a, const Member& b) { return a.score > b.score; });
    if (static_cast<int>(pop.size()) > size) pop.resize(static_cast<std::size_t>(size));
    return pop;
  }
};

DeSampler::DeSampler(space::SearchSpace space, DeOptions options)
    : space_(std::move(space)), options_(options), impl_(std::make_shared<Impl>()) {
  const auto& o = options_;
  if (space_.dims() == 0) throw InputError("de sampler: the search space has no parameters");
  if (!(o.mutation_factor > 0 && o.mutation_factor <= 2))
    throw InputError(fmt::format("de sampler: mutation_factor must be in (0, 2], got {}", o.mutation_factor));
  if (!(o.crossover_prob >= 0 && o.crossover_prob <= 1))
    throw InputError(fmt::format("de sampler: crossover_prob must be in [0, 1], got {}", o.crossover_prob));
  if (o.population < 4)
    throw InputError(fmt::format("de sampler: population must be >= 4 (a target and three parents), got {}",
                                 o.population));
  for (const auto& p : space_.params())
    impl_->levels.push_back(p.kind == space::ParamKind::kCategorical ? static_cast<int>(p.choices.size()) : 0);
}

std::vector<double> DeSampler::to_cube(const space::Config& c) const {
  auto x = space_.encode(c);
  for (std::size_t d = 0; d < x.size(); ++d) {
    const int n = impl_->levels[d];
    // An inactive parameter (NaN) takes the cube's middle: a child whose parent turns it on starts from there.
    if (std::isnan(x[d]))
      x[d] = 0.5;
    else if (n > 0)
      x[d] = (x[d] + 0.5) / n;
  }
  return x;
}

space::Config DeSampler::from_cube(std::vector<double> x) const {
  for (std::size_t d = 0; d < x.size(); ++d) {
    const int n = impl_->levels[d];
    if (n > 0) x[d] = std::min<double>(n - 1, std::floor(x[d] * n));
  }
  return space_.decode(x);
}

void DeSampler::observe(const space::Config& config, std::int64_t budget_epochs, double score) {
  if (!std::isfinite(score)) score = -std::numeric_limits<double>::infinity();
  impl_->observed[budget_epochs].push_back({to_cube(config), score});
}

std::int64_t DeSampler::evolving_budget(std::int64_t budget) const {
  auto has_population = [&](std::int64_t b) {
    auto it = impl_->observed.find(b);
    return it != impl_->observed.end() && it->second.size() >= 4;
  };
  if (budget >= 0) return has_population(budget) ? budget : -1;
  for (const auto& [b, obs] : impl_->observed)
    if (has_population(b)) return b;  // the smallest budget with a population
  return -1;
}

space::Config DeSampler::sample(space::Rng& rng) { return sample_at(-1, rng); }

space::Config DeSampler::sample_at(std::int64_t budget_epochs, space::Rng& rng) {
  auto& m = *impl_;
  m.last_evolved = false;
  const std::int64_t budget = evolving_budget(budget_epochs);
  m.last_budget = budget;
  if (budget < 0) return space_.sample(rng);  // DEHB's first iteration: the population starts uniform
  const auto pop = m.population(budget, options_.population);
  const std::size_t n = pop.size();
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  constexpr int kMaxTries = 50;
  for (int attempt = 0; attempt < kMaxTries; ++attempt) {
    // The targets are taken in turn, as DEHB's generation does; the three parents are distinct and not the target.
    const std::size_t target = m.next_target[budget] % n;
    std::vector<std::size_t> others;
    for (std::size_t i = 0; i < n; ++i)
      if (i != target) others.push_back(i);
    std::shuffle(others.begin(), others.end(), rng);
    const auto& a = pop[others[0]].x;
    const auto& b = pop[others[1]].x;
    const auto& c = pop[others[2]].x;
    const std::size_t dims = a.size();
    const std::size_t forced = std::uniform_int_distribution<std::size_t>(0, dims - 1)(rng);
    std::vector<double> child = pop[target].x;
    for (std::size_t d = 0; d < dims; ++d) {
      if (d != forced && unit(rng) >= options_.crossover_prob) continue;
      double v = a[d] + options_.mutation_factor * (b[d] - c[d]);
      if (v < 0.0 || v > 1.0) v = unit(rng);
      child[d] = v;
    }
    space::Config config = from_cube(std::move(child));
    if (!space_.satisfies_constraints(config)) continue;
    ++m.next_target[budget];
    m.last_evolved = true;
    return config;
  }
  return space_.sample(rng);  // no mutant met the space's constraints
}

bool DeSampler::last_pick_evolved() const { return impl_->last_evolved; }
std::int64_t DeSampler::last_budget() const { return impl_->last_budget; }

}  // namespace fhist::search
