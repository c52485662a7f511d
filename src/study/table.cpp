#include "study/table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <thread>

#include "core/errors.hpp"
#include "score/rank.hpp"
#include "score/scores.hpp"
#include "space/catalog.hpp"
#include "store/trial_store.hpp"
#include "study/journal.hpp"

namespace fhist::study {

namespace {

// Encodings are equal, an inactive parameter's NaN equal to another's.
bool same_point(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t k = 0; k < a.size(); ++k)
    if (!(a[k] == b[k] || (std::isnan(a[k]) && std::isnan(b[k])))) return false;
  return true;
}

}  // namespace

BenchmarkTable BenchmarkTable::load(const std::string& journal) {
  if (!std::filesystem::exists(journal)) throw InputError(fmt::format("--table {}: no such file", journal));
  BenchmarkTable t;
  t.path_ = journal;
  t.options_ = journal_options(journal);
  if (!t.options_.training.test_accuracy) {
    throw InputError(fmt::format("--table {}: a search journal, not a table (build one with fhist table)", journal));
  }
  auto store = store::open_sqlite_store_readonly(journal);
  // The space the table was built with (a space file may have moved since, a built-in space changed).
  t.space_ = detail::read_definition(*store).second;
  std::map<std::int64_t, std::vector<nlohmann::json>> epochs;
  for (const auto& e : store->epochs()) epochs[e.trial].push_back(e.record);
  for (const auto& tr : store->trials()) {
    if (tr.state != "complete" && tr.state != "paused" && tr.state != "failed" && tr.state != "diverged") continue;
    TableRow row;
    row.trial = tr.trial;
    row.config = space::Config::from_json(tr.config);
    row.state = tr.state == "paused" ? "complete" : tr.state;
    row.message = tr.message;
    row.epochs = epochs[tr.trial];
    row.test_acc = std::numeric_limits<double>::quiet_NaN();
    if (!row.epochs.empty() && row.epochs.back().contains("test_acc") && row.epochs.back()["test_acc"].is_number()) {
      row.test_acc = row.epochs.back()["test_acc"].get<double>();
    }
    if (row.state == "complete" && !std::isfinite(row.test_acc)) continue;  // finished training, not yet recorded
    t.encoded_.push_back(t.space_.encode(row.config));
    t.rows_.push_back(std::move(row));
  }
  if (t.rows_.empty()) throw InputError(fmt::format("--table {}: no finished configuration yet", journal));
  return t;
}

std::size_t BenchmarkTable::nearest(const space::Config& c, const std::vector<bool>* used, space::Rng* rng) const {
  const auto x = space_.encode(c);
  const bool skip = used && used->size() == encoded_.size() &&
                    std::any_of(used->begin(), used->end(), [](bool u) { return !u; });
  std::vector<std::size_t> best;  // the rows at the smallest distance so far
  double best_d = std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < encoded_.size(); ++i) {
    if (skip && (*used)[i]) continue;
    double d = 0;
    for (std::size_t k = 0; k < x.size(); ++k) {
      const double a = x[k], b = encoded_[i][k];
      if (std::isnan(a) || std::isnan(b)) {  // an inactive parameter: the same as another inactive one, else apart
        d += std::isnan(a) && std::isnan(b) ? 0.0 : 1.0;
        continue;
      }
      d += space_.params()[k].kind == space::ParamKind::kCategorical ? (a != b ? 1.0 : 0.0) : (a - b) * (a - b);
    }
    // Equal within rounding: sums of the same terms in another order differ in the last bits.
    const double tolerance = best.empty() ? 0.0 : 1e-12 * std::max(1.0, best_d);
    if (best.empty() || d < best_d - tolerance) {
      best_d = d;
      best.assign(1, i);
    } else if (d <= best_d + tolerance) {
      best.push_back(i);
    }
  }
  if (best.size() == 1 || rng == nullptr) return best.front();
  std::uniform_int_distribution<std::size_t> pick(0, best.size() - 1);
  return best[pick(*rng)];
}

std::size_t BenchmarkTable::draw(space::Rng& rng, const std::vector<bool>& used) const {
  std::vector<std::size_t> open;
  for (std::size_t i = 0; i < rows_.size(); ++i) {
    if (i >= used.size() || !used[i]) open.push_back(i);
  }
  if (open.empty()) {
    std::uniform_int_distribution<std::size_t> pick(0, rows_.size() - 1);
    return pick(rng);
  }
  std::uniform_int_distribution<std::size_t> pick(0, open.size() - 1);
  return open[pick(rng)];
}

std::size_t BenchmarkTable::row_of(const space::Config& c, const std::vector<bool>& used) const {
  const auto x = space_.encode(c);
  std::optional<std::size_t> first;
  for (std::size_t i = 0; i < encoded_.size(); ++i) {
    if (!same_point(encoded_[i], x)) continue;
    if (i >= used.size() || !used[i]) return i;
    if (!first) first = i;
  }
  if (!first) throw Error(fmt::format("{}: no row holds the configuration {}", path_, c.to_json().dump()));
  return *first;
}

BenchmarkTable BenchmarkTable::resample(const std::vector<std::size_t>& rows) const {
  BenchmarkTable t;
  t.path_ = path_;
  t.options_ = options_;
  t.space_ = space_;
  for (const auto i : rows) {
    t.rows_.push_back(rows_.at(i));
    t.encoded_.push_back(encoded_.at(i));
  }
  return t;
}

score::TrialHistory BenchmarkTable::history(std::size_t row, std::int64_t epochs) const {
  const auto& r = rows_.at(row);
  score::TrialHistory h;
  h.final_epoch = this->epochs();
  h.num_classes = score::known_num_classes(options_.training.data);  // tables written before rows recorded it
  for (std::int64_t k = 1; k <= epochs && k <= static_cast<std::int64_t>(r.epochs.size()); ++k) {
    score::append_epoch(h, k, r.epochs[static_cast<std::size_t>(k - 1)]);
  }
  return h;
}

bool BenchmarkTable::supports(const std::string& estimator) const {
  const auto est = score::make_estimator(estimator);
  for (std::size_t i = 0; i < rows_.size(); ++i) {
    const auto h = history(i, epochs());
    if (!h.epochs.empty() && std::isfinite(est->score(h))) return true;
  }
  return false;
}

double BenchmarkTable::best_test() const {
  double best = -std::numeric_limits<double>::infinity();
  for (const auto& r : rows_) {
    if (std::isfinite(r.test_acc)) best = std::max(best, r.test_acc);
  }
  return best;
}

}  // namespace fhist::study

namespace fhist::study {

std::vector<RankRow> rank_table(const BenchmarkTable& table, const std::vector<std::string>& estimators) {
  std::vector<double> test;
  for (const auto& row : table.rows()) test.push_back(row.test_acc);
  return score::rank_by_epoch(test, table.epochs(),
                              [&](std::size_t i, std::int64_t e) { return table.history(i, e); }, estimators);
}

}  // namespace fhist::study
