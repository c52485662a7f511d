#pragma once
// fhist report --html: one self-contained page per search or table (opens offline: the chart library is inlined),
// with the paper's plots. Built from the journal alone, read-only, so it works while the search runs. No Torch.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace fhist::report {

struct HtmlOptions {
  std::string journal;               // a search's journal or a table (fhist table)
  std::vector<std::string> replays;  // fhist replay -o files: their regret charts are added
  int top = 10;                      // best configurations listed
  std::string generated_at;          // the page's timestamp (UTC, ISO 8601); empty: now
  double refresh_seconds = 0;        // > 0: a page of a running search reloads itself this often (report --watch)
};

// Everything the page shows, as data (also embedded in the page as JSON, id "fhist-data"):
//   facts     run facts: algorithm, estimator, space, data, seeds, budgets, workers, totals, utilisation, state
//   epochs    one row per trained epoch: trial, epoch, original, train_loss, val_nll and every accuracy estimate
//   results   one row per finished job: seq, trial, bracket, rung, budget, score, state, promoted
//   incumbent the best trial after each result against cumulative epochs
//   ranks     journal_ranks' rows (Kendall tau, mean |estimate - final|) and their target
//   top       best configurations: score, accuracy, epochs and seconds spent, cell drawings (SVG) for NB201/DARTS
//   running   jobs started and not reported: trial, budget, epochs recorded so far
//   replay    the replay files' runs
// Throws InputError for a missing journal or replay file, store::StoreError for an unreadable journal.
nlohmann::json page_data(const HtmlOptions& options);

// The charts (Vega-Lite specs, one per chart, each {"id", "title", "note", "spec"}) for `data`.
nlohmann::json page_charts(const nlohmann::json& data);

// The page, with `charts` = page_charts(data) (a caller that also counts them builds them once). Throws
// EnvironmentError if fhist was built without the chart library (it says how to install it).
std::string render_html(const nlohmann::json& data, const nlohmann::json& charts);

// Text for HTML (and SVG): & < > " escaped.
std::string html_escape(const std::string& text);

// "vega 6.2.0, vega-lite 6.4.0, vega-embed 7.1.0", or "" when built without them.
std::string chart_library_versions();

// How the page shows the study's metric (page_data's facts.metric): the validation accuracy as a percentage, or a
// user loop's own --metric as a number under its name. The charts and the page's tables read it alike.
struct MetricView {
  std::string title = "validation accuracy";
  std::string format = ".2%";  // chart tooltips (d3-format)
  std::string axis = ".1%";    // chart axes and legends
  bool percent = true;
  bool minimize = false;
};
MetricView metric_view(const nlohmann::json& data);

// Fewer trials than this at the largest budget: the rank statistics (Kendall tau, |error|) are not drawn, the page
// says why (one swapped pair moves Kendall's tau over 4 trials by 1/3).
constexpr int kMinRankTrials = 5;
// The parameter views: parallel coordinates at the largest budget with at least kMinParallelTrials results, and the
// importance only over at least kMinImportanceTrials trials, numeric parameters in up to kImportanceBins bins.
constexpr int kMinParallelTrials = 5;
constexpr int kMinImportanceTrials = 8;
constexpr int kImportanceBins = 5;

// One finished job: the trial's configuration and its validation accuracy at that budget.
struct ParamRow {
  std::int64_t trial = 0;
  std::int64_t budget = 0;
  nlohmann::json config;
  double val_acc = 0;
};
// {"budget", "n", "params" (the names that vary, in the space's order), "lines" (trial, param, pos in [0, 1], value
// as text, val_acc), "ticks" (param, pos, label), "importance" (param, eta_squared, groups), "min_importance"} for
// the space `space_definition` (the journal's); empty views for a definition this fhist cannot read.
nlohmann::json parameter_views(const nlohmann::json& space_definition, const std::vector<ParamRow>& rows);
// The importance measure: eta squared, the share of y's variance between the groups (one-way ANOVA's SS_between /
// SS_total), a main effect only (fANOVA's first-order terms without its model); NaN for constant y or one group.
double eta_squared(const std::vector<double>& y, const std::vector<int>& group);
// Bins 0..k-1 with equal shares of x's distinct values (k = min(max_bins, distinct values)); equal values share one.
std::vector<int> rank_bins(const std::vector<double>& x, int max_bins);

// A cell drawing (SVG) of an NB201 or DARTS configuration (edge_I_J / normal_N_op_a ... parameters), "" for other
// configurations. DARTS draws the normal and the reduction cell.
std::string cell_svg(const nlohmann::json& config);

}  // namespace fhist::report
