// The report's charts as Vega-Lite specs, built from page_data's JSON. A chart whose data is empty is left out (the
// page says why), so every chart on a page has something to draw.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "core/text.hpp"
#include "report/html.hpp"
#include "score/scores.hpp"

namespace fhist::report {

namespace {

using nlohmann::json;

const char* kSchema = "https://vega.github.io/schema/vega-lite/v6.json";

json base_spec(const std::string& description) {
  return {{"$schema", kSchema}, {"description", description}, {"width", 640}, {"height", 260},
          {"config", {{"font", "system-ui, sans-serif"}, {"view", {{"stroke", "#ddd"}}}}}};
}

// Whole epochs on the x axis: every epoch up to 40, else whole-number ticks.
json epoch_axis(const json& data) {
  const auto max_budget = data["facts"]["options"].value("max_budget", std::int64_t{0});
  json axis = {{"format", "d"}, {"tickMinStep", 1}};
  if (max_budget > 0 && max_budget <= 40) {
    json values = json::array();
    for (std::int64_t e = 1; e <= max_budget; ++e) values.push_back(e);
    axis["values"] = values;
  }
  return axis;
}

bool any_number(const json& rows, const char* key) {
  return std::any_of(rows.begin(), rows.end(), [&](const json& r) { return r.contains(key) && r[key].is_number(); });
}

json chart(const std::string& id, const std::string& title, const std::string& note, json spec) {
  return {{"id", id}, {"title", title}, {"note", note}, {"spec", std::move(spec)}};
}

// One look per job outcome on every page, whichever outcomes this search had.
const json kOutcomes = json::array({"promoted", "not promoted", "final", "failed", "diverged"});
json outcome_dash() {
  return {{"field", "outcome"},
          {"type", "nominal"},
          {"title", "rung result"},
          {"scale",
           {{"domain", kOutcomes},
            {"range", json::array({json::array({1, 0}), json::array({4, 4}), json::array({10, 3, 2, 3}),
                                   json::array({1, 3}), json::array({1, 6})})}}}};
}
json outcome_color() {
  return {{"field", "outcome"},
          {"type", "nominal"},
          {"scale", {{"domain", kOutcomes}, {"range", json::array({"#1b9e77", "#bbbbbb", "#1f5fa8", "#d95f02", "#7570b3"})}}}};
}

// Figures 2 and 5: one trial's scores epoch by epoch, the rungs it passed marked; the trial is chosen on the page.
json trial_chart(const json& data) {
  const auto& epochs = data["epochs"];
  std::set<std::int64_t> ids;
  for (const auto& e : epochs) ids.insert(e["trial"].get<std::int64_t>());
  std::int64_t first = *ids.begin();
  if (!data["incumbent"].empty()) first = data["incumbent"].back()["trial"].get<std::int64_t>();
  json fold = json::array();
  for (const auto& n : data["accuracy_estimators"]) fold.push_back(n);
  // Shown at first: the network's own accuracy and the score the search ranks by (when it is an accuracy); the rest
  // on demand, by clicking the legend.
  json shown = json::array({{{"estimator", "original"}}});
  const auto ranked_by = data["facts"]["options"].value("estimator", std::string());
  const auto pair = score::hedge_pair(ranked_by);  // a hedged A+B: both rankings' scores
  for (const auto& name : pair ? std::vector<std::string>{pair->first, pair->second} : std::vector{ranked_by}) {
    if (name != "original" && std::find(fold.begin(), fold.end(), name) != fold.end()) {
      shown.push_back({{"estimator", name}});
    }
  }
  const auto mv = metric_view(data);
  auto spec = base_spec("Scores of one trial per epoch");
  spec.erase("width");
  spec.erase("height");
  spec["datasets"] = {{"epochs", epochs}, {"results", data["results"]}};
  spec["params"] = json::array({{{"name", "trial"},
                                 {"value", first},
                                 {"bind", {{"input", "select"}, {"options", json(ids)}, {"name", "trial "}}}}});
  const json filter = {{"filter", "datum.trial == trial"}};
  const json x = {{"field", "epoch"},
                  {"type", "quantitative"},
                  {"title", "epoch"},
                  {"scale", {{"zero", false}}},
                  {"axis", epoch_axis(data)}};
  const json rungs = {
      {"data", {{"name", "results"}}},
      {"transform", json::array({filter})},
      {"mark", {{"type", "rule"}, {"color", "#888"}}},
      {"encoding",
       {{"x", {{"field", "budget"}, {"type", "quantitative"}}},
        {"strokeDash", outcome_dash()},
        {"tooltip", json::array({{{"field", "budget"}, {"title", "budget (epochs)"}},
                                 {{"field", "rung"}},
                                 {{"field", "outcome"}},
                                 {{"field", "score"}, {"format", ".4f"}}})}}}};
  json acc = {
      {"width", 640},
      {"height", 260},
      {"title", mv.percent ? "accuracy and accuracy estimates (validation)"
                           : mv.title + " (original) and its best so far (best-acc)"},
      {"layer",
       json::array({{{"data", {{"name", "epochs"}}},
                     // Estimators without a value (none recorded) leave the legend too.
                     {"transform", json::array({filter,
                                                {{"fold", fold}, {"as", json::array({"estimator", "value"})}},
                                                {{"filter", "isValid(datum.value) && isFinite(datum.value)"}}})},
                     {"params", json::array({{{"name", "shown"},
                                              {"select", {{"type", "point"}, {"fields", json::array({"estimator"})},
                                                          {"toggle", "true"}}},
                                              {"bind", "legend"},
                                              {"value", shown}}})},
                     {"mark", {{"type", "line"}, {"point", true}}},
                     {"encoding",
                      {{"x", x},
                       {"y", {{"field", "value"}, {"type", "quantitative"},
                              {"title", mv.percent ? std::string("accuracy") : mv.title},
                              {"scale", {{"zero", false}}}, {"axis", {{"format", mv.axis}}}}},
                       {"color", {{"field", "estimator"}, {"type", "nominal"}, {"scale", {{"scheme", "tableau20"}}},
                                  {"legend", {{"title", "estimator (click to show)"}}}}},
                       {"opacity", {{"condition", {{"param", "shown"}, {"value", 1}}}, {"value", 0}}},
                       {"tooltip", json::array({{{"field", "epoch"}},
                                                {{"field", "estimator"}},
                                                {{"field", "value"}, {"format", mv.format}}})}}}},
                    rungs})}};
  json loss = {
      {"width", 640},
      {"height", 160},
      {"title", "training loss and validation cross-entropy"},
      {"layer",
       json::array({{{"data", {{"name", "epochs"}}},
                     {"transform", json::array({filter,
                                                {{"fold", json::array({"train_loss", "val_nll"})},
                                                 {"as", json::array({"loss", "value"})}}})},
                     {"mark", {{"type", "line"}, {"point", true}}},
                     {"encoding",
                      {{"x", x},
                       {"y", {{"field", "value"}, {"type", "quantitative"}, {"title", "loss"}}},
                       {"color", {{"field", "loss"}, {"type", "nominal"}, {"scale", {{"scheme", "dark2"}}}}},
                       {"tooltip", json::array({{{"field", "epoch"}},
                                                {{"field", "loss"}},
                                                {{"field", "value"}, {"format", ".4f"}}})}}}},
                    rungs})}};
  spec["vconcat"] = json::array({acc, loss});
  spec["resolve"] = {{"scale", {{"color", "independent"}}}};
  return chart("trial", "Per trial: every score, epoch by epoch",
               fmt::format("Choose a trial below the chart (the incumbent first). Shown: {}{}; click the legend for "
                           "the other estimates. Vertical rules are the budgets where the trial was ranked: promoted, "
                           "not promoted, final (the full budget), or "
                           "failed. Ranking-only scores (the TSE family, params) have no accuracy scale: they derive "
                           "from the training loss below and appear in the rank correlations.",
                           mv.percent ? "the network's own validation accuracy (original)"
                                      : fmt::format("your loop's {} (original)", mv.title),
                           shown.size() > 1 ? fmt::format(" and {}, the score this search ranks by", ranked_by) : ""),
               spec);
}

json rank_chart(const json& data, const char* metric, const std::string& id, const std::string& title,
                const std::string& y_title, const std::string& note, bool accuracy_only) {
  if (data["ranks"]["trials"].size() < static_cast<std::size_t>(kMinRankTrials)) return nullptr;
  json rows = json::array();
  for (const auto& r : data["ranks"]["rows"]) {
    if (r[metric].is_number() && (!accuracy_only || r["is_accuracy"].get<bool>())) rows.push_back(r);
  }
  if (rows.empty()) return nullptr;
  auto spec = base_spec(title);
  spec["data"] = {{"values", rows}};
  spec["mark"] = {{"type", "line"}, {"point", true}};
  spec["encoding"] = {
      {"x", {{"field", "epoch"}, {"type", "quantitative"}, {"title", "epoch"}, {"axis", epoch_axis(data)}}},
      {"y", {{"field", metric}, {"type", "quantitative"}, {"title", y_title},
             {"axis", accuracy_only ? json{{"format", ".1%"}} : json::object()}}},
      {"color", {{"field", "estimator"}, {"type", "nominal"}, {"scale", {{"scheme", "tableau20"}}}}},
      {"tooltip", json::array({{{"field", "estimator"}},
                               {{"field", "epoch"}},
                               {{"field", metric}, {"format", accuracy_only ? ".2%" : ".3f"}},
                               {{"field", "configs"}, {"title", "trials"}}})}};
  return chart(id, title, note, spec);
}

// A HyperBand diagram: each trial at each budget it was ranked at, by bracket.
json bracket_chart(const json& data) {
  const auto mv = metric_view(data);
  if (data["results"].empty()) return nullptr;
  auto spec = base_spec("Which configurations ran at which budget");
  spec.erase("height");
  spec.erase("width");
  spec["data"] = {{"values", data["results"]}};
  spec["facet"] = {{"column", {{"field", "bracket"}, {"type", "ordinal"}, {"title", "bracket"}}}};
  spec["resolve"] = {{"scale", {{"y", "independent"}, {"x", "independent"}}}};
  // Readable at any size: a row per trial labelled with its id, a column per budget, squares large enough to hover.
  spec["spec"] = {
      {"width", {{"step", 56}}},
      {"height", {{"step", 20}}},
      {"mark", {{"type", "square"}, {"size", 260}}},
      {"encoding",
       {{"x", {{"field", "budget"}, {"type", "ordinal"}, {"title", "budget (epochs)"}}},
        {"y", {{"field", "trial"}, {"type", "ordinal"}, {"title", "trial"}}},
        {"color", outcome_color()},
        {"tooltip", json::array({{{"field", "trial"}},
                                 {{"field", "budget"}},
                                 {{"field", "outcome"}},
                                 {{"field", "score"}, {"format", ".4f"}},
                                 {{"field", "val_acc"}, {"format", mv.format}, {"title", mv.title}}})}}}};
  return chart("brackets", "Brackets: which configurations ran at which budget, which were promoted",
               "One row per trial (its id on the left), one column per budget; green: promoted to the next rung, "
               "blue: final (trained to the full budget), grey: not promoted.",
               spec);
}

json incumbent_chart(const json& data) {
  if (!any_number(data["incumbent"], "val_acc")) return nullptr;
  const auto mv = metric_view(data);
  auto spec = base_spec("Incumbent over cumulative epochs");
  spec["data"] = {{"values", data["incumbent"]}};
  json fold = json::array({"val_acc"});
  if (any_number(data["incumbent"], "test_acc")) fold.push_back("test_acc");
  spec["transform"] = json::array({{{"fold", fold}, {"as", json::array({"measure", "accuracy"})}}});
  if (!mv.percent) {  // the legend names the user's metric, not the page's field
    spec["transform"].push_back({{"calculate", fmt::format("datum.measure == 'val_acc' ? {} : datum.measure",
                                                            json(mv.title).dump())},
                                 {"as", "measure"}});
  }
  spec["mark"] = {{"type", "line"}, {"interpolate", "step-after"}, {"point", true}};
  spec["encoding"] = {
      {"x", {{"field", "epochs"}, {"type", "quantitative"}, {"title", "epochs trained (all trials)"}}},
      {"y", {{"field", "accuracy"}, {"type", "quantitative"}, {"scale", {{"zero", false}}},
             {"title", mv.percent ? std::string("accuracy") : mv.title}, {"axis", {{"format", mv.axis}}}}},
      {"color", {{"field", "measure"}, {"type", "nominal"}}},
      {"tooltip", json::array({{{"field", "epochs"}},
                               {{"field", "trial"}},
                               {{"field", "budget"}},
                               {{"field", "accuracy"}, {"format", mv.format}}})}};
  return chart("incumbent", "Incumbent over cumulative epochs",
               fmt::format("The trial the search would return after each result (largest budget first), and its {} "
                           "at that budget.",
                           mv.title),
               spec);
}

// Parallel coordinates: one line per trial through its parameters' values, coloured by its validation accuracy.
json parallel_chart(const json& data) {
  const auto& v = data["parameters"];
  if (!v.is_object() || v["params"].empty() || v["n"].get<int>() < 2) return nullptr;
  const auto mv = metric_view(data);
  auto spec = base_spec("Configurations against " + mv.title);
  spec["width"] = std::max<std::size_t>(360, 110 * v["params"].size());
  spec["height"] = 300;
  const json x = {{"field", "param"}, {"type", "nominal"}, {"sort", v["params"]}, {"title", nullptr},
                  {"axis", {{"labelAngle", 0}, {"grid", true}, {"domain", false}, {"ticks", false},
                            {"labelFontWeight", "bold"}}}};
  const json y = {{"field", "pos"}, {"type", "quantitative"}, {"axis", nullptr}, {"scale", {{"domain", {0, 1}}}}};
  spec["layer"] = json::array(
      {{{"data", {{"values", v["lines"]}}},
        {"mark", {{"type", "line"}, {"strokeWidth", 1.6}, {"opacity", 0.85}}},
        {"encoding",
         {{"x", x},
          {"y", y},
          {"detail", {{"field", "trial"}, {"type", "nominal"}}},
          {"color", {{"field", "val_acc"}, {"type", "quantitative"}, {"scale", {{"scheme", "viridis"}}},
                     {"legend", {{"title", mv.percent ? std::string("validation acc") : mv.title},
                                 {"format", mv.axis}}}}},
          {"tooltip", json::array({{{"field", "trial"}},
                                   {{"field", "param"}},
                                   {{"field", "value"}},
                                   {{"field", "val_acc"}, {"format", mv.format}, {"title", mv.title}}})}}}},
       {{"data", {{"values", v["ticks"]}}},
        {"mark", {{"type", "text"}, {"align", "left"}, {"dx", 4}, {"fontSize", 10}, {"color", "#555"}}},
        {"encoding", {{"x", x}, {"y", y}, {"text", {{"field", "label"}}}}}}});
  return chart("parallel", fmt::format("Configurations: each trial's parameters against its {} ({} at {})", mv.title,
                                       count_of(v["n"].get<int>(), "trial"),
                                       count_of(v["budget"].get<std::int64_t>(), "epoch")),
               fmt::format("One line per trial that finished a job of {} (the largest budget with at least {} "
                           "results), through its value of each parameter that varies; numbers on their own scale "
                           "(log where the space says so), choices in their declared order.",
                           count_of(v["budget"].get<std::int64_t>(), "epoch"), kMinParallelTrials),
               spec);
}

// Importance: how much of the validation accuracy's variance each parameter's values explain on their own.
json importance_chart(const json& data) {
  const auto& v = data["parameters"];
  if (!v.is_object() || v["importance"].empty()) return nullptr;
  auto spec = base_spec("Parameter importance");
  spec["height"] = {{"step", 24}};
  spec["width"] = 480;
  spec["data"] = {{"values", v["importance"]}};
  spec["mark"] = {{"type", "bar"}, {"color", "#4c78a8"}};
  spec["encoding"] = {
      {"y", {{"field", "param"}, {"type", "nominal"}, {"sort", "-x"}, {"title", nullptr}}},
      {"x", {{"field", "eta_squared"}, {"type", "quantitative"}, {"scale", {{"domain", {0, 1}}}},
             {"axis", {{"format", ".0%"}}}, {"title", "share of variance explained (eta squared)"}}},
      {"tooltip", json::array({{{"field", "param"}},
                               {{"field", "eta_squared"}, {"format", ".1%"}, {"title", "eta squared"}},
                               {{"field", "groups"}, {"title", "groups"}}})}};
  return chart("importance", fmt::format("Parameter importance ({} at {})", count_of(v["n"].get<int>(), "trial"),
                                         count_of(v["budget"].get<std::int64_t>(), "epoch")),
               fmt::format("Eta squared: the share of the validation accuracy's variance between a parameter's values "
                           "(numbers in up to {} equal-count bins), one parameter at a time (a main effect, like "
                           "fANOVA's first-order terms without its model). It overstates small differences when "
                           "trials are few (drawn from {} trials on), and says nothing about interactions.",
                           kImportanceBins, kMinImportanceTrials),
               spec);
}

json replay_chart(const json& data) {
  const auto& runs = data["replay"];
  if (!any_number(runs, "regret")) return nullptr;
  auto spec = base_spec("Replayed searches: regret by algorithm and estimator");
  spec.erase("width");
  spec.erase("height");
  spec["data"] = {{"values", runs}};
  spec["transform"] = json::array({{{"calculate", "100 * datum.regret"}, {"as", "regret_pt"}}});
  spec["facet"] = {{"column", {{"field", "algo"}, {"type", "nominal"}, {"title", "algorithm"}}}};
  const json x = {{"field", "estimator"}, {"type", "nominal"}, {"title", "estimator"}};
  spec["spec"] = {
      {"width", {{"step", 28}}},
      {"height", 240},
      {"layer",
       json::array({{{"mark", "bar"},
                     {"encoding",
                      {{"x", x},
                       {"y", {{"aggregate", "mean"}, {"field", "regret_pt"}, {"title", "mean regret (pt test acc)"}}},
                       {"color", {{"field", "estimator"}, {"type", "nominal"}, {"legend", nullptr}}}}}},
                    {{"mark", {{"type", "errorbar"}, {"extent", "stderr"}}},
                     {"encoding", {{"x", x}, {"y", {{"field", "regret_pt"}, {"type", "quantitative"}}}}}}})}};
  return chart("replay", "Replayed searches: regret (best test accuracy in the table minus the incumbent's)",
               fmt::format("{} runs from the replay file(s); bars: the mean, whiskers: its standard error.",
                           runs.size()),
               spec);
}

// Anytime regret: each search's incumbent had it stopped after 1, 2, ... HyperBand rounds of epochs, so searches
// and the compute-matched baselines compare at equal cost.
json anytime_chart(const json& data) {
  const auto& points = data["anytime"];
  if (!points.is_array() || points.empty()) return nullptr;
  auto spec = base_spec("Anytime regret against epochs spent");
  spec["data"] = {{"values", points}};
  spec["transform"] = json::array({{{"calculate", "100 * datum.regret"}, {"as", "regret_pt"}}});
  spec["mark"] = {{"type", "line"}, {"point", true}};
  spec["encoding"] = {
      {"x", {{"field", "epochs"}, {"type", "quantitative"}, {"title", "epochs spent (all trials)"}}},
      {"y", {{"aggregate", "mean"}, {"field", "regret_pt"}, {"title", "mean regret (pt test acc)"}}},
      {"color", {{"field", "search"}, {"type", "nominal"}, {"title", "algorithm + score"}}},
      {"tooltip", json::array({{{"field", "search"}},
                               {{"field", "epochs"}},
                               {{"aggregate", "mean"}, {"field", "regret_pt"}, {"format", ".2f"}}})}};
  return chart("anytime", "Anytime regret: the incumbent after each HyperBand round's worth of epochs",
               fmt::format("Mean over the replayed seeds; random search and top-k are compute-matched to HyperBand "
                           "({} points).",
                           points.size()),
               spec);
}

}  // namespace

MetricView metric_view(const json& data) {
  MetricView v;
  const auto facts = data.value("facts", json::object());
  const auto m = facts.is_object() ? facts.value("metric", json::object()) : json::object();
  if (!m.is_object() || m.value("percent", true)) return v;
  v.title = m.value("name", std::string("metric"));
  v.format = ".6~r";  // significant digits in plain decimals: 10.6, 0.0123
  v.axis = ".4~r";
  v.percent = false;
  v.minimize = m.value("minimize", false);
  return v;
}

json page_charts(const json& data) {
  json charts = json::array();
  auto add = [&](json c) {
    if (!c.is_null()) charts.push_back(std::move(c));
  };
  if (!data["epochs"].empty()) add(trial_chart(data));
  const std::string target = data["ranks"]["target"] == "test_acc"       ? "final test accuracy"
                             : data["ranks"]["target"] == "metric_value" ? metric_view(data).title +
                                                                               " at the largest budget"
                                                                         : "validation accuracy at the largest budget";
  const auto n = data["ranks"]["trials"].size();
  add(rank_chart(data, "kendall", "kendall",
                 fmt::format("Kendall tau: each estimator's ranking against the final {} (n = {} trials)",
                             data["ranks"]["target"] == "metric_value" ? metric_view(data).title : "accuracy", n),
                 "Kendall tau-b",
                 fmt::format("Over the {} trials that reached the largest budget, against their {} (as fhist export "
                             "--table ranks).",
                             n, target),
                 false));
  add(rank_chart(data, "mean_abs_error", "abs_error",
                 fmt::format("Mean |estimate - final accuracy| (n = {} trials)", n),
                 "mean |estimate - final|",
                 fmt::format("Accuracy estimators only, over the same {} trials, against their {}.", n, target),
                 true));
  add(bracket_chart(data));
  add(incumbent_chart(data));
  add(parallel_chart(data));
  add(importance_chart(data));
  add(replay_chart(data));
  add(anytime_chart(data));
  return charts;
}

}  // namespace fhist::report
