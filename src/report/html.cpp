// The HTML page: facts and tables written here, charts drawn in the browser by the inlined Vega-Lite. The page
// records its own rendering (data-charts-rendered, data-errors on <body>), which the end-to-end test reads.
#include "report/html.hpp"

#include <fmt/format.h>

#include <cmath>

#include "core/errors.hpp"
#include "core/text.hpp"
#include "report/assets.hpp"
#include "study/study.hpp"

namespace fhist::report {

namespace {

using nlohmann::json;

std::string text(const json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

std::string pct(const json& v) { return v.is_number() ? fmt::format("{:.2f}%", 100 * v.get<double>()) : "-"; }

// The study's metric (metric_view): a percentage for the validation accuracy, else the number under its name.
std::string metric_name(const json& data, const char* accuracy_name) {
  const auto mv = metric_view(data);
  return mv.percent ? std::string(accuracy_name) : html_escape(mv.title);
}
std::string metric_cell(const json& data, const json& v) {
  if (metric_view(data).percent || !v.is_number()) return pct(v);
  return fmt::format("{:.4g}", v.get<double>());
}

// JSON inside <script>: "</" would close the element; "<\/" is the same JSON string.
std::string script_json(const json& j) {
  const auto s = j.dump();
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    out += s[i];
    if (s[i] == '<' && i + 1 < s.size() && s[i + 1] == '/') out += '\\';
  }
  return out;
}

const char* kStyle = R"css(
body{font-family:system-ui,sans-serif;margin:24px auto;max-width:1180px;padding:0 16px;color:#222;background:#fff}
h1{font-size:1.5em;margin-bottom:4px}h2{font-size:1.2em;margin-top:32px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.9em}td,th{padding:3px 10px;border-bottom:1px solid #eee;text-align:left;
vertical-align:top}th{background:#f6f6f6}.num{text-align:right;font-variant-numeric:tabular-nums}
.state{display:inline-block;padding:2px 10px;border-radius:10px;font-weight:600;color:#fff}
.state-running{background:#1f77b4}.state-finished{background:#2ca02c}.state-stopped{background:#888}
.state-interrupted{background:#d62728}.note{color:#555;font-size:.9em;max-width:900px}
code{font-size:.85em;background:#f4f4f4;padding:1px 4px}.errors{color:#b00;font-weight:600}
svg.cell{display:block;margin:2px 0}.cell-node{fill:#fff;stroke:#333}.cell-edge{fill:none;stroke:#1f77b4}
.cell-edge.none{stroke:#ccc;stroke-dasharray:3 3}.cell-edge.concat{stroke:#999;stroke-dasharray:5 3}
.cell-op{font-size:10px;fill:#333}.cell-label{font-size:10px}.cell-title{font-size:11px;fill:#555}
footer{margin-top:40px;color:#777;font-size:.8em}
)css";

// Installed before the chart library, so errors anywhere on the page are counted.
const char* kErrorHook = R"js(
window.fhistErrors = [];
(function () {
  const original = console.error;
  console.error = function (...args) { window.fhistErrors.push(args.map(String).join(' ')); original.apply(console, args); };
  window.addEventListener('error', e => window.fhistErrors.push('error: ' + e.message));
  window.addEventListener('unhandledrejection', e => window.fhistErrors.push('unhandled rejection: ' + e.reason));
})();
)js";

const char* kRender = R"js(
(function () {
  const charts = JSON.parse(document.getElementById('fhist-charts').textContent);
  let rendered = 0;
  const jobs = charts.map(c => vegaEmbed('#chart-' + c.id, c.spec, {renderer: 'svg', actions: false})
      .then(() => { rendered++; })
      .catch(e => { window.fhistErrors.push('chart ' + c.id + ': ' + e); }));
  Promise.all(jobs).finally(() => {
    document.body.dataset.chartsRendered = String(rendered);
    document.body.dataset.errors = String(window.fhistErrors.length);
    if (window.fhistErrors.length) {
      const p = document.getElementById('page-errors');
      p.textContent = 'Errors while drawing: ' + window.fhistErrors.join('; ');
    }
    document.body.dataset.ready = '1';
  });
})();
)js";

std::string facts_html(const json& data) {
  const auto& f = data["facts"];
  const auto& o = f["options"];
  std::string rows;
  auto row = [&](const std::string& k, const std::string& v) {
    rows += fmt::format("<tr><th>{}</th><td>{}</td></tr>", html_escape(k), html_escape(v));
  };
  const bool table = f["kind"] == "table";
  row("kind", table ? "tabular benchmark (fhist table): every configuration trained to the full budget"
                    : "search");
  row("algorithm", text(o["algo"]));
  row("estimator (ranks and promotes by)", text(o["estimator"]));
  row("space", text(o["space"]));
  const auto objective = o.value("objective", std::string("train"));
  if (objective == "command") {
    const auto& c = o.contains("objective_options") ? o["objective_options"] : nlohmann::json::object();
    row("objective", fmt::format("your command: {}", text(c.value("command", nlohmann::json("")))));
    const double timeout = c.value("job_timeout", 0.0);
    row("job timeout", timeout > 0 ? fmt::format("{} s", timeout) : std::string("none"));
  } else if (objective != "train" && objective != "table") {
    // A user's loop or program: fhist's model and data settings are defaults it never used.
    std::string what = objective;
    try {
      what = study::objective_text(study::StudyOptions::from_json(o));
    } catch (const std::exception&) {  // options this fhist cannot read: the objective's name still says enough
    }
    row("objective", what);
  } else {
    const auto& t = study::training_block(o);
    row("model", fmt::format("{} (width x{})", text(t["model"]), text(t["width_mult"])));
    row("data", fmt::format("{}: {} train / {} validation images, augment {}", text(t["data"]),
                            study::size_text(t.value("train_size", std::int64_t{0})),
                            study::size_text(t.value("val_size", std::int64_t{0})), text(t["augment"])));
  }
  const auto metric = o.value("metric", std::string("val_acc"));
  if (metric != "val_acc") {
    row("metric", fmt::format("{}, {}d (the incumbent: the {} at the full budget)", metric,
                              o.value("direction", std::string("maximize")),
                              o.value("direction", std::string()) == "minimize" ? "lowest" : "highest"));
  }
  // The scheduler's decisions ("top-k-auto: ...", "hedge: ...", "auto: ..."): one row each, named by its prefix.
  for (const auto& line : f.value("plan", nlohmann::json::array())) {
    const auto l = line.get<std::string>();
    const auto colon = l.find(": ");
    row(colon == std::string::npos ? "decision" : l.substr(0, colon),
        colon == std::string::npos ? l : l.substr(colon + 2));
  }
  if (f.contains("plan_error")) row("decisions", "not replayed: " + f["plan_error"].get<std::string>());
  row("seed", text(o["seed"]));
  const bool planned = !o["n_configs"].is_number() || o["n_configs"].get<std::int64_t>() == 0;
  row("budgets (epochs)", fmt::format("{} .. {}, eta {}, configurations {}, iterations {}", text(o["min_budget"]),
                                      text(o["max_budget"]), text(o["eta"]),
                                      planned ? std::string("as HyperBand's plan") : text(o["n_configs"]),
                                      text(o["iterations"])));
  row("workers", fmt::format("{} on {}, {} threads", text(o["workers"]), text(o["device"]), text(o["threads"])));
  row("trials", fmt::format("{} ({} jobs reported, {} running or unfinished)", text(f["trials"]),
                            text(f["jobs_reported"]), text(f["jobs_running"])));
  row("epochs trained", fmt::format("{} in {:.0f} s (the epochs' own training times)", text(f["epochs_trained"]),
                                    f["train_seconds"].get<double>()));
  if (f["utilisation"].is_array()) {
    std::string u;
    for (const auto& w : f["utilisation"]) {
      u += fmt::format("{}worker {}: {:.0f}% ({:.0f} s busy)", u.empty() ? "" : "; ", w["worker"].get<int>(),
                       100 * w["share"].get<double>(), w["busy_seconds"].get<double>());
    }
    row("worker utilisation", fmt::format("{} over {:.0f} s from the first epoch's start to the last epoch's end "
                                          "(time between resumes included)",
                                          u, f["wall_seconds"].get<double>()));
  } else {
    row("worker utilisation", "not recorded (journal written before fhist recorded epoch times)");
  }
  row("journal written by", "fhist " + text(f["fhist_version"]));
  return "<table class=\"facts\">" + rows + "</table><details><summary>every option</summary><pre>" +
         html_escape(o.dump(1)) + "</pre></details>";
}

std::string running_html(const json& data) {
  const auto& running = data["running"];
  if (running.empty()) return "";
  std::string rows;
  for (const auto& r : running) {
    rows += fmt::format("<tr class=\"running-job\"><td class=\"num\">{}</td><td class=\"num\">{}</td>"
                        "<td class=\"num\">{} / {}</td><td class=\"num\">{}</td><td><code>{}</code></td></tr>",
                        text(r["trial"]), text(r["bracket"]), text(r["epochs_recorded"]), text(r["budget"]),
                        metric_cell(data, r["val_acc"]), html_escape(r["config"].dump()));
  }
  const bool live = data["facts"]["state"] == "running";
  return fmt::format("<section id=\"running\"><h2>{} ({})</h2><p class=\"note\">{}</p><table><tr><th>trial</th>"
                     "<th>bracket</th><th>epochs recorded / budget</th><th>latest {}</th>"
                     "<th>configuration</th></tr>{}</table></section>",
                     live ? "Running now" : "Started, not finished", running.size(),
                     live ? "Jobs the search is training as this page was made."
                          : "The search is not running: fhist search --resume reruns these from their last checkpoint.",
                     metric_name(data, "validation accuracy"), rows);
}

std::string top_html(const json& data) {
  const auto& top = data["top"];
  if (top.empty()) return "<section id=\"best\"><h2>Best configurations</h2><p>No job has finished yet.</p></section>";
  const bool by_val = top.front().value("ranked_by", "score") == "val_acc";
  std::string rows;
  int rank = 0;
  bool evaluated = false;
  // Below 10 s a tenth is shown (a short job's 0.4 s is not 0).
  const auto secs = [](const json& v) {
    const double s = v.is_number() ? v.get<double>() : 0.0;
    return s < 10 ? fmt::format("{:.1f}", s) : fmt::format("{:.0f}", s);
  };
  for (const auto& r : top) {
    std::string test = pct(r["test_acc"]);
    if (!r["test_acc"].is_number() && r.contains("evaluated_test_acc") && r["evaluated_test_acc"].is_number()) {
      test = pct(r["evaluated_test_acc"]) + "&#8224;";
      evaluated = true;
    }
    rows += fmt::format("<tr class=\"best-config\"><td class=\"num\">{}</td><td class=\"num\">{}</td>"
                        "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
                        "<td class=\"num\">{}</td><td class=\"num\">{}</td><td><code>{}</code>{}</td></tr>",
                        ++rank, text(r["trial"]),
                        r["score"].is_number() ? fmt::format("{:.4f}", r["score"].get<double>()) : "-",
                        metric_cell(data, r["val_acc"]), test, text(r["epochs"]), secs(r["seconds"]),
                        html_escape(r["config"].dump()),
                        r.value("cell_svg", std::string()));
  }
  return fmt::format("<section id=\"best\"><h2>Best configurations</h2><p class=\"note\">At the largest budget "
                     "reached ({}), ranked by {}. Compute: the epochs and training seconds each trial took in "
                     "all.{}</p><table><tr><th>#</th><th>trial</th><th>score</th><th>{}</th><th>test acc</th>"
                     "<th>epochs</th><th>seconds</th><th>configuration</th></tr>{}</table></section>",
                     count_of(top.front()["budget"].get<std::int64_t>(), "epoch"),
                     by_val ? metric_name(data, "validation accuracy") + " (the full budget" +
                                  (metric_view(data).minimize ? ", lowest first)" : ")")
                            : std::string("the estimator's score"),
                     evaluated ? " &#8224; fhist evaluate: retrained on train + validation, then tested." : "",
                     metric_name(data, "validation acc"), rows);
}

}  // namespace

std::string html_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string chart_library_versions() {
  std::string out;
  for (const auto& a : web_assets()) out += fmt::format("{}{} {}", out.empty() ? "" : ", ", a.name, a.version);
  return out;
}

std::string render_html(const json& data, const json& charts) {
  if (web_assets().empty()) {
    throw EnvironmentError("this fhist was built without its chart library (web/node_modules had no vega build at "
                           "configure time): run bash scripts/install-deps.sh (it runs npm ci in web/), then "
                           "rebuild (make build)");
  }
  const auto& f = data["facts"];
  const std::string state = f["state"].get<std::string>();
  std::string html = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">";
  // fhist report --watch rewrites the file while the search runs; the browser reloads it (a file:// page cannot ask
  // for fresh data any other way). The last page, once the search has stopped, has no refresh.
  const double refresh = f.value("refresh_seconds", 0.0);
  if (refresh > 0) html += fmt::format("<meta http-equiv=\"refresh\" content=\"{}\">", std::ceil(refresh));
  html += fmt::format("<title>fhist report: {}</title><style>{}</style><script>{}</script>",
                      html_escape(f["journal"].get<std::string>()), kStyle, kErrorHook);
  for (const auto& a : web_assets()) html += fmt::format("<script>/* {} {} */\n{}\n</script>", a.name, a.version, a.text);
  html += fmt::format("</head><body data-charts=\"{}\">", charts.size());
  html += fmt::format("<header><h1>fhist report: {}</h1><p><span class=\"state state-{}\" id=\"state\">{}</span> "
                      "{} of {} (this page made {}, with fhist {})</p><p id=\"page-errors\" class=\"errors\"></p>"
                      "</header>",
                      html_escape(f["journal"].get<std::string>()), html_escape(state), html_escape(state),
                      f["kind"] == "table" ? "tabular benchmark" : "search", html_escape(text(f["options"]["space"])),
                      html_escape(f["generated_at"].get<std::string>()), html_escape(text(f["report_fhist_version"])));
  if (refresh > 0) {
    html += fmt::format("<p class=\"note\" id=\"refresh-note\">The search is running: this page is rewritten and "
                        "reloads every {:.0f} s (fhist report --watch) until it stops.</p>",
                        std::ceil(refresh));
  }
  html += "<section id=\"facts\"><h2>Run</h2>" + facts_html(data) + "</section>";
  html += running_html(data);
  for (const auto& c : charts) {
    html += fmt::format("<section class=\"chart-section\" id=\"section-{}\"><h2>{}</h2><p class=\"note\">{}</p>"
                        "<div class=\"chart\" id=\"chart-{}\"></div></section>",
                        c["id"].get<std::string>(), html_escape(c["title"].get<std::string>()),
                        html_escape(c["note"].get<std::string>()), c["id"].get<std::string>());
  }
  const auto ranked = data["ranks"]["trials"].size();
  if (ranked < static_cast<std::size_t>(kMinRankTrials)) {
    html += fmt::format("<section id=\"ranks-missing\"><h2>Rank correlations</h2><p class=\"note\">{} reached the "
                        "largest budget with a final accuracy: rank statistics over fewer than {} are not drawn (one "
                        "pair ranked the other way moves Kendall's tau over 4 trials by 1/3). <code>fhist rank</code> "
                        "and <code>fhist export --table ranks</code> still give them, with n.</p></section>",
                        ranked == 0 ? std::string("No trial") : ranked == 1 ? std::string("1 trial")
                                                                           : fmt::format("Only {} trials", ranked),
                        kMinRankTrials);
  }
  html += top_html(data);
  // The data without the per-epoch rows the charts already hold: facts, ranks, best, running, replay.
  json summary = data;
  summary.erase("epochs");
  summary.erase("results");
  html += fmt::format("<footer>Made by fhist report --html from {} at {}. Charts: {} (BSD-3-Clause, inlined; the "
                      "page needs no network). The numbers are in the JSON block <code>fhist-data</code>; every "
                      "table: <code>fhist export --journal {} --table epochs|results|trials|ranks</code>.</footer>",
                      html_escape(f["journal"].get<std::string>()), html_escape(f["generated_at"].get<std::string>()),
                      html_escape(chart_library_versions()), html_escape(f["journal"].get<std::string>()));
  html += "<script type=\"application/json\" id=\"fhist-data\">" + script_json(summary) + "</script>";
  html += "<script type=\"application/json\" id=\"fhist-charts\">" + script_json(charts) + "</script>";
  html += fmt::format("<script>{}</script></body></html>\n", kRender);
  return html;
}

}  // namespace fhist::report
