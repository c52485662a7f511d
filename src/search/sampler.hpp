#pragma once
// Samplers decide which configuration to try next (no Torch).
#include <memory>
#include <string>
#include <vector>

#include "space/space.hpp"

namespace fhist::search {

class Sampler {
 public:
  virtual ~Sampler() = default;
  // A new configuration that satisfies the space's constraints.
  virtual space::Config sample(space::Rng& rng) = 0;
  // A finished evaluation: `score` (higher is better, -inf for failed) of `config` at `budget_epochs`.
  virtual void observe(const space::Config& config, std::int64_t budget_epochs, double score) {}
  virtual std::string name() const = 0;
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

class KdeSampler : public Sampler {
 public:
  KdeSampler(space::SearchSpace space, KdeOptions options = {});
  space::Config sample(space::Rng& rng) override;
  void observe(const space::Config& config, std::int64_t budget_epochs, double score) override;
  std::string name() const override { return "kde"; }

  // The budget whose observations the model currently uses (the largest with enough points), or -1 if none yet.
  std::int64_t model_budget() const;

 private:
  struct Impl;
  space::SearchSpace space_;
  KdeOptions options_;
  std::shared_ptr<Impl> impl_;
};

}  // namespace fhist::search
