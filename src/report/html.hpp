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

// The page. Throws EnvironmentError if fhist was built without the chart library (it says how to install it).
std::string render_html(const nlohmann::json& data);

// Text for HTML (and SVG): & < > " escaped.
std::string html_escape(const std::string& text);

// "vega 6.2.0, vega-lite 6.4.0, vega-embed 7.1.0", or "" when built without them.
std::string chart_library_versions();

// A cell drawing (SVG) of an NB201 or DARTS configuration (edge_I_J / normal_N_op_a ... parameters), "" for other
// configurations. DARTS draws the normal and the reduction cell.
std::string cell_svg(const nlohmann::json& config);

}  // namespace fhist::report
