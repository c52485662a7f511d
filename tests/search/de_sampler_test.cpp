// DEHB's differential-evolution sampler: uniform until a budget has a population, then rand/1/bin children that
// stay in the space; and DEHB (HyperBand + this sampler) against random search at equal compute on the synthetic
// multi-fidelity function of bohb_test.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "core/errors.hpp"
#include "core/rng.hpp"
#include "sched/scheduler.hpp"
#include "search/sampler.hpp"
#include "synthetic.hpp"

namespace fhist::search {
namespace {

space::SearchSpace space2() {
  return space::SearchSpace("two", {space::Param::real("x", 0.0, 1.0), space::Param::real("lr", 1e-4, 1e-1, true),
                                    space::Param::categorical("kind", {"a", "b", "c"}),
                                    space::Param::integer("depth", 1, 4)});
}

TEST(DeSampler, UniformUntilTheBudgetHasAPopulation) {
  DeSampler de(space2());
  space::Rng rng(1);
  for (int i = 0; i < 3; ++i) {
    de.observe(de.sample_at(1, rng), 1, 0.1 * i);
    EXPECT_FALSE(de.last_pick_evolved());
    EXPECT_TRUE(de.last_pick_uniform());
  }
  de.observe(space2().sample(rng), 1, 0.5);
  de.sample_at(1, rng);
  EXPECT_TRUE(de.last_pick_evolved());
  EXPECT_FALSE(de.last_pick_uniform());
  EXPECT_EQ(de.last_budget(), 1);
  de.sample_at(3, rng);  // nothing observed at 3 epochs
  EXPECT_FALSE(de.last_pick_evolved());
  de.sample(rng);  // no budget named: the smallest with a population
  EXPECT_EQ(de.last_budget(), 1);
}

TEST(DeSampler, ChildrenOfIdenticalParentsAreThatConfiguration) {
  // v = a + F (b - c) with a = b = c gives a back in every gene, and crossover with the same target changes nothing.
  const auto s = space2();
  DeSampler de(s);
  space::Rng rng(2);
  const auto c = s.sample(rng);
  for (int i = 0; i < 5; ++i) de.observe(c, 1, 0.5);
  for (int i = 0; i < 10; ++i) {
    const auto child = de.sample_at(1, rng);
    ASSERT_TRUE(de.last_pick_evolved());
    EXPECT_EQ(child.get_string("kind"), c.get_string("kind"));
    EXPECT_EQ(child.get_int("depth"), c.get_int("depth"));
    EXPECT_NEAR(child.get_double("x"), c.get_double("x"), 1e-9);
    EXPECT_NEAR(std::log(child.get_double("lr")), std::log(c.get_double("lr")), 1e-9);
  }
}

TEST(DeSampler, ChildrenStayInTheSpaceAndRepeatWithTheSeed) {
  const auto s = space2();
  auto draw = [&](std::uint64_t seed) {
    DeSampler de(s);
    space::Rng rng(seed);
    for (int i = 0; i < 12; ++i) de.observe(s.sample(rng), 1, 0.01 * i);
    std::vector<std::string> out;
    for (int i = 0; i < 50; ++i) {
      const auto child = de.sample_at(1, rng);
      EXPECT_NO_THROW(s.validate(child));
      out.push_back(child.to_string());
    }
    return out;
  };
  EXPECT_EQ(draw(7), draw(7));
  EXPECT_NE(draw(7), draw(8));
}

TEST(DeSampler, ChildrenOfAConditionalSpaceCarryOnlyTheirActiveParameters) {
  space::Param x = space::Param::real("x", 0.0, 1.0);
  x.conditions = {space::Condition{"kind", {"a"}}};
  space::Param depth = space::Param::integer("depth", 1, 4);
  depth.conditions = {space::Condition{"kind", {"b", "c"}}};
  const space::SearchSpace s("cond", {space::Param::categorical("kind", {"a", "b", "c"}), x, depth,
                                      space::Param::real("lr", 1e-4, 1e-1, true)});
  DeSampler de(s);
  space::Rng rng(3);
  for (int i = 0; i < 12; ++i) de.observe(s.sample(rng), 1, 0.01 * i);
  std::set<std::string> kinds;
  for (int i = 0; i < 60; ++i) {
    const auto child = de.sample_at(1, rng);
    ASSERT_NO_THROW(s.validate(child)) << child.to_string();
    EXPECT_EQ(child.has("x"), child.get_string("kind") == "a") << child.to_string();
    kinds.insert(child.get_string("kind"));
  }
  EXPECT_EQ(kinds.size(), 3u);
}

TEST(DeSampler, RefusesBadOptions) {
  DeOptions o;
  o.population = 3;
  EXPECT_THROW(DeSampler(space2(), o), InputError);
  o = DeOptions{};
  o.crossover_prob = 1.5;
  EXPECT_THROW(DeSampler(space2(), o), InputError);
}

space::SearchSpace synthetic_space() { return synthetic::space(); }

double run(const std::string& algo, Sampler& sampler, const sched::SchedulerOptions& o, std::uint64_t seed) {
  return synthetic::run(algo, sampler, o, seed).first;
}

TEST(Dehb, BeatsRandomSearchAtEqualBudgetOver20Seeds) {
  sched::SchedulerOptions hb;
  hb.min_budget = 1;
  hb.max_budget = 27;
  hb.eta = 3;
  hb.iterations = 3;
  sched::SchedulerOptions rs = hb;
  rs.n_configs = 3 * sched::total_epochs(sched::hyperband_plan(1, 27, 3)) / hb.max_budget;
  double dehb_sum = 0.0, random_sum = 0.0;
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    DeSampler de(synthetic_space());
    RandomSampler uniform(synthetic_space());
    dehb_sum += run("hyperband", de, hb, seed);
    random_sum += run("random", uniform, rs, seed);
  }
  EXPECT_GT(dehb_sum, random_sum) << "DEHB mean " << dehb_sum / 20 << ", random " << random_sum / 20;
  std::printf("mean true quality of the incumbent (max 0.3): DEHB %.4f, random search %.4f\n", dehb_sum / 20,
              random_sum / 20);
}

}  // namespace
}  // namespace fhist::search
