#include "score/rank.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace fhist::score {

namespace {


// NaN (a failed trial) compares below every number.
double key(double v) { return std::isnan(v) ? -std::numeric_limits<double>::infinity() : v; }

std::vector<double> average_ranks(const std::vector<double>& v) {
  std::vector<std::size_t> idx(v.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return key(v[a]) < key(v[b]); });
  std::vector<double> ranks(v.size());
  for (std::size_t i = 0; i < idx.size();) {
    std::size_t j = i;
    while (j + 1 < idx.size() && key(v[idx[j + 1]]) == key(v[idx[i]])) ++j;
    const double r = 0.5 * static_cast<double>(i + j) + 1.0;
    for (std::size_t k = i; k <= j; ++k) ranks[idx[k]] = r;
    i = j + 1;
  }
  return ranks;
}

}  // namespace

double spearman(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() != y.size() || x.size() < 2) return kNaN;
  const auto rx = average_ranks(x), ry = average_ranks(y);
  const double n = static_cast<double>(x.size());
  const double mx = std::accumulate(rx.begin(), rx.end(), 0.0) / n, my = std::accumulate(ry.begin(), ry.end(), 0.0) / n;
  double sxy = 0, sxx = 0, syy = 0;
  for (std::size_t i = 0; i < rx.size(); ++i) {
    sxy += (rx[i] - mx) * (ry[i] - my);
    sxx += (rx[i] - mx) * (rx[i] - mx);
    syy += (ry[i] - my) * (ry[i] - my);
  }
  if (sxx == 0 || syy == 0) return kNaN;
  return sxy / std::sqrt(sxx * syy);
}

double kendall_tau_b(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() != y.size() || x.size() < 2) return kNaN;
  // O(n^2): tables hold hundreds of configurations, not millions.
  double concordant = 0, discordant = 0, tied_x = 0, tied_y = 0, pairs = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    for (std::size_t j = i + 1; j < x.size(); ++j) {
      const double dx = key(x[i]) - key(x[j]), dy = key(y[i]) - key(y[j]);
      const bool tx = key(x[i]) == key(x[j]), ty = key(y[i]) == key(y[j]);
      pairs += 1;
      if (tx) tied_x += 1;
      if (ty) tied_y += 1;
      if (tx || ty) continue;
      if ((dx > 0) == (dy > 0)) {
        concordant += 1;
      } else {
        discordant += 1;
      }
    }
  }
  const double denom = std::sqrt((pairs - tied_x) * (pairs - tied_y));
  if (denom == 0) return kNaN;
  return (concordant - discordant) / denom;
}

double top1_regret(const std::vector<double>& score, const std::vector<double>& y) {
  if (score.empty() || score.size() != y.size()) return kNaN;
  double best_score = -std::numeric_limits<double>::infinity();
  for (double s : score) best_score = std::max(best_score, key(s));
  double sum = 0, count = 0;
  for (std::size_t i = 0; i < score.size(); ++i) {
    if (key(score[i]) == best_score) {
      sum += y[i];
      count += 1;
    }
  }
  return *std::max_element(y.begin(), y.end()) - sum / count;
}

std::vector<RankRow> rank_by_epoch(const std::vector<double>& targets, std::int64_t epochs,
                                   const std::function<TrialHistory(std::size_t, std::int64_t)>& history,
                                   const std::vector<std::string>& estimators) {
  std::vector<std::size_t> items;  // trials with a finite target
  for (std::size_t i = 0; i < targets.size(); ++i) {
    if (std::isfinite(targets[i])) items.push_back(i);
  }
  std::vector<double> target;
  for (const auto i : items) target.push_back(targets[i]);
  std::vector<RankRow> out;
  for (const auto& name : estimators) {
    const auto est = make_estimator(name);
    for (std::int64_t e = 1; e <= epochs; ++e) {
      std::vector<double> scores, current;
      for (const auto i : items) {
        const auto h = history(i, e);
        scores.push_back(h.epochs.empty() ? kNaN : est->score(h));
        current.push_back(h.epochs.empty() ? kNaN : h.epochs.back().original);
      }
      RankRow row;
      row.estimator = name;
      row.is_accuracy = est->info().is_accuracy;
      row.epoch = e;
      row.configs = static_cast<std::int64_t>(items.size());
      row.spearman = spearman(scores, target);
      row.kendall = kendall_tau_b(scores, target);
      row.top1_regret = top1_regret(scores, target);
      if (std::none_of(scores.begin(), scores.end(), [](double v) { return std::isfinite(v); })) row.top1_regret = kNaN;
      row.mean_abs_error = row.vs_current = kNaN;
      if (row.is_accuracy) {
        double err = 0, gap = 0, n = 0;
        for (std::size_t i = 0; i < scores.size(); ++i) {
          if (!std::isfinite(scores[i])) continue;
          err += std::abs(scores[i] - target[i]);
          gap += scores[i] - current[i];
          n += 1;
        }
        if (n > 0) {
          row.mean_abs_error = err / n;
          row.vs_current = gap / n;
        }
      }
      out.push_back(row);
    }
  }
  return out;
}

}  // namespace fhist::score
