// The Python module fhist._estimate: the feature-history estimators (estimate/estimator.hpp) on NumPy arrays, for a
// training loop in Python. Its own module because it links LibTorch: `import fhist` stays without it, and
// fhist.FeatureHistory loads this on first use. The arrays are copied into tensors of the same LibTorch that
// python3-torch uses (Debian's), so results equal `fhist estimate` on the same features.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <fmt/format.h>

#include <string>
#include <vector>

#include "core/errors.hpp"
#include "estimate/estimator.hpp"

namespace py = pybind11;

namespace {

using Floats = py::array_t<float, py::array::c_style | py::array::forcecast>;
using Labels = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;

template <class T>
torch::Tensor tensor(const py::array_t<T, py::array::c_style | py::array::forcecast>& a, torch::Dtype dtype) {
  std::vector<std::int64_t> shape(a.shape(), a.shape() + a.ndim());
  // from_blob borrows NumPy's buffer; the clone owns its copy once the GIL is released.
  return torch::from_blob(const_cast<T*>(a.data()), shape, dtype).clone();
}

// A history and the options of its re-fits. Epochs added without the network's head carry a zero head of
// `classes` rows, and "original" (which reads the latest epoch's head) is refused when that epoch had none.
class PyHistory {
 public:
  PyHistory(int window, const std::string& storage, int refit_epochs, std::uint64_t seed)
      : history_(window, storage_dtype(storage)) {
    refit_.epochs = refit_epochs;
    refit_.seed = seed;
    if (refit_epochs < 1) throw fhist::InputError(fmt::format("refit_epochs must be >= 1 (got {})", refit_epochs));
  }

  void add(std::int64_t epoch, const Floats& train_features, const Labels& train_labels, const Floats& val_features,
           const Labels& val_labels, const std::optional<Floats>& head_weight, const std::optional<Floats>& head_bias,
           std::int64_t classes) {
    if (head_weight.has_value() != head_bias.has_value()) {
      throw fhist::InputError("add_epoch: give head_weight and head_bias together, or neither");
    }
    fhist::EpochFeatures e;
    e.epoch = epoch > 0 ? epoch : (history_.empty() ? 1 : history_.latest().epoch + 1);
    if (!history_.empty() && e.epoch <= history_.latest().epoch) {
      throw fhist::InputError(fmt::format("add_epoch: epoch {} after epoch {}; epochs come in order",
                                          e.epoch, history_.latest().epoch));
    }
    e.train_features = tensor(train_features, torch::kFloat32);
    e.train_labels = tensor(train_labels, torch::kInt64);
    e.val_features = tensor(val_features, torch::kFloat32);
    e.val_labels = tensor(val_labels, torch::kInt64);
    const bool head = head_weight.has_value();
    // The labels' range: the head (given, or the zero head sized here) needs a row for each class they name.
    const bool labelled = e.train_labels.numel() > 0 && e.val_labels.numel() > 0;
    std::int64_t low = 0, top = 0;
    if (labelled) {
      top = std::max(e.train_labels.max().item<std::int64_t>(), e.val_labels.max().item<std::int64_t>());
      low = std::min(e.train_labels.min().item<std::int64_t>(), e.val_labels.min().item<std::int64_t>());
    }
    if (head) {
      e.head_weight = tensor(*head_weight, torch::kFloat32);
      e.head_bias = tensor(*head_bias, torch::kFloat32);
    } else {
      if (e.train_features.dim() != 2) {
        throw fhist::InputError(fmt::format("add_epoch: train_features must be 2-D [N, d] (got {} dimensions)",
                                            e.train_features.dim()));
      }
      // Without num_classes: the classes the labels name (0..max), at least as many as the epochs before.
      const auto n_classes =
          classes > 0 ? classes : std::max(top + 1, history_.empty() ? 0 : history_.latest().head_weight.size(0));
      e.head_weight = torch::zeros({n_classes, e.train_features.size(1)});
      e.head_bias = torch::zeros({n_classes});
    }
    if (labelled && e.head_weight.dim() == 2 && (low < 0 || top >= e.head_weight.size(0))) {
      throw fhist::InputError(fmt::format("add_epoch: labels run from {} to {}; expected 0..{} ({} classes{})", low,
                                          top, e.head_weight.size(0) - 1, e.head_weight.size(0),
                                          head ? ", the rows of head_weight" : ", num_classes"));
    }
    {
      py::gil_scoped_release release;
      history_.add(e);
    }
    latest_has_head_ = head;  // "original" reads the latest epoch's head only
  }

  py::dict estimate(const std::string& name) const {
    if (history_.empty()) throw fhist::InputError("estimate: the history is empty (add_epoch first)");
    if (name == "original" && !latest_has_head_) {
      throw fhist::InputError("estimate('original') reads the network's own head: pass head_weight and head_bias to "
                              "add_epoch");
    }
    const auto estimator = fhist::make_feature_estimator(name, refit_);
    fhist::Estimate est;
    {
      py::gil_scoped_release release;
      est = estimator->estimate(history_);
    }
    py::dict d;
    d["accuracy"] = est.accuracy;
    d["heads"] = est.heads;
    return d;
  }

  std::vector<std::int64_t> epochs() const {
    std::vector<std::int64_t> v;
    for (const auto& e : history_.epochs()) v.push_back(e.epoch);
    return v;
  }
  int window() const { return history_.window(); }

 private:
  static torch::Dtype storage_dtype(const std::string& s) {
    if (s == "float32") return torch::kFloat32;
    if (s == "float16") return torch::kFloat16;
    throw fhist::InputError(fmt::format("storage '{}': expected float32 or float16", s));
  }
  fhist::FeatureHistory history_;
  fhist::RefitOptions refit_;
  bool latest_has_head_ = false;
};

}  // namespace

PYBIND11_MODULE(_estimate, m) {
  m.doc() = "fhist's feature-history estimators on NumPy arrays (see fhist.FeatureHistory)";
  // The same exception types as fhist._fhist, found there so that `except fhist.InputError` catches both.
  // (Raw references, never released: a static py::object would be destroyed after the interpreter.)
  auto core = py::module_::import("fhist._fhist");
  static PyObject* input_error = py::object(core.attr("InputError")).release().ptr();
  static PyObject* error = py::object(core.attr("Error")).release().ptr();
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const fhist::InputError& e) {
      PyErr_SetString(input_error, e.what());
    } catch (const fhist::Error& e) {
      PyErr_SetString(error, e.what());
    }
  });
  m.def("estimator_names", &fhist::feature_estimator_names);
  py::class_<PyHistory>(m, "_History")
      .def(py::init<int, const std::string&, int, std::uint64_t>(), py::arg("window"), py::arg("storage"),
           py::arg("refit_epochs"), py::arg("seed"))
      .def("add", &PyHistory::add, py::arg("epoch"), py::arg("train_features"), py::arg("train_labels"),
           py::arg("val_features"), py::arg("val_labels"), py::arg("head_weight"), py::arg("head_bias"),
           py::arg("classes"))
      .def("estimate", &PyHistory::estimate, py::arg("name"))
      .def("epochs", &PyHistory::epochs)
      .def("window", &PyHistory::window);
}
