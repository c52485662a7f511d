// The Python module fhist._fhist: ask-and-tell (fhist::Study) for a training loop in Python. Every call that
// touches the journal releases the GIL, so jobs trained on Python threads report at the same time. fhist's
// InputError is fhist.InputError (a ValueError), its other errors fhist.Error (a RuntimeError).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "core/errors.hpp"
#include "score/scores.hpp"
#include "study/ask_tell.hpp"
#include "study/epoch_record.hpp"

namespace py = pybind11;

namespace {

// Python values <-> JSON through Python's own json module: configurations and user metrics are small. (Not kept in
// statics: their destructors would run after the interpreter has finalised.)
nlohmann::json to_json(const py::handle& v) {
  return nlohmann::json::parse(py::module_::import("json").attr("dumps")(v).cast<std::string>());
}
py::object from_json(const nlohmann::json& j) { return py::module_::import("json").attr("loads")(j.dump()); }

std::optional<double> number(const py::object& v, const char* name) {
  if (v.is_none()) return std::nullopt;
  try {
    return v.cast<double>();
  } catch (const py::cast_error&) {
    throw fhist::InputError(fmt::format("report: {} must be a number or None (got {})", name,
                                        py::repr(v).cast<std::string>()));
  }
}

// One epoch's record from the values report() takes (None: not reported), checked by name.
fhist::study::EpochRecord epoch_record(std::int64_t epoch, const py::object& train_loss, const py::object& val_acc,
                                       const py::object& val_loss, const py::object& params,
                                       const py::object& seconds, const py::object& num_classes) {
  fhist::study::EpochRecord r;
  r.epoch = epoch;
  r.train_loss = number(train_loss, "train_loss");
  r.val_acc = number(val_acc, "val_acc");
  r.val_loss = number(val_loss, "val_loss");
  r.params = number(params, "params");
  r.seconds = number(seconds, "seconds");
  if (!num_classes.is_none()) {
    try {
      r.num_classes = num_classes.cast<std::int64_t>();
    } catch (const py::cast_error&) {
      throw fhist::InputError(fmt::format("report: num_classes must be a whole number >= 2 (got {})",
                                          py::repr(num_classes).cast<std::string>()));
    }
  }
  return r;
}

// A told job as Python sees it: its metric under the metric's own name, as reported (val_acc by default).
py::dict outcome(const fhist::exec::Outcome& o, const fhist::study::StudyOptions& options) {
  py::dict d;
  d["trial"] = o.trial;
  d["budget"] = o.budget_epochs;
  d["score"] = o.score;
  d[py::str(options.metric)] = fhist::study::metric_value(options, o.value);
  d["state"] = fhist::sched::state_name(o.state);
  d["message"] = o.message;
  d["seconds"] = o.seconds;
  return d;
}

// fhist.score: what a search would rank a trial by after `epochs` (dicts with the keys report() takes).
double score_epochs(const std::string& name, const py::list& epochs, std::int64_t max_budget,
                    std::int64_t num_classes, const std::string& metric, const std::string& direction) {
  fhist::study::StudyOptions options;  // --metric's own checks, as a study makes them
  options.objective = "ask-tell";
  options.metric = metric;
  options.direction = direction;
  options.estimator = name;
  options.validate_metric();
  const auto estimator = fhist::score::make_estimator(name);
  if (name.rfind("acc-tse", 0) == 0 && num_classes < 2) {
    throw fhist::InputError(fmt::format("score: {} compares the training loss with a uniform guess's, ln(C): pass "
                                        "num_classes (C >= 2)",
                                        name));
  }
  if (epochs.empty()) throw fhist::InputError("score: no epochs (a list of dicts such as {\"train_loss\": 0.4})");
  fhist::score::TrialHistory history;
  history.num_classes = num_classes;
  history.final_epoch = max_budget > 0 ? max_budget : static_cast<std::int64_t>(epochs.size());
  if (history.final_epoch < static_cast<std::int64_t>(epochs.size())) {
    throw fhist::InputError(fmt::format("score: max_budget {} is below the {} epochs given", history.final_epoch,
                                        epochs.size()));
  }
  for (std::size_t i = 0; i < epochs.size(); ++i) {
    if (!py::isinstance<py::dict>(epochs[i])) {
      throw fhist::InputError(fmt::format("score: epoch {} is {}, expected a dict such as {{\"train_loss\": 0.4, "
                                          "\"val_acc\": 0.8}}",
                                          i + 1, py::repr(epochs[i]).cast<std::string>()));
    }
    py::dict e = epochs[i].cast<py::dict>();
    const auto epoch = static_cast<std::int64_t>(i) + 1;
    if (e.contains("epoch") && e["epoch"].cast<std::int64_t>() != epoch) {
      throw fhist::InputError(fmt::format("score: the epochs run 1, 2, 3, ... in order; item {} says epoch {}", i + 1,
                                          e["epoch"].cast<std::int64_t>()));
    }
    auto get = [&](const char* key) { return e.contains(key) ? py::object(e[key]) : py::none(); };
    auto r = epoch_record(epoch, get("train_loss"), get("val_acc"), get("val_loss"), get("params"), py::none(),
                          py::none());
    py::dict own;
    for (const auto& [key, value] : e) {
      const auto k = key.cast<std::string>();
      if (k != "epoch" && k != "train_loss" && k != "val_acc" && k != "val_loss" && k != "params") own[key] = value;
    }
    r.metrics = to_json(own);
    r.validate();
    r.check_has({metric}, name);
    fhist::study::epoch_row(r, history, 0.0, metric, options.minimize());
  }
  return estimator->score(history);
}

}  // namespace

