// Learning-curve extrapolation: each family recovers itself from noiseless samples, the combination beats "last value"
// on noisy saturating curves, and the edge cases (few points, flat, wild curves, bad input) behave.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "core/errors.hpp"
#include "score/curve.hpp"

namespace fhist::curve {
namespace {

using Curve = std::function<double(double)>;

std::vector<double> sample(const Curve& f, int epochs, double noise = 0.0) {
  std::vector<double> acc;
  // Deterministic pseudo-noise in [-noise, noise]: the fractional part of a hugely amplified sine (the classic shader
  // hash). A plain sin(k*e) would be a slow oscillation that a curve can partly fit, not noise.
  for (int e = 1; e <= epochs; ++e) {
    const double h = std::sin(12.9898 * e) * 43758.5453;
    acc.push_back(f(e) + noise * (2.0 * (h - std::floor(h)) - 1.0));
  }
  return acc;
}

const CurveFit& fit_of(const std::vector<CurveFit>& fits, const std::string& family) {
  for (const CurveFit& f : fits)
    if (f.family == family) return f;
  throw std::runtime_error("no fit for " + family);
}

struct SelfCase {
  std::string family;
  Curve f;
};

// Each family's own curve, sampled noiselessly at epochs 1..20: its fit must predict epoch 100 within 0.005.
// Parameters are chosen so that the curve still bends within the first 20 epochs (otherwise the far end is not
// identifiable from the samples, and no method could recover it).
TEST(CurveTest, EachFamilyRecoversItsOwnCurve) {
  const std::vector<SelfCase> cases = {
      {"pow3", [](double x) { return 0.9 - 0.5 * std::pow(x, -0.8); }},
      {"pow4", [](double x) { return 0.9 - std::pow(1.0 * x + 1.0, -1.2); }},
      {"log_power", [](double x) { return 0.9 / (1.0 + std::pow(x / std::exp(1.0), -1.5)); }},
      {"weibull", [](double x) { return 0.92 - (0.92 - 0.3) * std::exp(-std::pow(0.15 * x, 1.2)); }},
      {"mmf", [](double x) { return 0.92 - (0.92 - 0.2) / (1.0 + std::pow(0.3 * x, 1.5)); }},
      {"janoschek", [](double x) { return 0.9 - (0.9 - 0.25) * std::exp(-0.2 * std::pow(x, 0.9)); }},
      {"ilog2", [](double x) { return 0.95 - 0.3 / std::log(x + 1.0); }},
      {"exp4", [](double x) { return 0.9 - std::exp(-0.3 * std::pow(x, 0.8) - 0.5); }},
      {"vap", [](double x) { return std::exp(-0.1 - 1.0 / x + 0.01 * std::log(x)); }},
  };
  ASSERT_EQ(cases.size(), curve_families().size());
  for (const SelfCase& c : cases) {
    SCOPED_TRACE(c.family);
    std::vector<CurveFit> fits;
    extrapolate(sample(c.f, 20), 100, {}, &fits);
    const CurveFit& fit = fit_of(fits, c.family);
    EXPECT_TRUE(fit.ok);
    EXPECT_LT(fit.rmse, 1e-4);
    EXPECT_NEAR(fit.prediction, c.f(100), 0.005);
  }
}

TEST(CurveTest, Pow3ParametersAreRecovered) {
  std::vector<CurveFit> fits;
  extrapolate(sample([](double x) { return 0.9 - 0.5 * std::pow(x, -0.8); }, 20), 100, {}, &fits);
  const CurveFit& fit = fit_of(fits, "pow3");
  ASSERT_EQ(fit.params.size(), 3u);  // c, a, alpha
  EXPECT_NEAR(fit.params[0], 0.9, 1e-4);
  EXPECT_NEAR(fit.params[1], 0.5, 1e-4);
  EXPECT_NEAR(fit.params[2], 0.8, 1e-4);
}

// Noisy saturating curves (+-0.005): the combination from 20 epochs is within 0.02 of epoch 100's true value, and
// closer to it than the last observation. (Not every saturating curve manages this: a pure exponential still 0.05
// below its plateau at epoch 20, 0.93 - 0.6*exp(-0.12x), is overshot to ~0.96 because pow4 and mmf fit it almost as
// well; the aggregate test below bounds the average error instead.)
TEST(CurveTest, NoisySaturatingCurvesBeatLastValue) {
  const std::vector<Curve> truths = {
      [](double x) { return 0.9 - 0.5 * std::pow(x, -0.8); },
      [](double x) { return 0.93 - 0.6 * std::exp(-0.2 * x); },
      [](double x) { return 0.88 - 0.7 / (1.0 + std::pow(0.25 * x, 1.3)); },
      [](double x) { return 0.95 - 0.35 / std::log(x + 1.0); },
      [](double x) { return 0.85 - 0.4 * std::pow(x, -0.5); },
  };
  for (std::size_t i = 0; i < truths.size(); ++i) {
    SCOPED_TRACE("truth " + std::to_string(i));
    const std::vector<double> acc = sample(truths[i], 20, 0.005);
    const double truth = truths[i](100), predicted = extrapolate(acc, 100);
    EXPECT_NEAR(predicted, truth, 0.02);
    EXPECT_LT(std::abs(predicted - truth), std::abs(acc.back() - truth));
  }
}

// A grid of power-law, exponential, mmf, ilog2 and stretched-exponential curves with +-0.005 noise, 20 epochs seen,
// epoch 100 predicted: on average the extrapolation is far better than the last value, and always in [0, 1].
TEST(CurveTest, SyntheticCurvesBeatLastValueOnAverage) {
  std::vector<Curve> truths;
  for (double c : {0.85, 0.93})
    for (double a : {0.4, 0.6}) {
      for (double alpha : {0.3, 0.5, 0.8, 1.2}) truths.push_back([=](double x) { return c - a * std::pow(x, -alpha); });
      for (double k : {0.08, 0.15}) truths.push_back([=](double x) { return c - a * std::exp(-k * x); });
      for (double k : {0.15, 0.3})
        for (double d : {1.0, 1.5}) truths.push_back([=](double x) { return c - a / (1.0 + std::pow(k * x, d)); });
      truths.push_back([=](double x) { return c - 0.6 * a / std::log(x + 1.0); });
      truths.push_back([=](double x) { return c - a * std::exp(-0.3 * std::pow(x, 0.7)); });
    }
  double err = 0.0, err_last = 0.0;
  for (const Curve& f : truths) {
    const std::vector<double> acc = sample(f, 20, 0.005);
    const double p = extrapolate(acc, 100);
    ASSERT_GE(p, 0.0);
    ASSERT_LE(p, 1.0);
    err += std::abs(p - f(100)), err_last += std::abs(acc.back() - f(100));
  }
  err /= static_cast<double>(truths.size()), err_last /= static_cast<double>(truths.size());
  std::printf("[ mae    ] extrapolation %.4f, last value %.4f over %zu curves\n", err, err_last, truths.size());
  EXPECT_LT(err, 0.02);
  EXPECT_LT(err, 0.35 * err_last);
}

TEST(CurveTest, FewerThanMinPointsReturnsLastValue) {
  std::vector<CurveFit> fits;
  EXPECT_EQ(extrapolate({0.5, 0.6}, 50, {}, &fits), 0.6);
  ASSERT_EQ(fits.size(), curve_families().size());
  for (const CurveFit& f : fits) EXPECT_FALSE(f.ok);
  CurveOptions options;
  options.min_points = 10;
  EXPECT_EQ(extrapolate({0.3, 0.5, 0.6, 0.65, 0.68}, 50, options), 0.68);
}

TEST(CurveTest, InvalidInputThrows) {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  EXPECT_THROW(extrapolate({0.5, nan, 0.6}, 10), InputError);
  EXPECT_THROW(extrapolate({0.5, 0.6, inf}, 10), InputError);
  EXPECT_THROW(extrapolate({0.5, 1.5, 0.6}, 10), InputError);   // a percentage, not a fraction
  EXPECT_THROW(extrapolate({-0.1, 0.5, 0.6}, 10), InputError);
  EXPECT_THROW(extrapolate({}, 10), InputError);
  EXPECT_THROW(extrapolate({0.5, 0.6, 0.7}, 2), InputError);     // final epoch already passed
  CurveOptions bad;
  bad.max_iterations = 0;
  EXPECT_THROW(extrapolate({0.5, 0.6, 0.7}, 10, bad), InputError);
  try {
    extrapolate({0.5, nan, 0.6}, 10);
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("epoch 2"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(extrapolate({0.5, 0.6, 0.7}, 3));  // final epoch == last observed epoch is allowed
}

TEST(CurveTest, FlatCurvePredictsFlatValue) {
  EXPECT_NEAR(extrapolate(std::vector<double>(10, 0.7), 100), 0.7, 1e-6);
  EXPECT_NEAR(extrapolate(std::vector<double>(30, 0.0), 100), 0.0, 1e-6);
  EXPECT_NEAR(extrapolate(std::vector<double>(30, 1.0), 100), 1.0, 1e-6);
}

TEST(CurveTest, PredictionsAlwaysInUnitInterval) {
  std::vector<std::vector<double>> curves = {
      sample([](double x) { return 0.05 * x; }, 20),                                 // linear, hits 1.0 at epoch 20
      sample([](double x) { return 0.9 - 0.02 * x; }, 20),                           // decreasing
      sample([](double x) { return 0.5 + 0.3 * std::sin(x); }, 15),                  // zigzag
      sample([](double x) { return x < 6 ? 0.1 : 0.8; }, 12),                       // step
      sample([](double x) { return std::min(1.0, 0.5 + 0.1 * std::log(x)); }, 40),  // unbounded log growth, capped
      {0.0, 1.0, 0.0, 1.0, 0.0},
      {0.99, 0.999, 1.0, 1.0},
  };
  for (std::size_t i = 0; i < curves.size(); ++i) {
    for (std::int64_t final_epoch : {static_cast<std::int64_t>(curves[i].size()), std::int64_t{100},
                                     std::int64_t{100000}}) {
      SCOPED_TRACE("curve " + std::to_string(i) + " final " + std::to_string(final_epoch));
      const double p = extrapolate(curves[i], final_epoch);
      EXPECT_GE(p, 0.0);
      EXPECT_LE(p, 1.0);
    }
  }
}

TEST(CurveTest, FitsReportEveryFamilyAndCallsAreDeterministic) {
  const std::vector<double> acc = sample([](double x) { return 0.9 - 0.5 * std::pow(x, -0.8); }, 25, 0.005);
  std::vector<CurveFit> a, b;
  const double pa = extrapolate(acc, 100, {}, &a), pb = extrapolate(acc, 100, {}, &b);
  EXPECT_EQ(pa, pb);  // bit-identical
  const std::vector<std::string> names = curve_families();
  ASSERT_EQ(names, (std::vector<std::string>{"pow3", "pow4", "log_power", "weibull", "mmf", "janoschek", "ilog2",
                                             "exp4", "vap"}));
  ASSERT_EQ(a.size(), names.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(a[i].family, names[i]);
    EXPECT_EQ(a[i].params, b[i].params);
    EXPECT_EQ(a[i].prediction, b[i].prediction);
  }
}

// It runs after every epoch of every trial, so a 100-point call must stay well under 50 ms (optimized builds only).
TEST(CurveTest, HundredPointCallIsFast) {
#ifndef NDEBUG
  GTEST_SKIP() << "timing is only meaningful in an optimized build";
#endif
  const std::vector<double> acc = sample([](double x) { return 0.93 - 0.6 * std::exp(-0.05 * x); }, 100, 0.005);
  const int calls = 10;
  const auto t0 = std::chrono::steady_clock::now();
  double sink = 0.0;
  for (int i = 0; i < calls; ++i) sink += extrapolate(acc, 200);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / calls;
  EXPECT_GT(sink, 0.0);
  EXPECT_LT(ms, 50.0);
  std::printf("[ timing ] 100-point extrapolate: %.3f ms per call\n", ms);
}

}  // namespace
}  // namespace fhist::curve
