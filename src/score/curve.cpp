// Learning-curve extrapolation by separable least squares (variable projection). Every family is written as
//   y(x) = sum_j coef_j * phi_j(x; theta)
// with 1-2 coefficients that enter linearly (solved in closed form for each theta) and 0-2 nonlinear parameters theta
// fitted by Levenberg-Marquardt with a forward-difference Jacobian. Why: LM then searches at most two dimensions, a
// coarse grid over theta gives good deterministic starting points, and a 100-point call costs a few milliseconds.
// Positive-only parameters (rates, exponents) live in log space so LM needs no bounds.
#include "score/curve.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <string>

#include "core/errors.hpp"

namespace fhist::curve {
namespace {

constexpr int kMaxLin = 2;
constexpr int kMaxNonlin = 2;
constexpr double kThetaLimit = 25.0;  // |theta| bound: keeps exp(theta) and powers finite without real constraints
constexpr int kStartsPerFamily = 3;   // LM runs from the best grid points (grid minima are often near-ties)
const double kNaN = std::numeric_limits<double>::quiet_NaN();

using Coef = std::array<double, kMaxLin>;
using Theta = std::array<double, kMaxNonlin>;

struct Family {
  const char* name;
  // Families that are reparametrizations of one function class share a shape and cast one vote in the median:
  // weibull, janoschek and exp4 are all  c - s*exp(-k*x^d), and would otherwise outvote every other shape 3 to 1.
  const char* shape;
  int n_lin;
  int n_nonlin;
  void (*basis)(double x, const Theta& theta, double* phi);
  std::array<std::vector<double>, kMaxNonlin> grid;  // starting values per nonlinear dimension; starts = product
  std::vector<double> (*canonical)(const Coef& coef, const Theta& theta);  // the formula's parameters
};

std::vector<double> logs(std::vector<double> v) {
  for (double& e : v) e = std::log(e);
  return v;
}

// Formulas as in REFERENCE §7 / Domhan et al. 2015. Each basis is written so that the fitted coefficients are the
// formula's own linear parameters (e.g. pow3 = c*1 + a*(-x^-alpha)).
const std::vector<Family>& families() {
  static const std::vector<Family> kFamilies = [] {
    const std::vector<double> rates = logs({0.01, 0.03, 0.1, 0.3, 1.0, 3.0});
    const std::vector<double> shapes = logs({0.5, 1.0, 2.0});
    std::vector<Family> f;
    // pow3: c - a*x^-alpha; theta = log alpha.
    f.push_back({"pow3", "pow3", 2, 1,
                 [](double x, const Theta& t, double* p) { p[0] = 1.0, p[1] = -std::pow(x, -std::exp(t[0])); },
                 {logs({0.1, 0.3, 0.7, 1.5, 3.0}), {}},
                 [](const Coef& c, const Theta& t) { return std::vector<double>{c[0], c[1], std::exp(t[0])}; }});
    // pow4: c - (a*x + b)^-alpha = c - k*(x + s)^-alpha with k = a^-alpha, s = b/a; theta = (log alpha, log(s+0.999))
    // so that x + s > 0 for every epoch x >= 1.
    f.push_back({"pow4", "pow4", 2, 2,
                 [](double x, const Theta& t, double* p) {
                   p[0] = 1.0, p[1] = -std::pow(x + std::exp(t[1]) - 0.999, -std::exp(t[0]));
                 },
                 {logs({0.3, 0.7, 1.5, 3.0}), logs({0.999, 1.999, 4.999, 16.999})},
                 [](const Coef& c, const Theta& t) {
                   const double alpha = std::exp(t[0]), a = std::pow(c[1], -1.0 / alpha);  // NaN for k < 0
                   return std::vector<double>{c[0], a, (std::exp(t[1]) - 0.999) * a, alpha};
                 }});
    // log_power: a / (1 + (x/e^b)^c); theta = (b, c), c < 0 for an increasing curve.
    f.push_back({"log_power", "log_power", 1, 2,
                 [](double x, const Theta& t, double* p) { p[0] = 1.0 / (1.0 + std::pow(x / std::exp(t[0]), t[1])); },
                 {logs({0.5, 2.0, 8.0, 32.0}), {-0.5, -1.0, -2.0, -4.0}},
                 [](const Coef& c, const Theta& t) { return std::vector<double>{c[0], t[0], t[1]}; }});
    // weibull: alpha - (alpha - beta)*exp(-(kappa*x)^delta) = alpha*(1-g) + beta*g; theta = (log kappa, log delta).
    f.push_back({"weibull", "stretched_exp", 2, 2,
                 [](double x, const Theta& t, double* p) {
                   const double g = std::exp(-std::pow(std::exp(t[0]) * x, std::exp(t[1])));
                   p[0] = 1.0 - g, p[1] = g;
                 },
                 {rates, shapes},
                 [](const Coef& c, const Theta& t) {
                   return std::vector<double>{c[0], c[1], std::exp(t[0]), std::exp(t[1])};
                 }});
    // mmf: alpha - (alpha - beta)/(1 + (kappa*x)^delta); same split with g = 1/(1 + (kappa*x)^delta).
    f.push_back({"mmf", "mmf", 2, 2,
                 [](double x, const Theta& t, double* p) {
                   const double g = 1.0 / (1.0 + std::pow(std::exp(t[0]) * x, std::exp(t[1])));
                   p[0] = 1.0 - g, p[1] = g;
                 },
                 {rates, shapes},
                 [](const Coef& c, const Theta& t) {
                   return std::vector<double>{c[0], c[1], std::exp(t[0]), std::exp(t[1])};
                 }});
    // janoschek: alpha - (alpha - beta)*exp(-kappa*x^delta); g = exp(-kappa*x^delta).
    f.push_back({"janoschek", "stretched_exp", 2, 2,
                 [](double x, const Theta& t, double* p) {
                   const double g = std::exp(-std::exp(t[0]) * std::pow(x, std::exp(t[1])));
                   p[0] = 1.0 - g, p[1] = g;
                 },
                 {rates, shapes},
                 [](const Coef& c, const Theta& t) {
                   return std::vector<double>{c[0], c[1], std::exp(t[0]), std::exp(t[1])};
                 }});
    // ilog2: c - a/log(x + 1). Domhan et al.'s code shifts x by one (log 1 = 0 at the first epoch); linear only.
    f.push_back({"ilog2", "ilog2", 2, 0,
                 [](double x, const Theta&, double* p) { p[0] = 1.0, p[1] = -1.0 / std::log(x + 1.0); },
                 {},
                 [](const Coef& c, const Theta&) { return std::vector<double>{c[0], c[1]}; }});
    // exp4: c - exp(-a*x^alpha + b) = c - e^b * exp(-a*x^alpha); theta = (log a, log alpha), b = log of the scale.
    f.push_back({"exp4", "stretched_exp", 2, 2,
                 [](double x, const Theta& t, double* p) {
                   p[0] = 1.0, p[1] = -std::exp(-std::exp(t[0]) * std::pow(x, std::exp(t[1])));
                 },
                 {rates, shapes},
                 [](const Coef& c, const Theta& t) {
                   return std::vector<double>{c[0], std::exp(t[0]), c[1] > 0 ? std::log(c[1]) : kNaN, std::exp(t[1])};
                 }});
    // vap: exp(a + b/x + c*log x) = e^a * exp(b/x) * x^c; theta = (b, c), a = log of the scale.
    f.push_back({"vap", "vap", 1, 2,
                 [](double x, const Theta& t, double* p) { p[0] = std::exp(t[0] / x) * std::pow(x, t[1]); },
                 {std::vector<double>{-4.0, -2.0, -1.0, -0.3, 0.0}, std::vector<double>{-0.1, 0.0, 0.05, 0.2}},
                 [](const Coef& c, const Theta& t) {
                   return std::vector<double>{c[0] > 0 ? std::log(c[0]) : kNaN, t[0], t[1]};
                 }});
    return f;
  }();
  return kFamilies;
}

double evaluate(const Family& f, const Coef& coef, const Theta& theta, double x) {
  double phi[kMaxLin];
  f.basis(x, theta, phi);
  double y = 0.0;
  for (int j = 0; j < f.n_lin; ++j) y += coef[j] * phi[j];
  return y;
}

// The data and scratch space of one fit.
struct Problem {
  const Family& f;
  const std::vector<double>& x;
  const std::vector<double>& y;
  std::vector<double> phi;  // n * n_lin basis values
};

// Variable projection: for fixed theta, solves the linear coefficients by least squares and returns the sum of
// squared residuals (infinity when the model is not finite there), with residuals r = model - y when r is given.
double project(Problem& pb, const Theta& theta, Coef& coef, double* r = nullptr) {
  const std::size_t n = pb.x.size();
  const int L = pb.f.n_lin;
  double g00 = 0, g01 = 0, g11 = 0, b0 = 0, b1 = 0;
  for (std::size_t i = 0; i < n; ++i) {
    double* p = &pb.phi[i * L];
    pb.f.basis(pb.x[i], theta, p);
    g00 += p[0] * p[0], b0 += p[0] * pb.y[i];
    if (L == 2) g01 += p[0] * p[1], g11 += p[1] * p[1], b1 += p[1] * pb.y[i];
  }
  coef = {0.0, 0.0};
  if (L == 1) {
    if (g00 > 0) coef[0] = b0 / g00;
  } else {
    // A relative ridge keeps the 2x2 system solvable when the two basis columns are (nearly) collinear, e.g. a flat
    // curve; its bias is far below any accuracy that matters.
    const double ridge = 1e-12 * (g00 + g11) + 1e-300;
    g00 += ridge, g11 += ridge;
    const double det = g00 * g11 - g01 * g01;
    coef = {(g11 * b0 - g01 * b1) / det, (g00 * b1 - g01 * b0) / det};
  }
  double sse = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const double* p = &pb.phi[i * L];
    const double res = coef[0] * p[0] + (L == 2 ? coef[1] * p[1] : 0.0) - pb.y[i];
    sse += res * res;
    if (r) r[i] = res;
  }
  return std::isfinite(sse) ? sse : std::numeric_limits<double>::infinity();
}

struct Solution {
  Theta theta{};
  Coef coef{};
  double sse = std::numeric_limits<double>::infinity();
  bool converged = false;
};

Theta clamp_theta(Theta t) {
  for (double& v : t) v = std::clamp(v, -kThetaLimit, kThetaLimit);
  return t;
}

// Levenberg-Marquardt (Marquardt's diagonal scaling) on theta from `start`. Converged means it stopped on a relative
// decrease, step or gradient criterion, or because no damping could decrease the error (a local minimum to
// numerical precision), not on the iteration limit.
Solution levenberg_marquardt(Problem& pb, const Theta& start, int max_iterations) {
  const std::size_t n = pb.x.size();
  const int m = pb.f.n_nonlin;
  Solution s;
  s.theta = start;
  std::vector<double> r(n), rh(n), jac(n * kMaxNonlin);
  s.sse = project(pb, s.theta, s.coef, r.data());
  if (m == 0 || !std::isfinite(s.sse)) {
    s.converged = std::isfinite(s.sse);
    return s;
  }
  double lambda = 1e-3;
  for (int it = 0; it < max_iterations; ++it) {
    // Forward differences: m extra projections per iteration, cheap with m <= 2.
    for (int k = 0; k < m; ++k) {
      Theta th = s.theta;
      const double h = 1e-7 * (1.0 + std::abs(th[k]));
      th[k] += h;
      Coef c;
      if (!std::isfinite(project(pb, th, c, rh.data()))) {
        th[k] = s.theta[k] - h;  // the forward point left the finite domain: difference backwards
        project(pb, th, c, rh.data());
      }
      const double step = th[k] - s.theta[k];
      for (std::size_t i = 0; i < n; ++i) jac[i * m + k] = (rh[i] - r[i]) / step;
    }
    double a[kMaxNonlin][kMaxNonlin] = {}, g[kMaxNonlin] = {};
    for (std::size_t i = 0; i < n; ++i)
      for (int k = 0; k < m; ++k) {
        g[k] += jac[i * m + k] * r[i];
        for (int l = 0; l < m; ++l) a[k][l] += jac[i * m + k] * jac[i * m + l];
      }
    if (!std::isfinite(g[0]) || !std::isfinite(g[m - 1])) break;
    double gmax = 0.0;
    for (int k = 0; k < m; ++k) gmax = std::max(gmax, std::abs(g[k]));
    if (gmax <= 1e-15 * (1.0 + s.sse)) {
      s.converged = true;
      break;
    }
    bool accepted = false;
    while (!accepted) {
      double d[kMaxNonlin][kMaxNonlin];
      for (int k = 0; k < m; ++k)
        for (int l = 0; l < m; ++l) d[k][l] = a[k][l] + (k == l ? lambda * std::max(a[k][k], 1e-12) : 0.0);
      Theta delta{};
      if (m == 1) {
        delta[0] = -g[0] / d[0][0];
      } else {
        const double det = d[0][0] * d[1][1] - d[0][1] * d[1][0];
        delta = {-(d[1][1] * g[0] - d[0][1] * g[1]) / det, -(d[0][0] * g[1] - d[1][0] * g[0]) / det};
      }
      const Theta trial = clamp_theta({s.theta[0] + delta[0], s.theta[1] + delta[1]});
      Coef c;
      const double sse = project(pb, trial, c, rh.data());
      if (sse < s.sse) {
        const bool small = s.sse - sse <= 1e-12 * s.sse + 1e-30 ||
                           std::max(std::abs(trial[0] - s.theta[0]), std::abs(trial[1] - s.theta[1])) < 1e-12;
        s.theta = trial, s.coef = c, s.sse = sse, r.swap(rh);
        lambda = std::max(lambda * 0.1, 1e-12);
        accepted = true;
        if (small) {
          s.converged = true;
          return s;
        }
      } else if ((lambda *= 10.0) > 1e12) {
        s.converged = true;  // no damped step decreases the error: at a minimum to numerical precision
        return s;
      }
    }
  }
  return s;
}

// Fits one family: LM from the kStartsPerFamily best points of the starting grid, keeping the lowest error.
CurveFit fit_family(const Family& f, const std::vector<double>& x, const std::vector<double>& y,
                    std::int64_t final_epoch, int max_iterations) {
  CurveFit fit{f.name, {}, kNaN, kNaN, false};
  const std::size_t n_params = static_cast<std::size_t>(f.n_lin + f.n_nonlin);
  if (x.size() <= n_params) return fit;  // it would interpolate the noise exactly and out-rank every honest fit
  Problem pb{f, x, y, std::vector<double>(x.size() * f.n_lin)};

  std::vector<std::pair<double, Theta>> starts;  // (grid error, theta)
  const std::size_t n0 = f.n_nonlin > 0 ? f.grid[0].size() : 1, n1 = f.n_nonlin > 1 ? f.grid[1].size() : 1;
  for (std::size_t i = 0; i < n0; ++i)
    for (std::size_t j = 0; j < n1; ++j) {
      const Theta t{f.n_nonlin > 0 ? f.grid[0][i] : 0.0, f.n_nonlin > 1 ? f.grid[1][j] : 0.0};
      Coef c;
      starts.emplace_back(project(pb, t, c), t);
    }
  // stable_sort: ties keep grid order, so the result never depends on the sort implementation.
  std::stable_sort(starts.begin(), starts.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  starts.resize(std::min<std::size_t>(starts.size(), kStartsPerFamily));

  Solution best;
  for (const auto& [err, theta] : starts) {
    if (!std::isfinite(err)) continue;
    const Solution s = levenberg_marquardt(pb, theta, max_iterations);
    if (s.sse < best.sse) best = s;
  }
  if (!std::isfinite(best.sse)) return fit;
  fit.params = f.canonical(best.coef, best.theta);
  fit.prediction = evaluate(f, best.coef, best.theta, static_cast<double>(final_epoch));
  fit.rmse = std::sqrt(best.sse / static_cast<double>(x.size()));
  fit.ok = best.converged && std::isfinite(fit.prediction) &&
           std::all_of(fit.params.begin(), fit.params.end(), [](double v) { return std::isfinite(v); });
  return fit;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t h = v.size() / 2;
  return v.size() % 2 ? v[h] : 0.5 * (v[h - 1] + v[h]);
}

}  // namespace

std::vector<std::string> curve_families() {
  std::vector<std::string> names;
  for (const Family& f : families()) names.emplace_back(f.name);
  return names;
}

double extrapolate(const std::vector<double>& acc, std::int64_t final_epoch, const CurveOptions& options,
                   std::vector<CurveFit>* fits) {
  if (acc.empty()) throw InputError("curve extrapolation needs at least one observed accuracy, got none");
  for (std::size_t i = 0; i < acc.size(); ++i)
    if (!std::isfinite(acc[i]) || acc[i] < 0.0 || acc[i] > 1.0)
      throw InputError("curve extrapolation: accuracy at epoch " + std::to_string(i + 1) + " is " +
                       std::to_string(acc[i]) + "; expected a finite fraction in [0, 1]");
  if (final_epoch < static_cast<std::int64_t>(acc.size()))
    throw InputError("curve extrapolation: final epoch " + std::to_string(final_epoch) + " is before the " +
                     std::to_string(acc.size()) + " epochs already observed");
  if (options.min_points < 1 || options.max_iterations < 1)
    throw InputError("curve extrapolation: min_points and max_iterations must be >= 1, got " +
                     std::to_string(options.min_points) + " and " + std::to_string(options.max_iterations));

  const std::size_t n = acc.size();
  if (fits) fits->clear();
  if (n < static_cast<std::size_t>(options.min_points)) {
    if (fits)
      for (const Family& f : families()) fits->push_back({f.name, {}, kNaN, kNaN, false});
    return acc.back();
  }

  std::vector<double> x(n);
  std::iota(x.begin(), x.end(), 1.0);
  std::vector<CurveFit> all;
  for (const Family& f : families()) all.push_back(fit_family(f, x, acc, final_epoch, options.max_iterations));

  // Validity rules. A fit that explains the observations clearly worse than the best one is not evidence: with
  // Gaussian noise of profiled variance, fit i's log-likelihood ratio to the best is (n/2)*log(sse_i/sse_best); it is
  // dropped above 3 (a likelihood ratio of e^3 ~ 20, "strong evidence"), i.e. rmse_i > rmse_best * exp(3/n). The best
  // rmse is floored at 0.001 (about the resolution of a measured accuracy) so near-exact fits of a noiseless curve do
  // not exclude each other. On synthetic noisy curves this beat a fixed "3x the best rmse" rule, most of all for
  // longer histories, where it lets heavy-tailed families that fit an exponential tail poorly no longer vote.
  // Learning curves are assumed to rise and saturate, so a prediction clearly below the last observed level (mean of
  // the last three points, less three best-rmse noise levels and 0.005) is a fit that turned down: dropped.
  double best_rmse = std::numeric_limits<double>::infinity();
  for (const CurveFit& c : all)
    if (c.ok) best_rmse = std::min(best_rmse, c.rmse);
  const double max_rmse = std::max(best_rmse, 1e-3) * std::exp(3.0 / static_cast<double>(n));
  const std::size_t tail = std::min<std::size_t>(3, n);
  const double tail_mean = std::accumulate(acc.end() - tail, acc.end(), 0.0) / static_cast<double>(tail);
  std::map<std::string, std::vector<double>> by_shape;  // std::map: shapes in a fixed order
  for (std::size_t i = 0; i < all.size(); ++i) {
    const CurveFit& c = all[i];
    if (c.ok && c.prediction >= 0.0 && c.prediction <= 1.0 && c.rmse <= max_rmse &&
        c.prediction >= tail_mean - 3.0 * best_rmse - 0.005)
      by_shape[families()[i].shape].push_back(c.prediction);
  }
  std::vector<double> predictions;
  for (auto& [shape, p] : by_shape) predictions.push_back(median(std::move(p)));

  if (fits) *fits = std::move(all);
  if (predictions.empty()) return acc.back();
  return std::clamp(median(std::move(predictions)), 0.0, 1.0);
}

}  // namespace fhist::curve