PYBIND11_MODULE(_fhist, m) {
  m.doc() = "fhist's search from Python: ask-and-tell over a journal (see the fhist package)";
  static py::exception<fhist::Error> error(m, "Error", PyExc_RuntimeError);
  static py::exception<fhist::InputError> input_error(m, "InputError", PyExc_ValueError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const fhist::InputError& e) {
      input_error(e.what());
    } catch (const fhist::Error& e) {
      error(e.what());
    }
  });

  m.def("score", &score_epochs, py::arg("name"), py::arg("epochs"), py::arg("max_budget") = 0,
        py::arg("num_classes") = 0, py::arg("metric") = "val_acc", py::arg("direction") = "");
  m.def("estimators", [] {
    py::list out;
    for (const auto& e : fhist::score::estimators()) {
      py::dict d;
      d["name"] = e.name;
      d["is_accuracy"] = e.is_accuracy;
      d["description"] = e.description;
      out.append(d);
    }
    return out;
  });
  py::class_<fhist::StudyJob>(m, "Job", "One job: train `trial`'s configuration from start_epoch to budget")
      .def_readonly("trial", &fhist::StudyJob::trial)
      .def_property_readonly("config", [](const fhist::StudyJob& j) { return from_json(j.config.to_json()); })
      .def_readonly("budget", &fhist::StudyJob::budget_epochs)
      .def_readonly("start_epoch", &fhist::StudyJob::start_epoch)
      .def_readonly("max_budget", &fhist::StudyJob::max_budget)
      .def_readonly("trial_dir", &fhist::StudyJob::trial_dir)
      .def_readonly("seed", &fhist::StudyJob::seed)
      .def_readonly("bracket", &fhist::StudyJob::bracket)
      .def_readonly("rung", &fhist::StudyJob::rung)
      .def("__repr__", [](const fhist::StudyJob& j) {
        return fmt::format("Job(trial={}, budget={}, start_epoch={}, config={})", j.trial, j.budget_epochs,
                           j.start_epoch, j.config.to_string());
      });

  py::class_<fhist::Study>(m, "_Study")
      .def_static(
          "create",
          [](const std::string& journal, const std::string& space, const std::string& algo, std::int64_t min_budget,
             std::int64_t max_budget, int eta, const std::string& estimator, std::uint64_t seed,
             std::int64_t n_configs, int iterations, bool keep_checkpoints, const std::string& metric,
             const std::string& direction) {
            fhist::study::StudyOptions o;
            o.space = space;
            o.algo = algo;
            o.sched.min_budget = min_budget;
            o.sched.max_budget = max_budget;
            o.sched.eta = eta;
            o.sched.n_configs = n_configs;
            o.sched.iterations = iterations;
            o.estimator = estimator;
            o.seed = seed;
            o.keep_checkpoints = keep_checkpoints;
            o.metric = metric;
            o.direction = direction;
            py::gil_scoped_release release;
            return fhist::Study::create(o, journal);
          },
          py::arg("journal"), py::arg("space"), py::arg("algo"), py::arg("min_budget"), py::arg("max_budget"),
          py::arg("eta"), py::arg("estimator"), py::arg("seed"), py::arg("n_configs"), py::arg("iterations"),
          py::arg("keep_checkpoints"), py::arg("metric"), py::arg("direction"))
      .def_static("open", &fhist::Study::open, py::arg("journal"), py::call_guard<py::gil_scoped_release>())
      .def("ask", &fhist::Study::ask, py::call_guard<py::gil_scoped_release>())
      .def("done", &fhist::Study::done, py::call_guard<py::gil_scoped_release>())
      .def("jobs_out", &fhist::Study::jobs_out, py::call_guard<py::gil_scoped_release>())
      .def("limit_trials", &fhist::Study::limit_trials, py::call_guard<py::gil_scoped_release>())
      .def("trial_limit_reached", &fhist::Study::trial_limit_reached, py::call_guard<py::gil_scoped_release>())
      .def(
          "report",
          [](fhist::Study& s, const fhist::StudyJob& job, std::int64_t epoch, const py::object& train_loss,
             const py::object& val_acc, const py::object& val_loss, const py::object& params,
             const py::object& seconds, const py::object& num_classes, const py::dict& metrics) {
            auto r = epoch_record(epoch, train_loss, val_acc, val_loss, params, seconds, num_classes);
            r.metrics = to_json(metrics);
            py::gil_scoped_release release;
            s.report(job, r);
          },
          py::arg("job"), py::arg("epoch"), py::arg("train_loss"), py::arg("val_acc"), py::arg("val_loss"),
          py::arg("params"), py::arg("seconds"), py::arg("num_classes"), py::arg("metrics"))
      .def("tell",
           [](fhist::Study& s, const fhist::StudyJob& job) {
             fhist::exec::Outcome o;
             {
               py::gil_scoped_release release;
               o = s.tell(job);
             }
             return outcome(o, s.options());
           })
      .def("tell_failed",
           [](fhist::Study& s, const fhist::StudyJob& job, const std::string& reason) {
             fhist::exec::Outcome o;
             {
               py::gil_scoped_release release;
               o = s.tell_failed(job, reason);
             }
             return outcome(o, s.options());
           })
      .def("best",
           [](const fhist::Study& s) -> py::object {
             fhist::study::StudySummary sum;
             {
               py::gil_scoped_release release;
               sum = s.summary();
             }
             if (!sum.best) return py::none();
             auto d = outcome(*sum.best, s.options());
             d["config"] = from_json(sum.best_config.to_json());
             return std::move(d);
           })
      .def("summary", [](const fhist::Study& s) {
        fhist::study::StudySummary sum;
        {
          py::gil_scoped_release release;
          sum = s.summary();
        }
        py::dict d;
        d["trials"] = sum.trials;
        d["jobs"] = sum.jobs;
        d["epochs_trained"] = sum.epochs_trained;
        d["journal"] = sum.journal;
        return d;
      });
}
