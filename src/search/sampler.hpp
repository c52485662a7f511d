#pragma once
// Samplers decide which configuration to try next (no Torch).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "space/space.hpp"

namespace fhist::search {

class Sampler {
 public:
  virtual ~Sampler() = default;
  // A new configuration that satisfies the space's constraints.
  virtual space::Config sample(space::Rng& rng) = 0;
  // A new configuration for a trial whose first job trains `budget_epochs` epochs (DEHB evolves one population per
  // budget); the others ignore the budget.
  virtual space::Config sample_at(std::int64_t budget_epochs, space::Rng& rng) { return sample(rng); }
  // A finished evaluation: `score` (higher is better, -inf for failed) of `config` at `budget_epochs`.
  virtual void observe(const space::Config& config, std::int64_t budget_epochs, double score) {}
  virtual std::string name() const = 0;
  // Whether the last sample() was a uniform draw of the space (not a model's proposal): on a table, a uniform draw
  // becomes a uniform draw of the table's rows, so every row is equally likely whatever the space's geometry.
  virtual bool last_pick_uniform() const { return true; }
};

// Uniform sampling of the space.
class RandomSampler : public Sampler {
 public:
  explicit RandomSampler(space::SearchSpace space) : space_(std::move(space)) {}
  space::Config sample(space::Rng& rng) override { return space_.sample(rng); }
  std::string name() const override { return "random"; }

 private:
  space::SearchSpace space_;
};

// BOHB's TPE-style sampler with HpBandSter's defaults (Falkner et al. 2018; REFERENCE §6).
struct KdeOptions {
  double top_n_percent = 15.0;        // observations counted as "good"
  int num_samples = 64;               // candidates drawn from the good KDE per suggestion
  double random_fraction = 1.0 / 3.0; // suggestions that stay uniformly random
  double bandwidth_factor = 3.0;      // widens the good KDE when drawing candidates
  double min_bandwidth = 1e-3;
  int min_points_in_model = 0;        // 0 = dims + 1
};

// Which observations of `budget` (indices in the order observed) form the good and the bad set.
struct KdeSplit {
  std::int64_t budget = -1;
  std::vector<std::size_t> good, bad;
};

// The fitted model, for inspection and tests: the split and each side's per-dimension bandwidths.
struct KdeModel {
  KdeSplit split;
  std::vector<double> good_bandwidths, bad_bandwidths;
};

class KdeSampler : public Sampler {
 public:
  KdeSampler(space::SearchSpace space, KdeOptions options = {});
  space::Config sample(space::Rng& rng) override;
  void observe(const space::Config& config, std::int64_t budget_epochs, double score) override;
  std::string name() const override { return "kde"; }

  // The budget whose observations the model currently uses (the largest with enough points), or -1 if none yet.
  std::int64_t model_budget() const;
  // The model sample() would use now, or nothing while no budget has one.
  std::optional<KdeModel> model() const;
  // Whether the last sample() came from the model (HpBandSter's "model_based_pick"), not a uniform draw.
  bool last_pick_model_based() const;
  bool last_pick_uniform() const override { return !last_pick_model_based(); }

 private:
  struct Impl;
  space::SearchSpace space_;
  KdeOptions options_;
  std::shared_ptr<Impl> impl_;
};

// DEHB's differential evolution (Awad et al. 2021) with its defaults: rand/1 mutation, binomial crossover.
struct DeOptions {
  double mutation_factor = 0.5;  // F
  double crossover_prob = 0.5;   // CR
  int population = 20;           // members per budget: the best observed there
};

// Configurations for HyperBand's brackets evolved from the population at the bracket's first budget; a uniform draw
// while that budget has fewer than 4 observations (a target and three parents). Decision record 0012.
class DeSampler : public Sampler {
 public:
  DeSampler(space::SearchSpace space, DeOptions options = {});
  space::Config sample(space::Rng& rng) override;  // at the smallest budget with a population
  space::Config sample_at(std::int64_t budget_epochs, space::Rng& rng) override;
  void observe(const space::Config& config, std::int64_t budget_epochs, double score) override;
  std::string name() const override { return "de"; }
  bool last_pick_uniform() const override { return !last_pick_evolved(); }
  bool last_pick_evolved() const;
  std::int64_t last_budget() const;  // the budget whose population the last pick evolved (-1: a uniform draw)

 private:
  struct Impl;
  std::vector<double> to_cube(const space::Config& c) const;
  space::Config from_cube(std::vector<double> x) const;
  std::int64_t evolving_budget(std::int64_t budget) const;
  space::SearchSpace space_;
  DeOptions options_;
  std::shared_ptr<Impl> impl_;
};

}  // namespace fhist::search
