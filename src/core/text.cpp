#include "core/text.hpp"

#include <algorithm>
#include <numeric>

namespace fhist {

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), std::size_t{0});
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string nearest_name(const std::string& name, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_d = 0;
  for (const auto& c : candidates) {
    const auto d = edit_distance(name, c);
    const auto limit = std::max<std::size_t>(2, std::max(name.size(), c.size()) / 3);
    if (d <= limit && (best.empty() || d < best_d)) {
      best = c;
      best_d = d;
    }
  }
  return best;
}

std::string count_of(long long n, const std::string& noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

std::string did_you_mean(const std::string& name, const std::vector<std::string>& candidates) {
  const auto n = nearest_name(name, candidates);
  return n.empty() ? std::string() : " (did you mean '" + n + "'?)";
}

}  // namespace fhist
