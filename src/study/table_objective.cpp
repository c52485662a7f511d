// The table objective: a job's epochs are read from a table (fhist table), not trained. The journal gets the same
// rows and results a live search would write, and `seconds` is the training time the table recorded for them.
#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "core/errors.hpp"
#include "study/epoch_record.hpp"
#include "study/table.hpp"

namespace fhist::study {

namespace {

class TableObjective final : public exec::Objective {
 public:
  explicit TableObjective(const ObjectiveContext& ctx)
      : table_(ctx.table), sink_(*ctx.sink), estimator_name_(ctx.options.estimator),
        estimator_(score::make_estimator(ctx.options.estimator)) {}

  exec::Outcome run(const sched::Job& job, const space::Config& config, const exec::Worker&) override {
    // The trial's configuration is a table row (the loop drew it): nearest finds that row. Computed here, not
    // looked up, so jobs on other threads or ranks read nothing the scheduling thread writes.
    const auto index = table_->nearest(config);
    const auto& row = table_->rows()[index];
    auto r = exec::Outcome::of(job);
    const std::int64_t recorded = sink_.recorded(job.trial);
    const auto history = table_->history(index, job.budget_epochs);
    const auto n = static_cast<std::int64_t>(history.epochs.size());
    for (std::int64_t e = recorded + 1; e <= n; ++e) {
      const auto& rec = row.epochs[static_cast<std::size_t>(e - 1)];
      sink_.add(job.trial, e, rec);
      r.seconds += rec.value("seconds", 0.0);
    }
    constexpr double kFailedScore = -std::numeric_limits<double>::infinity();
    if (n < job.budget_epochs) {
      r.state = row.state == "complete" ? sched::TrialState::kFailed
                                        : sched::state_from_name(row.state, sched::TrialState::kFailed);
      r.score = kFailedScore;
      r.message = row.message.empty() ? fmt::format("the table has {} epochs of this configuration", n) : row.message;
      return r;
    }
    score_outcome(r, history, *estimator_, estimator_name_);
    return r;
  }

 private:
  std::shared_ptr<const BenchmarkTable> table_;
  exec::EpochSink& sink_;
  std::string estimator_name_;
  std::unique_ptr<score::Estimator> estimator_;
};

}  // namespace

std::unique_ptr<exec::Objective> make_table_objective(const ObjectiveContext& ctx) {
  if (!ctx.table) throw InputError("--objective table needs --table TABLE.db (built by fhist table)");
  return std::make_unique<TableObjective>(ctx);
}

}  // namespace fhist::study
