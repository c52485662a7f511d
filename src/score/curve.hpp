#pragma once
// Learning-curve extrapolation (Domhan et al. 2015; NNI's Curvefitting assessor; REFERENCE §7): fit parametric
// saturating curves to accuracy-vs-epoch and read off the value at the final epoch. No Torch, no randomness.
#include <cstdint>
#include <string>
#include <vector>

namespace fhist::curve {

struct CurveFit {
  std::string family;
  // The family's parameters in the order of its formula (formulas listed in families() in curve.cpp); a parameter
  // that the fit cannot express (e.g. exp4's b = log of a negative scale) is NaN, and such a fit is never ok.
  std::vector<double> params;
  double prediction = 0.0;  // value at final_epoch (NaN when the family was not fitted)
  double rmse = 0.0;        // root mean squared residual over the observed points (NaN when not fitted)
  bool ok = false;          // fitted, converged, finite parameters and prediction
};

struct CurveOptions {
  int min_points = 3;       // fewer observed points: return the last value without fitting
  int max_iterations = 200; // Levenberg-Marquardt iterations per starting point
};

// Fits every family to acc[i] observed at epoch i+1 (accuracies as fractions in [0, 1]) by nonlinear least squares
// and predicts the value at `final_epoch`. The combined prediction is the median over the valid fits (ok, prediction
// in [0, 1], rmse not much worse than the best fit's, prediction not clearly below the last observed values), where
// weibull, janoschek and exp4 (one function class) cast a single vote; clipped to [0, 1]; the last observed value when
// no fit is valid. `fits`, when given, receives every family's fit.
// Throws InputError for an empty or non-finite or out-of-[0, 1] accuracy, final_epoch < acc.size(), or options < 1.
double extrapolate(const std::vector<double>& acc, std::int64_t final_epoch, const CurveOptions& options = {},
                   std::vector<CurveFit>* fits = nullptr);

// Family names in the order extrapolate() reports them: pow3, pow4, log_power, weibull, mmf, janoschek, ilog2, exp4,
// vap.
std::vector<std::string> curve_families();

}  // namespace fhist::curve
